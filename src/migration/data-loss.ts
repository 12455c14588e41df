import { isCarebaseError } from '../errors/errors.js';
import { quoteIdentifier } from '../sql/identifier.js';
import type { SqlConnection } from './connection.js';
import type { DataLossEffect } from './options.js';
import { dropObjectName, type NamedRelation, parseSql, qualifiedName, rangeVar } from './sql-parser.js';
import type { MigrationDefinition } from './types.js';

/** Rows are counted up to this many; more are reported as "at least". */
const COUNT_CAP = 1_000_000;

interface Planned {
  readonly action: Exclude<DataLossEffect['action'], 'unknown' | 'drop schema'>;
  readonly relation: NamedRelation;
  readonly column?: string;
}

/**
 * What a migration's down section drops, truncates or deletes, with the rows there now. Reads
 * the SQL with PostgreSQL's parser; a code migration, or SQL that does not parse, is one
 * `unknown` effect. Unqualified names resolve in `schema` when given (carebase's own source),
 * else through the session's `search_path`.
 */
export async function analyzeDataLoss(
  connection: SqlConnection,
  definition: MigrationDefinition,
  schema: string | undefined,
): Promise<DataLossEffect[]> {
  if (definition.code !== undefined) {
    return [
      {
        action: 'unknown',
        table: '*',
        rows: undefined,
        reason: 'a code migration: its effect cannot be read',
      },
    ];
  }
  let planned: Planned[];
  const schemas: string[] = [];
  try {
    planned = [];
    for (const statement of await parseSql(definition.down ?? '', definition.name)) {
      const node = statement.node as Record<string, unknown>;
      if (statement.kind === 'DropStmt' && node.removeType === 'OBJECT_TABLE') {
        for (const object of (node.objects as unknown[]) ?? []) {
          const relation = qualifiedName(dropObjectName(object));
          if (relation !== undefined) planned.push({ action: 'drop table', relation });
        }
      } else if (statement.kind === 'DropStmt' && node.removeType === 'OBJECT_SCHEMA') {
        for (const object of (node.objects as unknown[]) ?? []) schemas.push(...dropObjectName(object));
      } else if (statement.kind === 'TruncateStmt') {
        for (const relation of (node.relations as unknown[]) ?? []) {
          const named = rangeVar(relation);
          if (named !== undefined) planned.push({ action: 'truncate', relation: named });
        }
      } else if (statement.kind === 'DeleteStmt') {
        const named = rangeVar(node.relation);
        if (named !== undefined) planned.push({ action: 'delete', relation: named });
      } else if (statement.kind === 'AlterTableStmt') {
        const named = rangeVar(node.relation);
        for (const cmd of (node.cmds as { AlterTableCmd?: { subtype?: string; name?: string } }[]) ?? []) {
          if (named !== undefined && cmd.AlterTableCmd?.subtype === 'AT_DropColumn') {
            planned.push({ action: 'drop column', relation: named, column: cmd.AlterTableCmd.name ?? '' });
          }
        }
      }
    }
  } catch (error) {
    if (!isCarebaseError(error)) throw error;
    return [
      { action: 'unknown', table: '*', rows: undefined, reason: 'PostgreSQL cannot parse its down section' },
    ];
  }
  const effects: DataLossEffect[] = [];
  for (const item of planned) {
    const written = item.relation.schema ?? schema;
    const name =
      written === undefined
        ? quoteIdentifier(item.relation.name)
        : `${quoteIdentifier(written)}.${quoteIdentifier(item.relation.name)}`;
    const counted = await countRows(connection, name);
    effects.push({
      action: item.action,
      table:
        counted?.table ?? (written === undefined ? item.relation.name : `${written}.${item.relation.name}`),
      ...(item.column === undefined ? {} : { column: item.column }),
      rows: counted?.rows,
      ...(counted !== undefined && counted.rows >= COUNT_CAP ? { rowsAtLeast: true } : {}),
    });
  }
  for (const dropped of schemas) {
    const { rows } = await connection.query<{ qualified: string }>(
      `select format('%I.%I', n.nspname, c.relname) as qualified from pg_class c join pg_namespace n on n.oid = c.relnamespace
        where n.nspname = $1 and c.relkind in ('r', 'p') and not c.relispartition order by 1`,
      [dropped],
    );
    for (const row of rows) {
      const counted = await countRows(connection, row.qualified);
      effects.push({
        action: 'drop schema',
        table: counted?.table ?? row.qualified,
        rows: counted?.rows,
        ...(counted !== undefined && counted.rows >= COUNT_CAP ? { rowsAtLeast: true } : {}),
      });
    }
  }
  return effects;
}

/** The table's rows (up to the cap) and its name as the database prints it; undefined when it does not exist. */
async function countRows(
  connection: SqlConnection,
  name: string,
): Promise<{ table: string; rows: number } | undefined> {
  const { rows } = await connection.query<{ qualified: string | null; shown: string | null }>(
    `select format('%I.%I', n.nspname, c.relname) as qualified, n.nspname || '.' || c.relname as shown
       from pg_class c join pg_namespace n on n.oid = c.relnamespace where c.oid = to_regclass($1)`,
    [name],
  );
  const qualified = rows[0]?.qualified ?? null;
  if (qualified === null) return undefined;
  // `qualified` is quoted by the database itself (format %I).
  const counted = await connection.query<{ n: string }>(
    `select count(*) as n from (select from ${qualified} limit ${COUNT_CAP}) s`,
  );
  return { table: rows[0]?.shown ?? qualified, rows: Number(counted.rows[0]?.n ?? 0) };
}

/** True when an effect loses rows that exist now, or cannot be analysed. */
export function losesData(effect: DataLossEffect): boolean {
  return effect.action === 'unknown' || (effect.rows ?? 0) > 0;
}

/** `drops carebase.users (12 rows), truncates app.notes (at least 1000000 rows)`. */
export function describeDataLoss(effects: readonly DataLossEffect[]): string {
  if (effects.length === 0) return 'drops no table';
  return effects
    .map((effect) => {
      if (effect.action === 'unknown') return `unknown effect (${effect.reason ?? 'cannot be analysed'})`;
      const rows =
        effect.rows === undefined
          ? 'does not exist'
          : `${effect.rowsAtLeast === true ? 'at least ' : ''}${effect.rows} row${effect.rows === 1 ? '' : 's'}`;
      const verb = {
        'drop table': 'drops',
        'drop schema': 'drops (with its schema)',
        truncate: 'truncates',
        delete: 'deletes from',
        'drop column': `drops column ${effect.column ?? '?'} of`,
      }[effect.action];
      return `${verb} ${effect.table} (${rows})`;
    })
    .join(', ');
}
