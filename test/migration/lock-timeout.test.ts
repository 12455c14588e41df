import { MigrationError } from 'carebase';
import { fileMigrations, type MigrationResult, migrate } from 'carebase/migration';
import { createTestDatabase, type TestDatabase } from 'carebase/testing';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type MigrationFolder, migrationFolder } from '../support/migration-folder.js';

// A migration queued behind a long transaction (here a report holding ACCESS SHARE, as pg_dump
// does) must not take the table's readers down with it: each attempt waits at most the lock
// timeout, the readers queued behind it wait no longer, and after the last attempt the run fails
// naming the blocking session.

let database: TestDatabase;
let folder: MigrationFolder;
const LOCK_TIMEOUT_MS = 400;

async function client(applicationName: string): Promise<pg.Client> {
  const connection = new pg.Client({ connectionString: database.url, application_name: applicationName });
  connection.on('error', () => {});
  await connection.connect();
  return connection;
}

/** Reads the table in a loop until `until` settles; returns the slowest read in ms. */
async function readWhile(until: Promise<unknown>): Promise<{ slowest: number; reads: number }> {
  const reader = await client('lt-reader');
  let done = false;
  until.then(
    () => (done = true),
    () => (done = true),
  );
  let slowest = 0;
  let reads = 0;
  try {
    while (!done) {
      const started = performance.now();
      await reader.query('select count(*) from public.lt_notes');
      slowest = Math.max(slowest, performance.now() - started);
      reads++;
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
  } finally {
    await reader.end();
  }
  return { slowest, reads };
}

const app = () => fileMigrations(folder.dir, { namespace: 'app' });

beforeAll(async () => {
  database = await createTestDatabase({ migrate: false });
  const admin = await client('lt-setup');
  await admin.query(
    'create table public.lt_notes (id int primary key); insert into public.lt_notes select generate_series(1, 1000)',
  );
  await admin.end();
  folder = migrationFolder({ '0001_add_column.sql': 'alter table public.lt_notes add column extra int;\n' });
});

afterAll(async () => {
  folder?.remove();
  await database?.drop();
});

describe('migrations under a long transaction', { timeout: 60_000 }, () => {
  it('fail cleanly after the retries, naming the blocker, and never block readers longer than the lock timeout', async () => {
    const blocker = await client('long-report');
    await blocker.query('begin');
    await blocker.query('select count(*) from public.lt_notes');
    const pid = (await blocker.query<{ pid: number }>('select pg_backend_pid() as pid')).rows[0]?.pid;
    try {
      const started = performance.now();
      const running = migrate(database.url, {
        sources: [app()],
        includeLibrary: false,
        tableLockTimeoutMs: LOCK_TIMEOUT_MS,
        tableLockAttempts: 3,
        tableLockRetryDelayMs: 100,
      });
      const [outcome, reads] = await Promise.all([
        running.catch((error: unknown) => error),
        readWhile(running),
      ]);
      const elapsed = performance.now() - started;
      expect(outcome).toBeInstanceOf(MigrationError);
      const error = outcome as MigrationError;
      expect(error.migration).toBe('0001_add_column');
      expect(error.message).toContain('migration app/0001_add_column could not get its locks within 400 ms');
      expect(error.message).toContain('in 3 attempts');
      expect(error.message).toContain(`pid ${pid} (application_name 'long-report', idle in transaction`);
      expect(error.message).toContain('nothing was applied');
      const [failed] = error.results as MigrationResult[];
      const failure = failed?.error as
        | { sqlState?: string; blockedBy?: { pid: number; applicationName: string }[] }
        | undefined;
      expect(failure?.sqlState).toBe('55P03');
      // The long transaction first (the oldest). A reader of the table that held its share lock at
      // the moment the blockers were listed is one too, after it (seen once in CI under load).
      expect(failure?.blockedBy?.[0]).toEqual({ pid, applicationName: 'long-report' });
      expect(failure?.blockedBy?.slice(1).map((b) => b.applicationName)).toEqual(
        (failure?.blockedBy ?? []).slice(1).map(() => 'lt-reader'),
      );
      // Three attempts of 400 ms plus backoff: well under the minutes an unbounded wait would take.
      expect(elapsed).toBeGreaterThan(3 * LOCK_TIMEOUT_MS);
      expect(elapsed).toBeLessThan(10_000);
      // The readers queued behind the migration's lock request (so they were held up), but never
      // for longer than one lock timeout (plus scheduling slack on a shared machine).
      expect(reads.reads).toBeGreaterThan(3);
      expect(reads.slowest).toBeGreaterThan(LOCK_TIMEOUT_MS / 4);
      expect(reads.slowest).toBeLessThan(LOCK_TIMEOUT_MS + 600);
      console.log(
        `lock_timeout ${LOCK_TIMEOUT_MS} ms x 3 attempts: failed after ${Math.round(elapsed)} ms; ` +
          `${reads.reads} reads of the table, slowest ${Math.round(reads.slowest)} ms`,
      );
    } finally {
      await blocker.query('rollback');
      await blocker.end();
    }
    const admin = await client('lt-check');
    const { rows } = await admin.query(
      "select count(*)::int as n from information_schema.columns where table_name = 'lt_notes' and column_name = 'extra'",
    );
    await admin.end();
    expect(rows[0]?.n).toBe(0);
  });

  it('succeed on a later attempt once the blocker is gone', async () => {
    const blocker = await client('short-report');
    await blocker.query('begin');
    await blocker.query('select count(*) from public.lt_notes');
    const running = migrate(database.url, {
      sources: [app()],
      includeLibrary: false,
      tableLockTimeoutMs: 300,
      tableLockAttempts: 5,
      tableLockRetryDelayMs: 100,
    });
    setTimeout(() => {
      blocker.query('commit').finally(() => blocker.end());
    }, 500);
    const { results } = await running;
    expect(results.map((result) => [result.name, result.status])).toEqual([['0001_add_column', 'applied']]);
  });
});
