import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createTestDatabase, type TestDatabase } from 'carebase/testing';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { baseEnv, built, carebase } from './bin.js';

// carebase migrate, end to end on the built bin, on a populated database: nothing destructive
// happens by default, and every down plan says what it drops with the rows there now.

let database: TestDatabase;
let work: string;
const env = () => ({ ...baseEnv(), DATABASE_URL: database.url });
const host = () => ['--dir', join(work, 'db'), '--namespace', 'app'];

async function query<R extends pg.QueryResultRow>(text: string): Promise<R[]> {
  const client = new pg.Client({ connectionString: database.url });
  await client.connect();
  try {
    return (await client.query<R>(text)).rows;
  } finally {
    await client.end();
  }
}

const counts = () =>
  query<{ events: number; applied: number }>(
    'select (select count(*)::int from carebase.analytics_events) as events, (select count(*)::int from carebase.schema_migrations) as applied',
  );

/** Steps that roll carebase back through 0006_analytics, whatever migrations came after it. */
let toAnalytics: string;

beforeAll(async () => {
  database = await createTestDatabase({ role: 'owner' }); // migrates, rolls back and creates tables
  await database.db.analytics.trackMany(
    Array.from({ length: 10_000 }, (_, i) => ({ eventType: 'feature', eventName: `e${i % 7}` })),
  );
  const applied = (
    await query<{ name: string }>(
      "select name from carebase.schema_migrations where namespace = 'carebase' order by name",
    )
  ).map((row) => row.name);
  toAnalytics = String(applied.length - applied.indexOf('0006_analytics'));
  work = mkdtempSync(join(tmpdir(), 'carebase-cli-migrate-'));
  mkdirSync(join(work, 'db'));
}, 120_000);

afterAll(async () => {
  if (work !== undefined) rmSync(work, { recursive: true, force: true });
  await database?.drop();
});

