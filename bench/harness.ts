/**
 * The benchmark harness: runs a carebase operation and the equivalent raw `pg` code against the
 * same database in the same process, alternating in rounds so drift in machine load hits both
 * sides alike, and reports each side's rate and the ratio. Benchmarks report; they never assert.
 */
import { randomBytes } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import pg from 'pg';

/** A throughput comparison: each side is called in a loop by `concurrency` workers. */
export interface ThroughputCase {
  readonly name: string;
  readonly concurrency: number;
  readonly carebase: () => Promise<unknown>;
  readonly raw: () => Promise<unknown>;
}

/** A duration comparison: each side runs whole, `runs` times, alternating. */
export interface DurationCase {
  readonly name: string;
  readonly runs: number;
  readonly carebase: () => Promise<unknown>;
  readonly raw: () => Promise<unknown>;
  /** Runs before each run of either side (e.g. truncating a table); not timed. */
  readonly beforeEach?: () => Promise<unknown>;
  /**
   * Untimed calls of each side first (default none): for steady-state latency, past the first
   * calls that plan a statement on the server (five custom plans before a generic one) and run
   * cold JavaScript.
   */
  readonly warmup?: number;
}

/**
 * A throughput comparison of several sides (carebase, raw pg, peers such as LangChain or Mastra):
 * each round runs every side once, in an order that rotates from round to round, so drift in
 * machine load hits all sides alike. Before it starts, `settle` drains background work left by the
 * previous case (e.g. audit seal passes) and returns what it found still running, for the report.
 */
export interface CompareCase {
  readonly name: string;
  readonly concurrency: number;
  readonly carebase: () => Promise<unknown>;
  /** The other sides by name; the first is the raw pg baseline the ratio column uses. */
  readonly others: Readonly<Record<string, () => Promise<unknown>>>;
  readonly settle?: () => Promise<string | undefined>;
}

/** One line of the report. */
export interface BenchRow {
  readonly name: string;
  readonly unit: 'ops/s' | 'ms (median)';
  readonly carebase: number;
  readonly raw: number;
  /** carebase relative to raw: > 1 means carebase is faster. */
  readonly ratio: number;
  readonly note?: string;
  /** Every side's rate (ops/s), carebase included, for multi-side comparisons. */
  readonly sides?: Readonly<Record<string, number>>;
}

const rows: BenchRow[] = [];

/** Linux reports process CPU time in /proc in ticks of 1/100 s (USER_HZ, fixed for userspace). */
const TICK_MS = 10;

/**
 * The CPU time (ms) used so far by each PostgreSQL server process on this machine (backends, WAL
 * writer, checkpointer...), by pid, read from /proc; undefined where /proc cannot be read (not
 * Linux). A server on another machine shows no processes. It counts every local cluster, not only
 * the bench's.
 */
function serverCpu(): Map<string, number> | undefined {
  let entries: string[];
  try {
    entries = readdirSync('/proc');
  } catch {
    return undefined;
  }
  const used = new Map<string, number>();
  for (const pid of entries) {
    if (!/^\d+$/.test(pid)) continue;
    let stat: string;
    try {
      stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    } catch {
      continue; // the process ended meanwhile
    }
    const close = stat.lastIndexOf(')');
    if (!stat.slice(stat.indexOf('(') + 1, close).startsWith('postgres')) continue;
    // The fields after the command start at the state (field 3): utime is field 14, stime 15.
    const fields = stat.slice(close + 2).split(' ');
    used.set(pid, (Number(fields[11]) + Number(fields[12])) * TICK_MS);
  }
  return used;
}

/**
 * The server CPU time (ms) used between two {@link serverCpu} readings: each process's growth (a
 * process started meanwhile counts whole; one that ended meanwhile is missed, so this can only
 * undercount).
 */
function serverCpuSince(before: Map<string, number>, after: Map<string, number>): number {
  let ms = 0;
  for (const [pid, now] of after) ms += Math.max(0, now - (before.get(pid) ?? 0));
  return ms;
}

/** CPU time spent by one side: this process (client) and the local PostgreSQL processes (server). */
interface CpuTally {
  clientUs: number;
  serverUs: number | undefined;
  ops: number;
}

/** `loop`, adding the CPU time it used to `tally`. */
async function tallied(tally: CpuTally, fn: () => Promise<unknown>, concurrency: number, ms: number) {
  // The /proc scans stay outside the client's window: they are the harness's work, not the side's.
  const server = serverCpu();
  const client = process.cpuUsage();
  const ops = await loop(fn, concurrency, ms);
  const used = process.cpuUsage(client);
  const serverNow = serverCpu();
  tally.clientUs += used.user + used.system;
  tally.serverUs =
    tally.serverUs === undefined || server === undefined || serverNow === undefined
      ? undefined
      : tally.serverUs + serverCpuSince(server, serverNow) * 1000;
  tally.ops += ops;
  return ops;
}

