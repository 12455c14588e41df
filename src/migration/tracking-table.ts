import { MigrationError } from '../errors/errors.js';
import { quoteIdentifier } from '../sql/identifier.js';
import type { SqlConnection } from './connection.js';

const IDENTIFIER = /^[a-z_][a-z0-9_]{0,62}$/;

/**
 * Quotes a carebase schema name after checking it is a plain lower-case identifier.
 * Throws `MigrationError` otherwise.
 */
export function quoteSchema(schema: string): string {
  if (!IDENTIFIER.test(schema)) {
    throw new MigrationError('the carebase schema name must be a lower-case identifier');
  }
  return quoteIdentifier(schema);
}

/** A row of `schema_migrations`. */
export interface AppliedMigration {
  readonly name: string;
  readonly checksum: string;
  readonly checksum_algorithm: number;
  readonly applied_at: Date;
}

/**
 * Creates the carebase schema and `schema_migrations` if missing. Safe under concurrency: the
 * bootstrap is serialized by a transaction-level advisory lock held for a few milliseconds, and
 * skipped entirely (no lock, no DDL) when the table already exists.
 */
export async function ensureTrackingTable(connection: SqlConnection, schema: string): Promise<void> {
  const q = quoteSchema(schema);
  if (await trackingTableExists(connection, schema)) return;
  try {
    // One round trip; the explicit transaction makes the advisory lock last until the commit.
    await connection.query(
      `begin;
       select pg_advisory_xact_lock(hashtext('carebase.migrate.bootstrap'));
       create schema if not exists ${q};
       create table if not exists ${q}.schema_migrations (
         namespace text not null,
         name text not null,
         checksum text not null,
         checksum_algorithm smallint not null,
         applied_at timestamptz not null default now(),
         execution_ms integer not null,
         primary key (namespace, name)
       );
       commit`,
    );
  } catch (error) {
    await connection.query('rollback').catch(() => {});
    throw error;
  }
}

async function trackingTableExists(connection: SqlConnection, schema: string): Promise<boolean> {
  const { rows } = await connection.query<{ exists: boolean }>(
    'select to_regclass($1) is not null as exists',
    [`${quoteSchema(schema)}.schema_migrations`],
  );
  return rows[0]?.exists === true;
}

/** Reads the applied migrations of `namespace`, by name; none when the tracking table does not exist. */
export async function readApplied(
  connection: SqlConnection,
  schema: string,
  namespace: string,
): Promise<AppliedMigration[]> {
  if (!(await trackingTableExists(connection, schema))) return [];
  const { rows } = await connection.query<AppliedMigration>(
    `select name, checksum, checksum_algorithm, applied_at from ${quoteSchema(schema)}.schema_migrations
     where namespace = $1 order by name`,
    [namespace],
  );
  return rows;
}

/** Records `name` as applied (after `up`). */
export async function recordApplied(
  connection: SqlConnection,
  schema: string,
  row: { namespace: string; name: string; checksum: string; algorithm: number; executionMs: number },
): Promise<void> {
  await connection.query(
    `insert into ${quoteSchema(schema)}.schema_migrations (namespace, name, checksum, checksum_algorithm, execution_ms)
     values ($1, $2, $3, $4, $5)`,
    [row.namespace, row.name, row.checksum, row.algorithm, row.executionMs],
  );
}

/** Forgets `name` (after `down`). */
export async function recordRolledBack(
  connection: SqlConnection,
  schema: string,
  namespace: string,
  name: string,
): Promise<void> {
  await connection.query(
    `delete from ${quoteSchema(schema)}.schema_migrations where namespace = $1 and name = $2`,
    [namespace, name],
  );
}
