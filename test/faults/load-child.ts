/**
 * The load of the fault suite, run in its own Node process by test/faults/*.test.ts with NO
 * `uncaughtException` / `unhandledRejection` handlers: an `error` event nobody listens to kills
 * this process, which the parent sees as a crash. It imports the built package (`carebase`
 * resolves to dist/ by the package's self-reference), as a host would.
 *
 * Protocol: the configuration comes in `FAULT_LOAD` (JSON). Progress goes to stdout, one JSON
 * object per line: `{ event: 'phase', phase: 'fault' | 'after', at }` when the fault window opens
 * and closes (the parent injects the faults in between), then `{ event: 'done', ... }` with the
 * figures after `cb.close()`. The ledger of acknowledged writes is written to `ledgerPath`. The
 * process must then exit by itself: a timer or socket left behind keeps it alive, which the parent
 * reports as leaked handles.
 */
import { randomUUID } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { createCarebase, isCarebaseError } from 'carebase';

interface LoadConfig {
  readonly url: string;
  readonly applicationName: string;
  readonly workers: number;
  /** Each worker starts a call every `intervalMs`. */
  readonly intervalMs: number;
  readonly warmupMs: number;
  readonly beforeMs: number;
  readonly faultMs: number;
  readonly afterMs: number;
  readonly ledgerPath: string;
  readonly poolMax: number;
}

/** One acknowledged write: its kind and the client-chosen key it can be found by. */
export interface LedgerEntry {
  readonly kind: 'user' | 'session' | 'chat' | 'audit' | 'event';
  readonly key: string;
}

const config = JSON.parse(process.env.FAULT_LOAD ?? '{}') as LoadConfig;
const say = (value: Record<string, unknown>): void => {
  process.stdout.write(`${JSON.stringify(value)}\n`);
};

const cb = createCarebase({
  connectionString: config.url,
  pool: {
    min: 0,
    max: config.poolMax,
    connectionTimeoutMs: 2_000,
    applicationName: config.applicationName,
  },
  users: { bcryptCost: 10 },
  sessions: { touchIntervalMs: 0 },
});

const ledger: LedgerEntry[] = [];
/** Completion times (ms since epoch) of successful calls. */
const successes: number[] = [];
const errors: Record<string, number> = {};
/** The first message seen per error label (carebase messages carry no values). */
const samples: Record<string, string> = {};
const untyped: string[] = [];
let stopping = false;
let keySeq = 0;
const run = randomUUID().slice(0, 8);
const nextKey = (): string => `${run}-${(keySeq++).toString(36)}`;

