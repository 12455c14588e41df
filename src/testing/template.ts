import { createHash } from 'node:crypto';
import pg from 'pg';
import { type Carebase, createCarebase } from '../carebase.js';
import { loadSorted } from '../migration/load.js';
import { migrate } from '../migration/runner.js';
import type { MigrationSource } from '../migration/types.js';
import { quoteIdentifier } from '../sql/identifier.js';
import { adminPool, databaseUrl } from './admin.js';

/** What a template database holds: the migrations of `sources` in `schema`, plus a seed. */
export interface TemplateSpec {
  readonly schema: string;
  readonly sources: readonly MigrationSource[];
  readonly seed?: ((cb: Carebase) => Promise<void>) | undefined;
  readonly seedKey?: string | undefined;
}

/** Bump when the way templates are built changes, so old templates are not reused. */
const TEMPLATE_FORMAT = 1;
export const TEMPLATE_PREFIX = 'carebase_tpl_';

/**
 * A hash of everything that determines a template's content: the schema, each source's namespace,
 * mode and migrations (name, checksum, transaction mode), and the seed's key (default: a hash of
 * the seed function's text).
 */
export async function templateHash(spec: TemplateSpec): Promise<string> {
  const sources = [];
  for (const source of spec.sources) {
    const migrations = await loadSorted(source);
    sources.push({
      namespace: source.namespace,
      useCarebaseSchema: source.useCarebaseSchema === true,
      migrations: migrations.map((m) => [m.name, m.checksum, m.transaction]),
    });
  }
  const seed = spec.seed === undefined ? null : (spec.seedKey ?? `fn:${spec.seed.toString()}`);
  return createHash('sha256')
    .update(JSON.stringify({ format: TEMPLATE_FORMAT, schema: spec.schema, sources, seed }))
    .digest('hex');
}

/**
 * What stays the same across versions of one suite's template: the schema, the namespaces and
 * whether there is a seed. A new version supersedes the older ones of the same family.
 */
function templateFamily(spec: TemplateSpec): string {
  const family = {
    schema: spec.schema,
    namespaces: spec.sources.map((s) => s.namespace),
    seed: spec.seed !== undefined,
  };
  return `carebase/testing template ${createHash('sha256').update(JSON.stringify(family)).digest('hex').slice(0, 16)}`;
}

/** The prefix of the spare databases of `template` (see clone-database.ts). */
export function sparePrefix(template: string): string {
  return `carebase_spare_${template.slice(TEMPLATE_PREFIX.length)}_`;
}

/**
 * Drops the spares of the template `datname`, then the template itself. Best effort: a database in
 * use is left (a template unmarked on the way is rebuilt by its next user). Returns the names
 * dropped.
 */
async function dropTemplateAndSpares(serverUrl: string, datname: string): Promise<string[]> {
  const pool = adminPool(serverUrl);
  const prefix = sparePrefix(datname);
  const spares = await pool.query<{ datname: string }>(
    'select datname from pg_database where left(datname, $2) = $1',
    [prefix, prefix.length],
  );
  const dropped: string[] = [];
  for (const name of [...spares.rows.map((row) => row.datname), datname]) {
    try {
      if (name === datname)
        await pool.query(`alter database ${quoteIdentifier(name)} with is_template false`);
      await pool.query(`drop database if exists ${quoteIdentifier(name)}`);
      dropped.push(name);
    } catch {
      // In use: left for next time.
    }
  }
  return dropped;
}

/**
 * Drops older templates of the same family (and their spares), so editing migrations does not
 * pile up databases on a long-lived server. Best effort: a template in use is left for next time,
 * and a process still cloning a dropped one rebuilds it.
 */
async function dropSuperseded(serverUrl: string, name: string, family: string): Promise<void> {
  const { rows } = await adminPool(serverUrl).query<{ datname: string }>(
    `select d.datname from pg_database d
       join pg_shdescription s on s.objoid = d.oid and s.classoid = 'pg_database'::regclass
      where d.datistemplate and s.description = $1 and d.datname <> $2`,
    [family, name],
  );
  for (const { datname } of rows) await dropTemplateAndSpares(serverUrl, datname);
}

/**
 * Drops the template databases built on the server at `serverUrl` (`carebase_tpl_*`) whose names
 * `which` accepts (default: all), with their spares (see {@link dropTemplateAndSpares}). Returns
 * the names dropped.
 */
