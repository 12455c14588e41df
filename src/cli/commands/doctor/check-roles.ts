import type { CheckResult, DoctorContext } from './doctor-check.js';
import { AUDIT_APPEND_ONLY, NEEDED_FUNCTIONS, NEEDED_PRIVILEGES } from './needed-privileges.js';

/** Functions the repositories call that create partitions (DDL) at run time. */
const PARTITION_FUNCTIONS = ['audit_ensure_partitions', 'analytics_ensure_partitions'];

/**
 * The role in use and its privileges over carebase's objects, read with `has_table_privilege`,
 * `has_function_privilege` and `has_schema_privilege`, so the verdict follows whatever grants
 * and SECURITY DEFINER functions the database has. Warns when the app role is a superuser or the
 * owner (it could change the schema and the audit log), lacks a grant it needs, or may change the
 * audit log.
 */
export async function checkRoles(context: DoctorContext): Promise<CheckResult> {
  const schema = context.config.schema;
  const { rows: who } = await context.pool.query<{ current: string; session: string }>(
    'select current_user as current, session_user as session',
  );
  const role = context.appRole ?? who[0]?.current ?? '';
  const connected = who[0]?.current ?? '';
  const { rows } = await context.pool.query<{
    rolsuper: boolean;
    rolbypassrls: boolean;
    owner: string | null;
    is_owner: boolean | null;
    usage: boolean | null;
  }>(
    `select r.rolsuper, r.rolbypassrls, n.nspowner::regrole::text as owner,
            case when n.oid is null then null else pg_has_role(r.oid, n.nspowner, 'MEMBER') end as is_owner,
            case when n.oid is null then null else has_schema_privilege(r.oid, n.oid, 'USAGE') end as usage
       from pg_roles r left join pg_namespace n on n.nspname = $2
      where r.rolname = $1`,
    [role, schema],
  );
  const info = rows[0];
  if (info === undefined) {
    return { id: 'roles', status: 'fail', summary: `role ${role} does not exist`, hint: 'check --app-role' };
  }
  const checked = role === connected ? `connected as ${role}` : `connected as ${connected}; app role ${role}`;
  if (info.owner === null) {
    return {
      id: 'roles',
      status: 'info',
      summary: `${checked}; schema ${schema} does not exist yet (run migrations)`,
    };
  }
  const problems: string[] = [];
  if (info.rolsuper)
    problems.push(
      `${role} is a superuser: it bypasses every grant, row-level security and the audit log's protections`,
    );
  else if (info.is_owner === true) {
    problems.push(
      `${role} owns schema ${schema} (or is a member of its owner ${info.owner}): it can change the schema and alter the audit log`,
    );
  }
  if (!info.rolsuper && info.is_owner !== true) {
    if (info.usage !== true) problems.push(`missing USAGE on schema ${schema}`);
    const pairs = NEEDED_PRIVILEGES.flatMap((need) =>
      need.privileges.map((privilege) => [need.table, privilege, need.unlessDefiner ?? []] as const),
    );
    const { rows: grants } = await context.pool.query<{
      tbl: string;
      privilege: string;
      granted: boolean;
      waived: boolean;
    }>(
      `select t.tbl, t.privilege,
              has_table_privilege($1, format('%I.%I', $2::text, t.tbl), t.privilege) as granted,
              coalesce(cardinality(t.definers::text[]) > 0 and (
                select bool_and(p.prosecdef) from pg_proc p join pg_namespace n on n.oid = p.pronamespace
                 where n.nspname = $2 and p.proname = any(t.definers::text[])), false) as waived
         from unnest($3::text[], $4::text[], $5::text[]) as t(tbl, privilege, definers)
        where to_regclass(format('%I.%I', $2::text, t.tbl)) is not null`,
      [
        role,
        schema,
        pairs.map((pair) => pair[0]),
        pairs.map((pair) => pair[1]),
        pairs.map((pair) => `{${pair[2].join(',')}}`),
      ],
    );
    const missing = new Map<string, string[]>();
    for (const grant of grants) {
      if (grant.granted || grant.waived) continue;
      missing.set(grant.tbl, [...(missing.get(grant.tbl) ?? []), grant.privilege]);
    }
    for (const [table, privileges] of missing)
      problems.push(`missing ${privileges.join(', ')} on ${schema}.${table}`);
    const { rows: functions } = await context.pool.query<{
      proname: string;
      can_execute: boolean;
      prosecdef: boolean;
    }>(
      `select p.proname, has_function_privilege($1, p.oid, 'EXECUTE') as can_execute, p.prosecdef
         from pg_proc p join pg_namespace n on n.oid = p.pronamespace where n.nspname = $2 order by p.proname`,
      [role, schema],
    );
    // Only the functions the app calls: owner-only ones (audit retention) are revoked on purpose.
    const noExecute = functions
      .filter((fn) => NEEDED_FUNCTIONS.includes(fn.proname) && !fn.can_execute)
      .map((fn) => fn.proname);
    if (noExecute.length > 0)
      problems.push(`missing EXECUTE on ${noExecute.map((name) => `${schema}.${name}`).join(', ')}`);
    const partitioners = functions.filter((fn) => PARTITION_FUNCTIONS.includes(fn.proname) && !fn.prosecdef);
    if (partitioners.length > 0) {
      problems.push(
        `cannot create monthly partitions at run time: ${partitioners.map((fn) => fn.proname).join(', ')} run with the caller's rights and ${role} does not own the partitioned tables`,
      );
    }
    const { rows: loose } = await context.pool.query<{ tbl: string; privilege: string }>(
      `select t.tbl, p.privilege from unnest($3::text[]) as t(tbl) cross join unnest(array['UPDATE', 'DELETE', 'TRUNCATE']) as p(privilege)
        where to_regclass(format('%I.%I', $2::text, t.tbl)) is not null
          and has_table_privilege($1, format('%I.%I', $2::text, t.tbl), p.privilege)`,
      [role, schema, [...AUDIT_APPEND_ONLY]],
    );
    for (const item of loose)
      problems.push(
        `${role} may ${item.privilege} ${schema}.${item.tbl}: the audit log must be append-only for the app`,
      );
  }
  if (problems.length === 0) {
    return {
      id: 'roles',
      status: 'ok',
      summary: `${checked}: not the owner, not a superuser, every needed grant present`,
    };
  }
  return {
    id: 'roles',
    status: 'warn',
    summary: `${checked}: ${problems.length} problem${problems.length === 1 ? '' : 's'}`,
    details: problems,
    hint: 'run the app as a least-privilege role: migrations as the owner, the app as a role with only the grants above',
  };
}