describe.skipIf(!built)('carebase migrate (skipped without dist/)', { timeout: 180_000 }, () => {
  it("down --steps N (through 0006) without a namespace refuses, says what carebase's own rollback would drop, and loses nothing", async () => {
    const before = await counts();
    expect(before[0]?.events).toBe(10_000);
    for (const args of [
      ['--steps', toAnalytics],
      ['--steps', toAnalytics, '--dry-run'],
    ]) {
      const run = await carebase(['migrate', 'down', ...args], { env: env() });
      expect(run.code).toBe(2);
      expect(run.stdout).toBe('');
      expect(run.stderr).toContain('migrate down needs --namespace');
      expect(run.stderr).toContain('carebase/0006_analytics drops carebase.analytics_events (10000 rows)');
    }
    const refused = await carebase(['migrate', 'down', '--steps', toAnalytics, '--namespace', 'carebase'], {
      env: env(),
    });
    expect(refused.code).toBe(2);
    expect(refused.stderr).toContain("refusing to roll back carebase's own migrations without --force");
    expect(refused.stderr).toContain('carebase.analytics_events (10000 rows)');
    expect(await counts()).toEqual(before);
  });

  it('every down plan lists the tables it drops with their row counts (dry run, text and JSON)', async () => {
    const text = await carebase(
      ['migrate', 'down', '--steps', toAnalytics, '--namespace', 'carebase', '--dry-run'],
      {
        env: env(),
      },
    );
    expect(text.code, text.stderr).toBe(0);
    expect(text.stdout).toMatch(/down\s+carebase\s+0008_least_privilege\s+yes\s+drops no table/);
    expect(text.stdout).toMatch(/down\s+carebase\s+0007_analytics_dirty_race\s+yes\s+drops no table/);
    expect(text.stdout).toMatch(
      /down\s+carebase\s+0006_analytics\s+yes\s+drops carebase\.analytics_events \(10000 rows\)/,
    );
    const json = await carebase(
      ['migrate', 'down', '--steps', toAnalytics, '--namespace', 'carebase', '--dry-run', '--json'],
      { env: env() },
    );
    const plan = (
      JSON.parse(json.stdout) as {
        plan: { name: string; dataLoss: { action: string; table: string; rows: number }[] }[];
      }
    ).plan;
    expect(plan.at(-1)?.dataLoss).toContainEqual({
      action: 'drop table',
      table: 'carebase.analytics_events',
      rows: 10_000,
    });
  });

  it('a host down that would drop rows needs --force; one that drops nothing does not', async () => {
    writeFileSync(
      join(work, 'db', '0001_notes.sql'),
      'create table public.notes (id int);\ninsert into public.notes values (1), (2);\n-- carebase:down\ndrop table if exists public.notes;\n',
    );
    writeFileSync(
      join(work, 'db', '0002_empty.sql'),
      'create table public.empty_one (id int);\n-- carebase:down\ndrop table if exists public.empty_one;\n',
    );
    const up = await carebase(['migrate', 'up', ...host()], { env: env() });
    expect(up.code, up.stderr).toBe(0);
    expect(up.stdout).toContain('applied app/0002_empty');
    const empty = await carebase(['migrate', 'down', ...host()], { env: env() });
    expect(empty.code, empty.stderr).toBe(0);
    expect(empty.stdout).toContain('drops public.empty_one (0 rows)');
    const refused = await carebase(['migrate', 'down', ...host()], { env: env() });
    expect(refused.code).toBe(2);
    expect(refused.stderr).toContain(
      'refusing to roll back without --force: it would lose data: app/0001_notes drops public.notes (2 rows)',
    );
    expect(await query('select count(*)::int as n from public.notes')).toEqual([{ n: 2 }]);
    const forced = await carebase(['migrate', 'down', '--force', '--json', ...host()], { env: env() });
    expect(forced.code, forced.stderr).toBe(0);
    expect(JSON.parse(forced.stdout)).toMatchObject({
      ok: true,
      results: [{ name: '0001_notes', status: 'rolled-back' }],
    });
  });

  it('status, create and up --dry-run', async () => {
    const created = await carebase(['migrate', 'create', 'add notes', '--dir', join(work, 'db')], {
      env: env(),
      cwd: work,
    });
    expect(created).toMatchObject({ code: 0, stdout: `created ${join('db', '0003_add_notes.sql')}\n` });
    expect(readFileSync(join(work, 'db', '0003_add_notes.sql'), 'utf8')).toContain('-- carebase:down');
    writeFileSync(join(work, 'db', '0003_add_notes.sql'), 'create table public.more (id int);\n');
    const status = await carebase(['migrate', 'status', ...host()], { env: env() });
    expect(status.code).toBe(0);
    expect(status.stdout).toMatch(/app\s+0001_notes\s+pending/);
    const plan = await carebase(['migrate', 'up', '--dry-run', '--json', ...host()], { env: env() });
    expect((JSON.parse(plan.stdout) as { plan: { name: string }[] }).plan.map((step) => step.name)).toEqual([
      '0001_notes',
      '0002_empty',
      '0003_add_notes',
    ]);
    expect(readdirSync(join(work, 'db'))).toHaveLength(3);
  });

  it('an unreachable database is a connection error: exit 2, no password, no stack', async () => {
    const secret = 'Sup3rSecretPw';
    const run = await carebase(['migrate', 'status'], {
      env: { ...baseEnv(), DATABASE_URL: `postgres://alice:${secret}@127.0.0.1:1/nowhere` },
    });
    expect(run.code).toBe(2);
    expect(run.stderr).toMatch(/could not reach the server/);
    expect(run.stdout + run.stderr).not.toContain(secret);
    expect(run.stderr).not.toMatch(/\n\s+at /);
    const badEnv = await carebase(['migrate', 'status'], {
      env: { ...baseEnv(), DB_HOST: 'localhost', DB_PORT: 'abc' },
    });
    expect(badEnv.code).toBe(2);
    expect(badEnv.stderr).toContain('DB_PORT');
  });
});
