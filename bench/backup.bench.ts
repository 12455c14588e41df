import { spawn } from 'node:child_process';
import { mkdir, mkdtemp, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createBackup, findPgTools, restoreBackup } from 'carebase/backup';
import pg from 'pg';
import { benchDatabase, benchServerUrl, duration, record } from './harness.ts';

/** Database size for the benchmark, in rows of ~150 bytes (BENCH_BACKUP_ROWS; default ~150 MB). */
const ROWS = Number(process.env.BENCH_BACKUP_ROWS ?? 900_000);
const RUNS = Number(process.env.BENCH_BACKUP_RUNS ?? 3);

function exec(command: string, args: string[]): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { stdio: ['ignore', 'ignore', 'inherit'] });
    child.once('error', reject);
    child.once('close', (code) => (code === 0 ? resolve() : reject(new Error(`${command} exited ${code}`))));
  });
}

async function admin(text: string): Promise<void> {
  const client = new pg.Client({ connectionString: benchServerUrl });
  await client.connect();
  try {
    await client.query(text);
  } finally {
    await client.end();
  }
}

/**
 * createBackup vs raw `pg_dump -Fc`, and restoreBackup (new database) vs raw createdb +
 * `pg_restore --no-owner --exit-on-error`, on the same database with the same binaries. carebase's
 * side includes everything it does: the snapshot-consistent row counts, sha256 and manifest for a
 * backup; verification (sha256 + `pg_restore --list`) before a restore, and, in the second restore
 * case, the row-count check after it.
 */
export default async function run(): Promise<void> {
  const database = await benchDatabase();
  const dir = await mkdtemp(join(tmpdir(), 'carebase-bench-backup-'));
  const client = new pg.Client({ connectionString: database.url });
  await client.connect();
  const restored: string[] = [];
  try {
    await client.query(`
      create table events (id bigint primary key, at timestamptz not null, kind int not null, payload text not null);
      insert into events
        select i, timestamptz '2025-01-01' + i * interval '1 second', i % 17,
               md5(i::text) || md5((i * 3)::text) || md5((i * 7)::text)
          from generate_series(1, ${ROWS}) i;
      create index events_at on events (at);
      create table notes (id int primary key, body jsonb);
      insert into notes select i, jsonb_build_object('i', i, 'text', repeat('x', 50)) from generate_series(1, ${Math.round(ROWS / 10)}) i;`);
    await client.query('vacuum analyze');
    const size = (
      await client.query<{ size: string }>('select pg_database_size(current_database())::text as size')
    ).rows[0]?.size;
    const dbMb = Number(size) / 1_048_576;
    const server = Number(
      (await client.query<{ server_version_num: string }>('show server_version_num')).rows[0]
        ?.server_version_num,
    );
    const tools = await findPgTools({ minMajor: Math.floor(server / 10_000) });
    process.stdout.write(
      `  database size: ${dbMb.toFixed(0)} MB (${ROWS.toLocaleString('en-US')} + ${Math.round(ROWS / 10).toLocaleString('en-US')} rows), pg_dump ${tools.version}\n`,
    );

    let n = 0;
    const dump = await duration({
      name: `createBackup vs pg_dump -Fc (${dbMb.toFixed(0)} MB database)`,
      runs: RUNS,
      beforeEach: async () => {
        await rm(dir, { recursive: true, force: true });
        await mkdir(dir);
      },
      carebase: () => createBackup({ connectionString: database.url, dir, name: `cb-${n++}` }),
      raw: async () => {
        await rm(dir, { recursive: true, force: true })
          .then(() => import('node:fs/promises'))
          .then((fs) => fs.mkdir(dir));
        await exec(tools.pgDump, ['-Fc', '-f', join(dir, `raw-${n++}.dump`), '-d', database.url]);
      },
    });
    record({
      name: 'backup overhead (carebase / raw - 1)',
      unit: 'ms (median)',
      carebase: dump.carebase,
      raw: dump.raw,
      ratio: dump.ratio,
      note: `${((dump.carebase / dump.raw - 1) * 100).toFixed(1)}% overhead`,
    });

    const archive = await createBackup({
      connectionString: database.url,
      dir: join(dir, 'keep'),
      name: 'source',
    });
    process.stdout.write(`  archive size: ${((await stat(archive.path)).size / 1_048_576).toFixed(1)} MB\n`);
    const base = new URL(database.url).pathname.slice(1);
    let r = 0;
    const dropRestored = async (): Promise<void> => {
      for (const name of restored.splice(0)) await admin(`drop database if exists "${name}" with (force)`);
    };
    const restore = await duration({
      name: `restoreBackup (new db) vs createdb + pg_restore (${dbMb.toFixed(0)} MB database)`,
      runs: RUNS,
      beforeEach: dropRestored,
      carebase: async () => {
        const target = `${base}_cb_${r++}`;
        restored.push(target);
        await restoreBackup(archive.path, { connectionString: database.url, target });
      },
      raw: async () => {
        const target = `${base}_raw_${r++}`;
        restored.push(target);
        await admin(`create database "${target}" template template0`);
        const url = new URL(database.url);
        url.pathname = `/${target}`;
        await exec(tools.pgRestore, ['--no-owner', '--exit-on-error', '-d', url.toString(), archive.path]);
      },
    });
    await dropRestored();
    const checked = await duration({
      name: `restoreBackup (new db, checkRowCounts) vs createdb + pg_restore (${dbMb.toFixed(0)} MB database)`,
      runs: RUNS,
      beforeEach: dropRestored,
      carebase: async () => {
        const target = `${base}_cb_${r++}`;
        restored.push(target);
        await restoreBackup(archive.path, { connectionString: database.url, target, checkRowCounts: true });
      },
      raw: async () => {
        const target = `${base}_raw_${r++}`;
        restored.push(target);
        await admin(`create database "${target}" template template0`);
        const url = new URL(database.url);
        url.pathname = `/${target}`;
        await exec(tools.pgRestore, ['--no-owner', '--exit-on-error', '-d', url.toString(), archive.path]);
      },
    });
    await dropRestored();
    record({
      name: 'restore + row-count check overhead (carebase / raw - 1)',
      unit: 'ms (median)',
      carebase: checked.carebase,
      raw: checked.raw,
      ratio: checked.ratio,
      note: `${((checked.carebase / checked.raw - 1) * 100).toFixed(1)}% overhead`,
    });
    record({
      name: 'restore overhead (carebase / raw - 1)',
      unit: 'ms (median)',
      carebase: restore.carebase,
      raw: restore.raw,
      ratio: restore.ratio,
      note: `${((restore.carebase / restore.raw - 1) * 100).toFixed(1)}% overhead`,
    });
  } finally {
    await client.end();
    for (const name of restored)
      await admin(`drop database if exists "${name}" with (force)`).catch(() => {});
    await rm(dir, { recursive: true, force: true });
    await database.drop();
  }
}