export async function dropTemplates(
  serverUrl: string,
  which: (name: string) => boolean = () => true,
): Promise<string[]> {
  const { rows } = await adminPool(serverUrl).query<{ datname: string }>(
    'select datname from pg_database where datistemplate and left(datname, $2) = $1 order by datname',
    [TEMPLATE_PREFIX, TEMPLATE_PREFIX.length],
  );
  const dropped: string[] = [];
  for (const { datname } of rows.filter((row) => which(row.datname))) {
    dropped.push(...(await dropTemplateAndSpares(serverUrl, datname)));
  }
  return dropped;
}

const ready = new Map<string, Promise<{ name: string; built: boolean }>>();

async function isBuilt(serverUrl: string, name: string): Promise<boolean | undefined> {
  const { rows } = await adminPool(serverUrl).query<{ datistemplate: boolean }>(
    'select datistemplate from pg_database where datname = $1',
    [name],
  );
  return rows[0]?.datistemplate;
}

async function build(serverUrl: string, name: string, spec: TemplateSpec): Promise<void> {
  const pool = adminPool(serverUrl);
  const q = quoteIdentifier(name);
  await pool.query(`create database ${q}`);
  try {
    const url = databaseUrl(serverUrl, name);
    await migrate(url, { sources: spec.sources, includeLibrary: false, schema: spec.schema });
    if (spec.seed !== undefined) {
      const cb = createCarebase({ connectionString: url, schema: spec.schema, pool: { min: 0, max: 4 } });
      try {
        await spec.seed(cb);
      } finally {
        await cb.close();
      }
    }
    const family = templateFamily(spec);
    await pool.query(`comment on database ${q} is ${pgLiteral(family)}`);
    await pool.query(`alter database ${q} with is_template true allow_connections false`);
    await pool.query(
      'select pg_terminate_backend(pid) from pg_stat_activity where datname = $1 and pid <> pg_backend_pid()',
      [name],
    );
  } catch (error) {
    await pool.query(`drop database if exists ${q} with (force)`).catch(() => {});
    throw error;
  }
  await dropSuperseded(serverUrl, name, templateFamily(spec));
}

/** A string literal for text carebase generated (hex and spaces only). */
function pgLiteral(text: string): string {
  if (!/^[a-z0-9/ ]+$/.test(text)) throw new TypeError('unexpected literal');
  return `'${text}'`;
}

/**
 * Makes sure the template database for `spec` exists on the server, building it when missing:
 * `CREATE DATABASE`, all migrations, the seed, then marked `IS_TEMPLATE` (which is also the
 * "complete" marker) and closed to connections. Returns its name and whether this call built it.
 *
 * Concurrency: builders in any number of processes serialize on an advisory lock keyed by the
 * template name; the first builds, the others find it complete. A half-built template left by a
 * crashed builder is dropped and rebuilt.
 */
export async function ensureTemplate(
  serverUrl: string,
  spec: TemplateSpec,
): Promise<{ name: string; built: boolean }> {
  const name = `${TEMPLATE_PREFIX}${(await templateHash(spec)).slice(0, 20)}`;
  const key = `${serverUrl}\n${name}`;
  let pending = ready.get(key);
  if (pending === undefined) {
    pending = (async () => {
      if ((await isBuilt(serverUrl, name)) === true) return { name, built: false };
      // The lock lives on a connection of its own, never one of the admin pool's: a build needs
      // pool connections, and waiters holding every pool slot would starve it forever.
      const client = new pg.Client({ connectionString: serverUrl });
      client.on('error', () => {}); // the server going away ends the session, and the lock with it
      await client.connect();
      try {
        await client.query("select pg_advisory_lock(hashtext('carebase.testing.template'), hashtext($1))", [
          name,
        ]);
        const state = await isBuilt(serverUrl, name);
        if (state === true) return { name, built: false };
        if (state === false)
          await client.query(`drop database if exists ${quoteIdentifier(name)} with (force)`);
        await build(serverUrl, name, spec);
        return { name, built: true };
      } finally {
        await client.end().catch(() => {}); // ending the session releases the lock
      }
    })();
    ready.set(key, pending);
    pending.catch(() => ready.delete(key));
  }
  return pending;
}

/** Forgets which templates this process already checked (tests use it to observe rebuilding). */
export function forgetTemplates(): void {
  ready.clear();
}
