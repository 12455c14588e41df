import type pg from 'pg';
import { quoteIdentifier } from '../sql/identifier.js';

/** What a backup records about the server it came from. */
export interface ServerInfo {
  readonly database: string;
  readonly serverVersion: string;
  readonly serverVersionNum: number;
  /** The server's major version (15 for 150020). */
  readonly major: number;
}

/** Reads the server's version and the current database's name. */
export async function readServerInfo(client: pg.ClientBase): Promise<ServerInfo> {
  const { rows } = await client.query<{ database: string; version: string; num: string }>(
    `select current_database() as database, current_setting('server_version') as version,
            current_setting('server_version_num') as num`,
  );
  const row = rows[0];
  if (row === undefined) throw new Error('no server info');
  const num = Number(row.num);
  return {
    database: row.database,
    serverVersion: row.version.split(' ')[0] ?? row.version,
    serverVersionNum: num,
    major: Math.floor(num / 10_000),
  };
}

/** The latest applied carebase migration in `schema`, or null when carebase is not installed. */
export async function readCarebaseSchemaVersion(
  client: pg.ClientBase,
  schema: string,
): Promise<string | null> {
  const { rows } = await client.query<{ exists: boolean }>('select to_regclass($1) is not null as exists', [
    `${quoteIdentifier(schema)}.schema_migrations`,
  ]);
  if (rows[0]?.exists !== true) return null;
  const latest = await client.query<{ name: string }>(
    `select name from ${quoteIdentifier(schema)}.schema_migrations where namespace = 'carebase' order by name desc limit 1`,
  );
  return latest.rows[0]?.name ?? null;
}
