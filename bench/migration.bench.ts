import { readdirSync, readFileSync } from 'node:fs';
import { migrate } from 'carebase/migration';
import pg from 'pg';
import { benchDatabase, duration } from './harness.ts';

/**
 * Applying the whole library schema to an empty database: carebase's `migrate()` (tracking table,
 * advisory lock, checksums, one transaction per migration) vs the same SQL files run with raw pg
 * on one client, one transaction per file, no bookkeeping. Both open their own connection.
 * Target: carebase under 1 s.
 */
export default async function run(): Promise<void> {
  const database = await benchDatabase();
  const folder = new URL('../migrations/', import.meta.url);
  const files = readdirSync(folder)
    .filter((file) => file.endsWith('.sql'))
    .sort()
    .map((file) => readFileSync(new URL(file, folder), 'utf8').split(/^--\s*carebase:down\s*$/m)[0] ?? '');
  const admin = new pg.Client({ connectionString: database.url });
  await admin.connect();
  try {
    await duration({
      name: `migrate ${files.length} library migration(s) into an empty database`,
      runs: Number(process.env.BENCH_RUNS ?? 9),
      beforeEach: () =>
        admin.query('drop schema if exists carebase cascade; drop schema if exists raw cascade'),
      carebase: () => migrate(database.url),
      raw: async () => {
        const client = new pg.Client({ connectionString: database.url });
        await client.connect();
        try {
          await client.query('create schema raw');
          for (const sql of files) {
            await client.query('begin');
            await client.query('set local search_path to raw');
            await client.query(sql);
            await client.query('commit');
          }
        } finally {
          await client.end();
        }
      },
    });
  } finally {
    await admin.end();
    await database.drop();
  }
}
