import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { createTestDatabase, type TestDatabase } from 'carebase/testing';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

// cb.close() in a process of its own (the built package; `npm test` builds first): background work
// pending at close (a scheduled audit sealing pass, a running rollup refresh, a buffer holding
// events behind a 60 s timer) is finished, and nothing is left that keeps the process alive.
const root = fileURLToPath(new URL('../..', import.meta.url));
const entry = `${root}dist/index.js`;
let database: TestDatabase;

beforeAll(async () => {
  database = await createTestDatabase();
});

afterAll(async () => {
  await database?.drop();
});

const script = (url: string): string => `
import { createCarebase } from ${JSON.stringify(entry)};
const cb = createCarebase({ connectionString: ${JSON.stringify(url)} });
await cb.analytics.track({ eventType: 'close', eventName: 'close.track' });
// Inside a transaction: sealed by a background pass scheduled for after the commit.
await cb.transaction((tx) => tx.audit.log({ action: 'close.tx', resourceType: 'close' }));
const buffer = cb.analytics.buffer({ maxEvents: 1000, maxDelayMs: 60_000 });
for (let i = 0; i < 10; i++) buffer.track({ eventType: 'close', eventName: 'close.buffered' });
// Starts a rollup refresh in the background (nothing was rolled up yet).
await cb.analytics.summary({ from: new Date(Date.now() - 3_600_000), to: new Date() });
await cb.close();
const handles = process.getActiveResourcesInfo().filter((name) => name !== 'PipeWrap' && name !== 'TTYWrap');
process.stdout.write(JSON.stringify({ handles, pending: buffer.pending }) + '\\n');
`;

describe('cb.close()', () => {
  it.skipIf(!existsSync(entry))(
    'finishes sealing, refreshing and buffered writes, and leaves no timer or socket: the process exits by itself',
    async () => {
      const child = spawn(process.execPath, ['--input-type=module', '-e', script(database.url)], {
        cwd: root,
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      let out = '';
      let err = '';
      let reportedAt = 0;
      child.stdout.on('data', (chunk: Buffer) => {
        out += chunk.toString();
        if (out.includes('\n') && reportedAt === 0) reportedAt = Date.now();
      });
      child.stderr.on('data', (chunk: Buffer) => {
        err += chunk.toString();
      });
      const kill = setTimeout(() => child.kill('SIGKILL'), 20_000);
      const code = await new Promise<number | null>((resolve) => child.once('exit', resolve));
      clearTimeout(kill);
      expect(err).toBe('');
      expect(code).toBe(0);
      expect(Date.now() - reportedAt).toBeLessThan(2_000);
      expect(JSON.parse(out)).toEqual({ handles: [], pending: 0 });

      const client = new pg.Client({ connectionString: database.url });
      client.on('error', () => {});
      await client.connect();
      try {
        const count = async (text: string): Promise<number> =>
          Number((await client.query<{ n: string }>(text)).rows[0]?.n);
        expect(
          await count(
            "select count(*) as n from carebase.analytics_events where event_name = 'close.buffered'",
          ),
        ).toBe(10);
        expect(
          await count(`select count(*) as n from carebase.audit_log l where l.action = 'close.tx'
            and exists (select 1 from carebase.audit_chain c where c.occurred_at = l.occurred_at and c.id = l.id)`),
        ).toBe(1);
        expect(
          await count(
            'select count(*) as n from carebase.analytics_rollup_state where refreshed_at is not null',
          ),
        ).toBe(1);
      } finally {
        await client.end();
      }
    },
    30_000,
  );
});
