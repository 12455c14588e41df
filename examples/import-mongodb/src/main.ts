/**
 * Run: DATABASE_URL=postgres://... node examples/import-mongodb/src/main.ts ./export-dir
 * (the directory holds mongoexport's users.json, conversations.json and activity_logs.json).
 */
import { fileURLToPath } from 'node:url';
import { configFromEnv, createCarebase } from 'carebase';
import { fileMigrations } from 'carebase/migration';
import { formatReport, migrateMongoExport } from './migrate-export.ts';

const dir = process.argv[2];
if (dir === undefined) {
  console.error('usage: main.ts EXPORT_DIR');
  process.exit(2);
}
const cb = createCarebase(configFromEnv());
try {
  const hostMigrations = fileURLToPath(new URL('../migrations', import.meta.url));
  // carebase's own migrations, then the host's table for what carebase does not own.
  await cb.migrate({ sources: [fileMigrations(hostMigrations, { namespace: 'mongo_example' })] });
  const report = await migrateMongoExport(cb, dir);
  console.log(formatReport(report));
  const refused = [report.users, report.conversations, report.messages, report.auditEntries].flatMap(
    (r) => r.refused,
  );
  for (const r of refused.slice(0, 50)) console.log(`refused ${r.path}: ${r.reason}`);
  process.exitCode = refused.length > 0 ? 1 : 0;
} finally {
  await cb.close();
}
