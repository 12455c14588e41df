import { randomBytes } from 'node:crypto';
import { quoteIdentifier } from '../sql/identifier.js';
import { adminPool, sqlState } from './admin.js';
import { sparePrefix } from './template.js';

/** What carebase needs to know about a server to clone quickly on it. */
interface ServerTraits {
  /** PostgreSQL 15+ with `fsync=off`: `STRATEGY FILE_COPY` beats the default `WAL_LOG`. */
  readonly fileCopy: boolean;
  /** Started by carebase/testing (`carebase.throwaway=on`): spare databases are safe to keep. */
  readonly throwaway: boolean;
}

const traits = new Map<string, Promise<ServerTraits>>();
const refilling = new Map<string, number>();

function serverTraits(serverUrl: string): Promise<ServerTraits> {
  let pending = traits.get(serverUrl);
  if (pending === undefined) {
    pending = adminPool(serverUrl)
      .query<{ version: number; fsync: string; throwaway: string | null }>(
        `select current_setting('server_version_num')::int as version, current_setting('fsync') as fsync,
                current_setting('carebase.throwaway', true) as throwaway`,
      )
      .then(({ rows }) => ({
        fileCopy: (rows[0]?.version ?? 0) >= 150000 && rows[0]?.fsync === 'off',
        throwaway: rows[0]?.throwaway === 'on',
      }));
    traits.set(serverUrl, pending);
    pending.catch(() => traits.delete(serverUrl));
  }
  return pending;
}

async function createFrom(
  serverUrl: string,
  name: string,
  template: string,
  fileCopy: boolean,
): Promise<void> {
  const pool = adminPool(serverUrl);
  const strategy = fileCopy ? ' strategy file_copy' : '';
  for (let attempt = 1; ; attempt++) {
    try {
      await pool.query(
        `create database ${quoteIdentifier(name)} template ${quoteIdentifier(template)}${strategy}`,
      );
      return;
    } catch (error) {
      // 55006: the template has open connections (someone connected to it). Close them and retry.
      if (sqlState(error) !== '55006' || attempt >= 10) throw error;
      await pool.query(
        'select pg_terminate_backend(pid) from pg_stat_activity where datname = $1 and pid <> pg_backend_pid()',
        [template],
      );
      await new Promise((resolve) => setTimeout(resolve, 20 * attempt));
    }
  }
}

/**
 * Claims a ready spare of `template` by renaming it to `name`: a rename is atomic, so when several
 * processes race for one spare, exactly one gets it and the others try the next or clone.
 */
async function claimSpare(serverUrl: string, template: string, name: string): Promise<boolean> {
  const pool = adminPool(serverUrl);
  const prefix = sparePrefix(template);
  const { rows } = await pool.query<{ datname: string }>(
    'select datname from pg_database where left(datname, $2) = $1 and not datistemplate order by oid limit 8',
    [prefix, prefix.length],
  );
  for (const { datname } of rows) {
    try {
      await pool.query(`alter database ${quoteIdentifier(datname)} rename to ${quoteIdentifier(name)}`);
      return true;
    } catch (error) {
      // 3D000: another process claimed it first; 55006: someone is connected to it.
      if (sqlState(error) !== '3D000' && sqlState(error) !== '55006') throw error;
    }
  }
  return false;
}

/** Starts creating spares in the background until `spares` are being made by this process. */
function refill(serverUrl: string, template: string, spares: number, fileCopy: boolean): void {
  const key = `${serverUrl}\n${template}`;
  while ((refilling.get(key) ?? 0) < spares) {
    refilling.set(key, (refilling.get(key) ?? 0) + 1);
    const name = `${sparePrefix(template)}${randomBytes(4).toString('hex')}`;
    createFrom(serverUrl, name, template, fileCopy)
      .catch(() => {}) // a spare is an optimization: the next call clones instead
      .finally(() => refilling.set(key, (refilling.get(key) ?? 1) - 1));
  }
}

/**
 * Creates database `name` as a copy of `template`: by claiming a spare copy made in the background
 * earlier (when `spares` > 0), else by `CREATE DATABASE ... TEMPLATE`. Then starts making spares
 * for the next calls. Spares are kept by default only on servers carebase/testing started
 * (`carebase.throwaway=on`), which are removed with everything on them.
 */
export async function cloneTemplate(
  serverUrl: string,
  template: string,
  name: string,
  spares: number | undefined,
): Promise<void> {
  const server = await serverTraits(serverUrl);
  const wanted = spares ?? (server.throwaway ? 2 : 0);
  if (wanted > 0 && (await claimSpare(serverUrl, template, name))) {
    refill(serverUrl, template, wanted, server.fileCopy);
    return;
  }
  await createFrom(serverUrl, name, template, server.fileCopy);
  if (wanted > 0) refill(serverUrl, template, wanted, server.fileCopy);
}