/** `client/server` CPU µs per operation of a tally (server `?` where it could not be read). */
function cpuPerOp(tally: CpuTally): string {
  const per = (us: number) => (tally.ops === 0 ? '?' : Math.round(us / tally.ops).toString());
  return `${per(tally.clientUs)}/${tally.serverUs === undefined ? '?' : per(tally.serverUs)}`;
}

async function loop(fn: () => Promise<unknown>, concurrency: number, ms: number): Promise<number> {
  const deadline = performance.now() + ms;
  let ops = 0;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (performance.now() < deadline) {
        await fn();
        ops++;
      }
    }),
  );
  return ops;
}

/** Measures ops/s of both sides over `rounds` alternating rounds of `roundMs` (after a warm-up). */
export async function throughput(
  c: ThroughputCase,
  options: { rounds?: number; roundMs?: number } = {},
): Promise<BenchRow> {
  const rounds = options.rounds ?? Number(process.env.BENCH_ROUNDS ?? 6);
  const roundMs = options.roundMs ?? Number(process.env.BENCH_ROUND_MS ?? 1000);
  await loop(c.carebase, c.concurrency, 300);
  await loop(c.raw, c.concurrency, 300);
  const idle = serverCpu() === undefined ? undefined : 0;
  const carebaseCpu: CpuTally = { clientUs: 0, serverUs: idle, ops: 0 };
  const rawCpu: CpuTally = { clientUs: 0, serverUs: idle, ops: 0 };
  let carebaseOps = 0;
  let rawOps = 0;
  for (let round = 0; round < rounds; round++) {
    // Alternate which side goes first, too.
    if (round % 2 === 0) {
      carebaseOps += await tallied(carebaseCpu, c.carebase, c.concurrency, roundMs);
      rawOps += await tallied(rawCpu, c.raw, c.concurrency, roundMs);
    } else {
      rawOps += await tallied(rawCpu, c.raw, c.concurrency, roundMs);
      carebaseOps += await tallied(carebaseCpu, c.carebase, c.concurrency, roundMs);
    }
  }
  const seconds = (rounds * roundMs) / 1000;
  return record({
    name: `${c.name} (x${c.concurrency})`,
    unit: 'ops/s',
    carebase: carebaseOps / seconds,
    raw: rawOps / seconds,
    ratio: carebaseOps / rawOps,
    note: `CPU µs/op client/server: carebase ${cpuPerOp(carebaseCpu)}, raw ${cpuPerOp(rawCpu)}`,
  });
}

/**
 * Measures every side of `c` over `rounds` rounds of `roundMs` (after a warm-up of each), rotating
 * the order, and records carebase vs the first other side (the raw baseline) and vs the best of
 * all other sides.
 */
export async function compare(
  c: CompareCase,
  options: { rounds?: number; roundMs?: number } = {},
): Promise<BenchRow> {
  const rounds = options.rounds ?? Number(process.env.BENCH_ROUNDS ?? 6);
  const roundMs = options.roundMs ?? Number(process.env.BENCH_ROUND_MS ?? 1000);
  const left = c.settle === undefined ? undefined : await c.settle();
  const sides = Object.entries({ carebase: c.carebase, ...c.others });
  for (const [, fn] of sides) await loop(fn, c.concurrency, 300);
  const ops = new Map<string, number>(sides.map(([name]) => [name, 0]));
  const idle = serverCpu() === undefined ? undefined : 0;
  const cpu = new Map<string, CpuTally>(
    sides.map(([name]) => [name, { clientUs: 0, serverUs: idle, ops: 0 }]),
  );
  for (let round = 0; round < rounds; round++) {
    for (let i = 0; i < sides.length; i++) {
      const [name, fn] = sides[(round + i) % sides.length] as [string, () => Promise<unknown>];
      const tally = cpu.get(name) as CpuTally;
      ops.set(name, (ops.get(name) ?? 0) + (await tallied(tally, fn, c.concurrency, roundMs)));
    }
  }
  const seconds = (rounds * roundMs) / 1000;
  const rates = Object.fromEntries([...ops].map(([name, n]) => [name, n / seconds]));
  const [rawName] = Object.keys(c.others);
  const carebase = rates.carebase ?? 0;
  const raw = rates[rawName ?? ''] ?? 0;
  const [bestName, best] = Object.entries(rates)
    .filter(([name]) => name !== 'carebase')
    .sort((a, b) => b[1] - a[1])[0] ?? ['none', 0];
  const peers = Object.entries(rates)
    .filter(([name]) => name !== 'carebase' && name !== rawName)
    .map(([name, rate]) => `${name} ${fmt(rate)}`);
  return record({
    name: `${c.name} (x${c.concurrency})`,
    unit: 'ops/s',
    carebase,
    raw,
    ratio: carebase / raw,
    sides: rates,
    note: [
      `carebase/best ${(carebase / best).toFixed(2)}x (best: ${bestName})`,
      ...(peers.length > 0 ? [`peers: ${peers.join(', ')}`] : []),
      ...(left === undefined ? [] : [`left by the previous case: ${left}`]),
      // Where the time goes: on a saturated machine the ratio is the ratio of these sums.
      `CPU µs/op client/server: ${[...cpu].map(([name, tally]) => `${name} ${cpuPerOp(tally)}`).join(', ')}`,
    ].join('; '),
  });
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? (sorted[mid] ?? 0) : ((sorted[mid - 1] ?? 0) + (sorted[mid] ?? 0)) / 2;
}

