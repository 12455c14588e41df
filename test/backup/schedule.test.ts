import { isCarebaseError, type Logger } from 'carebase';
import { listBackups, type ScheduledRun, scheduleBackups } from 'carebase/backup';
import { createTestDatabase, type TestDatabase } from 'carebase/testing';
import pg from 'pg';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { describeWithPgDump, tempDir } from '../support/backup.js';
import { urlFor } from '../support/database.js';

let database: TestDatabase;
let dir: { path: string; remove(): Promise<void> };

beforeAll(async () => {
  database = await createTestDatabase({ migrate: false });
  dir = await tempDir();
  const client = new pg.Client({ connectionString: database.url });
  await client.connect();
  await client.query('create table t (id int); insert into t select generate_series(1, 1000)');
  await client.end();
});

afterAll(async () => {
  await database?.drop();
  await dir?.remove();
});

function recordingLogger(): Logger & { lines: Array<[string, unknown, string | undefined]> } {
  const lines: Array<[string, unknown, string | undefined]> = [];
  return {
    lines,
    debug: (obj, msg) => lines.push(['debug', obj, msg]),
    info: (obj, msg) => lines.push(['info', obj, msg]),
    warn: (obj, msg) => lines.push(['warn', obj, msg]),
    error: (obj, msg) => lines.push(['error', obj, msg]),
  };
}

const until = async (condition: () => boolean, ms = 90_000): Promise<void> => {
  const deadline = Date.now() + ms;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error('timed out waiting');
    await new Promise((done) => setTimeout(done, 20));
  }
};

describeWithPgDump('scheduleBackups', { timeout: 180_000 }, () => {
  it('runs on its interval, never overlaps, prunes, and stops', async () => {
    const runs: ScheduledRun[] = [];
    const finishedAt: number[] = [];
    const logger = recordingLogger();
    // A 30 ms period is far shorter than a backup: most ticks must be skipped, not overlapped.
    const schedule = scheduleBackups({
      connectionString: database.url,
      dir: dir.path,
      every: 30,
      jitterMs: 10,
      prune: { keepLast: 2, maxAgeDays: 0 },
      logger,
      onSuccess: (run) => {
        runs.push(run);
        finishedAt.push(Date.now());
      },
    });
    await until(() => runs.length >= 3);
    await schedule.stop();
    const count = runs.length;
    expect(schedule.nextRunAt).toBeUndefined();
    await new Promise((done) => setTimeout(done, 200));
    expect(runs.length).toBe(count);

    // No two runs overlapped: each one's snapshot was taken after the previous run had finished.
    for (let i = 1; i < runs.length; i++) {
      const snapshotAt = new Date(runs[i]?.backup.manifest.createdAt ?? 0).getTime();
      expect(snapshotAt).toBeGreaterThanOrEqual(finishedAt[i - 1] ?? Number.POSITIVE_INFINITY);
    }
    expect(logger.lines.some(([level, , msg]) => level === 'warn' && msg?.includes('skipped'))).toBe(true);
    // Pruning kept the two newest.
    expect(runs.at(-1)?.prune?.kept.length).toBe(2);
    expect((await listBackups({ dir: dir.path })).items.length).toBe(2);
  });

  it('reports failures to the logger and onError, and keeps going', async () => {
    const errors: unknown[] = [];
    const logger = recordingLogger();
    const schedule = scheduleBackups({
      connectionString: urlFor(`${database.name}_missing`),
      dir: dir.path,
      every: '50ms',
      logger,
      onError: (error) => errors.push(error),
    });
    await until(() => errors.length >= 2);
    await schedule.stop();
    expect(isCarebaseError(errors[0], 'CONNECTION_FAILED')).toBe(true);
    const failures = logger.lines.filter(([level]) => level === 'error');
    expect(failures.length).toBeGreaterThanOrEqual(2);
    expect(failures[0]?.[1]).toEqual({ err: { code: 'CONNECTION_FAILED' } });
  });

  it('computes the next run for a daily UTC time with jitter', async () => {
    const schedule = scheduleBackups({
      connectionString: database.url,
      dir: dir.path,
      every: 'daily@03:15',
      jitterMs: 60_000,
    });
    const next = schedule.nextRunAt;
    await schedule.stop();
    expect(next).toBeDefined();
    const at = next ?? new Date(0);
    const base = new Date(at.getTime());
    base.setUTCHours(3, 15, 0, 0);
    if (base.getTime() > at.getTime()) base.setUTCDate(base.getUTCDate() - 1);
    expect(at.getTime() - base.getTime()).toBeLessThan(60_000 + 1_000);
    expect(at.getTime()).toBeGreaterThan(Date.now());
    expect(at.getTime() - Date.now()).toBeLessThanOrEqual(86_400_000 + 60_000);
  });

  it('rejects an unknown interval before scheduling anything', () => {
    let error: unknown;
    try {
      scheduleBackups({ connectionString: database.url, every: 'weekly' });
    } catch (e) {
      error = e;
    }
    expect(isCarebaseError(error, 'VALIDATION_FAILED')).toBe(true);
    expect((error as { field?: string }).field).toBe('every');
  });
});