function recordError(error: unknown): void {
  if (!isCarebaseError(error)) {
    const name = error instanceof Error ? error.constructor.name : typeof error;
    errors[`untyped:${name}`] = (errors[`untyped:${name}`] ?? 0) + 1;
    if (untyped.length < 20)
      untyped.push(error instanceof Error ? `${name}: ${error.message}` : String(error));
    return;
  }
  // A QueryError without a SQLSTATE is the mapper's fallback for an unrecognised driver error.
  const fallback = error.code === 'QUERY_FAILED' && (error as { sqlState?: string }).sqlState === undefined;
  const reason = (error as { reason?: string }).reason;
  const label = fallback
    ? 'QUERY_FAILED(no sqlstate)'
    : `${error.code}${reason === undefined ? '' : `/${reason}`}`;
  errors[label] = (errors[label] ?? 0) + 1;
  samples[label] ??= `${error.message} | ${String(error.stack).split('\n').slice(1, 6).join(' <- ')}`;
  if (fallback && untyped.length < 20) untyped.push(`${error.code}: ${error.message}`);
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

async function seedUsers(count: number): Promise<string[]> {
  const ids: string[] = [];
  for (let i = 0; i < count; i++) {
    const user = await cb.users.create({
      username: `seed-${run}-${i}`,
      email: `seed-${run}-${i}@example.org`,
      password: 'correct horse battery staple',
      role: 'nurse',
    });
    ids.push(user.id);
  }
  return ids;
}

type Op = (worker: number) => Promise<void>;

function operations(userIds: readonly string[], tokens: string[]): Array<[weight: number, op: Op]> {
  const pick = (): string => userIds[Math.floor(Math.random() * userIds.length)] as string;
  return [
    [
      1,
      async () => {
        const key = nextKey();
        await cb.users.create({
          username: `u-${key}`,
          email: `u-${key}@example.org`,
          password: 'correct horse battery staple',
          role: 'viewer',
        });
        ledger.push({ kind: 'user', key: `u-${key}` });
      },
    ],
    [
      3,
      async () => {
        const key = nextKey();
        const { token } = await cb.sessions.create({ userId: pick(), userAgent: key });
        ledger.push({ kind: 'session', key });
        tokens.push(token);
        if (tokens.length > 200) tokens.shift();
      },
    ],
    [
      3,
      async () => {
        const token = tokens[Math.floor(Math.random() * tokens.length)];
        if (token !== undefined) await cb.sessions.validate(token);
      },
    ],
    [
      4,
      async () => {
        const key = nextKey();
        const message = { userId: pick(), role: 'user' as const, content: `load ${key}`, id: key };
        // An idempotent write: a host retries it with the same id, and exactly one row results.
        for (let attempt = 0; ; attempt++) {
          try {
            await cb.chat.append(message);
            break;
          } catch (error) {
            recordError(error);
            if (attempt >= 2 || stopping) return;
            await sleep(20);
          }
        }
        ledger.push({ kind: 'chat', key });
      },
    ],
    [
      3,
      async () => {
        const key = nextKey();
        await cb.audit.log({ action: 'fault.load', resourceType: 'load', resourceId: key });
        ledger.push({ kind: 'audit', key });
      },
    ],
    [
      3,
      async () => {
        const key = nextKey();
        await cb.analytics.track({
          userId: pick(),
          eventType: 'load',
          eventName: 'load.track',
          data: { k: key },
        });
        ledger.push({ kind: 'event', key });
      },
    ],
    [
      0.3,
      async () => {
        // Above analytics.copyThreshold (500): the binary COPY path on its own connection.
        const keys = Array.from({ length: 600 }, () => nextKey());
        await cb.analytics.trackMany(
          keys.map((k) => ({ eventType: 'load', eventName: 'load.bulk', data: { k } })),
        );
        for (const key of keys) ledger.push({ kind: 'event', key });
      },
    ],
    [
      2,
      async () => {
        const key = nextKey();
        const userId = pick();
        await cb.transaction(async (tx) => {
          await tx.chat.append({ userId, role: 'assistant', content: `tx ${key}`, id: key });
          await tx.audit.log({ action: 'fault.load', resourceType: 'load', resourceId: `tx-${key}` });
        });
        ledger.push({ kind: 'chat', key }, { kind: 'audit', key: `tx-${key}` });
      },
    ],
    [
      0.3,
      async () => {
        // A server-side cursor on a transaction's connection, read to the end.
        for await (const _chunk of cb.chat.export({ userId: pick(), format: 'jsonl' })) {
          // drain
        }
      },
    ],
    [
      0.3,
      async () => {
        const to = new Date();
        const from = new Date(to.getTime() - 60_000);
        for await (const _chunk of cb.audit.export({ from, to, format: 'jsonl' })) {
          // drain
        }
      },
    ],
  ];
}

function chooser(ops: Array<[number, Op]>): () => Op {
  const total = ops.reduce((sum, [weight]) => sum + weight, 0);
  return () => {
    let roll = Math.random() * total;
    for (const [weight, op] of ops) {
      roll -= weight;
      if (roll <= 0) return op;
    }
    return (ops[ops.length - 1] as [number, Op])[1];
  };
}

/**
 * One worker: a call every `intervalMs` (an open-loop load, like requests arriving, set well below
 * what the machine can serve, so that throughput measures recovery, not the CPU left over by
 * other processes); a call that overruns its slot is followed at once, with no catching up. After
 * an error the worker waits for its next slot, as a host backs off instead of spinning.
 */
async function worker(index: number, choose: () => Op): Promise<void> {
  let next = Date.now() + Math.random() * config.intervalMs;
  while (!stopping) {
    const wait = next - Date.now();
    if (wait > 0) await sleep(wait);
    if (stopping) break;
    next = Math.max(next + config.intervalMs, Date.now());
    try {
      await choose()(index);
      successes.push(Date.now());
    } catch (error) {
      recordError(error);
    }
  }
}

const userIds = await seedUsers(20);
const tokens: string[] = [];
const choose = chooser(operations(userIds, tokens));
const started = Date.now();
const workers = Array.from({ length: config.workers }, (_, i) => worker(i, choose));

await sleep(config.warmupMs + config.beforeMs);
const faultAt = Date.now();
say({ event: 'phase', phase: 'fault', at: faultAt });
await sleep(config.faultMs);
const afterAt = Date.now();
say({ event: 'phase', phase: 'after', at: afterAt });
await sleep(config.afterMs);
const endAt = Date.now();
stopping = true;
await Promise.all(workers);
await cb.close();

writeFileSync(config.ledgerPath, JSON.stringify(ledger));
const count = (from: number, to: number): number => successes.filter((t) => t >= from && t < to).length;
const beforeFrom = started + config.warmupMs;
say({
  event: 'done',
  acknowledged: ledger.length,
  successes: successes.length,
  errors,
  samples,
  untyped,
  beforeRate: (count(beforeFrom, faultAt) * 1000) / (faultAt - beforeFrom),
  afterRate: (count(afterAt, endAt) * 1000) / (endAt - afterAt),
  successTimes: successes.filter((t) => t >= faultAt && t < afterAt),
});