/** Measures median duration of both sides over `runs` alternating runs. */
export async function duration(c: DurationCase): Promise<BenchRow> {
  const carebaseMs: number[] = [];
  const rawMs: number[] = [];
  const time = async (fn: () => Promise<unknown>, into: number[]): Promise<void> => {
    await c.beforeEach?.();
    const started = performance.now();
    await fn();
    into.push(performance.now() - started);
  };
  for (let i = 0; i < (c.warmup ?? 0); i++) {
    await c.carebase();
    await c.raw();
  }
  for (let run = 0; run < c.runs; run++) {
    if (run % 2 === 0) {
      await time(c.carebase, carebaseMs);
      await time(c.raw, rawMs);
    } else {
      await time(c.raw, rawMs);
      await time(c.carebase, carebaseMs);
    }
  }
  const carebase = median(carebaseMs);
  const raw = median(rawMs);
  return record({ name: c.name, unit: 'ms (median)', carebase, raw, ratio: raw / carebase });
}

/** Adds a row measured some other way (e.g. memory) to the report. */
export function record(row: BenchRow): BenchRow {
  rows.push(row);
  process.stdout.write(`  ${formatRow(row)}\n`);
  return row;
}

function fmt(value: number): string {
  return value >= 100 ? Math.round(value).toLocaleString('en-US') : value.toFixed(2);
}

function formatRow(row: BenchRow): string {
  return `${row.name}: carebase ${fmt(row.carebase)} ${row.unit}, raw ${fmt(row.raw)} ${row.unit}, ratio ${row.ratio.toFixed(2)}x${row.note ? ` (${row.note})` : ''}`;
}

/** Prints every row recorded so far as a Markdown table. */
export function printReport(): void {
  const header = '| benchmark | unit | carebase | raw pg | ratio (carebase vs raw) |';
  const lines = rows.map(
    (row) =>
      `| ${row.name} | ${row.unit} | ${fmt(row.carebase)} | ${fmt(row.raw)} | ${row.ratio.toFixed(2)}x${row.note ? ` ${row.note}` : ''} |`,
  );
  process.stdout.write(`\n${header}\n|---|---|---|---|---|\n${lines.join('\n')}\n`);
}

/** The server benchmarks run against: CAREBASE_BENCH_DATABASE_URL, else the local test server. */
export const benchServerUrl =
  process.env.CAREBASE_BENCH_DATABASE_URL ??
  process.env.CAREBASE_TEST_DATABASE_URL ??
  'postgres://postgres@127.0.0.1:5432/postgres';

/** Creates a scratch database for one benchmark; `drop()` removes it. */
export async function benchDatabase(): Promise<{ url: string; drop(): Promise<void> }> {
  const name = `carebase_bench_${randomBytes(5).toString('hex')}`;
  const admin = new pg.Client({ connectionString: benchServerUrl });
  await admin.connect();
  await admin.query(`create database ${name}`);
  await admin.end();
  const url = new URL(benchServerUrl);
  url.pathname = `/${name}`;
  return {
    url: url.toString(),
    async drop() {
      const client = new pg.Client({ connectionString: benchServerUrl });
      await client.connect();
      await client.query(`drop database if exists ${name} with (force)`);
      await client.end();
    },
  };
}
