import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import type { LedgerEntry } from './load-child.js';

const root = fileURLToPath(new URL('../..', import.meta.url));
const childScript = fileURLToPath(new URL('./load-child.ts', import.meta.url));

/** Phases of one load run, in milliseconds. */
export interface LoadPhases {
  readonly warmupMs: number;
  readonly beforeMs: number;
  readonly faultMs: number;
  readonly afterMs: number;
}

/** What the load child reported, plus how its process ended. */
export interface LoadReport {
  readonly exitCode: number | null;
  readonly signal: NodeJS.Signals | null;
  readonly stderr: string;
  /** False when the child printed no final report (it crashed or hung). */
  readonly finished: boolean;
  /** Milliseconds from the final report to the process exiting by itself. */
  readonly exitAfterDoneMs: number | undefined;
  readonly acknowledged: number;
  readonly successes: number;
  readonly errors: Record<string, number>;
  /** The first message seen per error label. */
  readonly samples: Record<string, string>;
  readonly untyped: readonly string[];
  readonly beforeRate: number;
  readonly afterRate: number;
  /** Completion times of successful calls during the fault window. */
  readonly successTimes: readonly number[];
  readonly ledger: readonly LedgerEntry[];
}

/**
 * Runs the load child against `url` and calls `fault(stop)` when its fault window opens; `stop`
 * resolves when the window closes. Resolves once the child has exited (or was killed after
 * `timeoutMs`).
 */
export async function runLoad(options: {
  readonly url: string;
  readonly applicationName: string;
  readonly phases: LoadPhases;
  readonly workers?: number;
  /** Each worker starts a call this often. @default 100 */
  readonly intervalMs?: number;
  readonly poolMax?: number;
  readonly fault: (windowClosed: Promise<void>) => Promise<void>;
  readonly timeoutMs?: number;
}): Promise<LoadReport> {
  const dir = mkdtempSync(join(tmpdir(), 'carebase-faults-'));
  const ledgerPath = join(dir, 'ledger.json');
  const config = {
    url: options.url,
    applicationName: options.applicationName,
    workers: options.workers ?? 8,
    intervalMs: options.intervalMs ?? 100,
    poolMax: options.poolMax ?? 10,
    ledgerPath,
    ...options.phases,
  };
  const env = { ...process.env, FAULT_LOAD: JSON.stringify(config) };
  const child = spawn(process.execPath, ['--disable-warning=ExperimentalWarning', childScript], {
    cwd: root,
    env,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stderr = '';
  child.stderr.on('data', (chunk: Buffer) => {
    stderr = (stderr + chunk.toString()).slice(-20_000);
  });
  let closeWindow!: () => void;
  const windowClosed = new Promise<void>((resolve) => {
    closeWindow = resolve;
  });
  let faultRun: Promise<void> | undefined;
  let done: Record<string, unknown> | undefined;
  let doneAt: number | undefined;
  let out = '';
  child.stdout.on('data', (chunk: Buffer) => {
    out += chunk.toString();
    for (;;) {
      const newline = out.indexOf('\n');
      if (newline < 0) break;
      const line = out.slice(0, newline);
      out = out.slice(newline + 1);
      if (!line.startsWith('{')) continue;
      const message = JSON.parse(line) as Record<string, unknown>;
      if (message.event === 'phase' && message.phase === 'fault') faultRun = options.fault(windowClosed);
      if (message.event === 'phase' && message.phase === 'after') closeWindow();
      if (message.event === 'done') {
        done = message;
        doneAt = Date.now();
      }
    }
  });
  const timeout = setTimeout(() => child.kill('SIGKILL'), options.timeoutMs ?? 60_000);
  const [exitCode, signal] = await new Promise<[number | null, NodeJS.Signals | null]>((resolve) => {
    child.once('exit', (code, killedBy) => resolve([code, killedBy]));
  });
  const exitedAt = Date.now();
  clearTimeout(timeout);
  closeWindow();
  await faultRun;
  let ledger: LedgerEntry[] = [];
  try {
    ledger = JSON.parse(readFileSync(ledgerPath, 'utf8')) as LedgerEntry[];
  } catch {
    // no ledger: the child did not finish
  }
  rmSync(dir, { recursive: true, force: true });
  return {
    exitCode,
    signal,
    stderr,
    finished: done !== undefined,
    exitAfterDoneMs: doneAt === undefined ? undefined : exitedAt - doneAt,
    acknowledged: Number(done?.acknowledged ?? 0),
    successes: Number(done?.successes ?? 0),
    errors: (done?.errors as Record<string, number> | undefined) ?? {},
    samples: (done?.samples as Record<string, string> | undefined) ?? {},
    untyped: (done?.untyped as string[] | undefined) ?? [],
    beforeRate: Number(done?.beforeRate ?? 0),
    afterRate: Number(done?.afterRate ?? 0),
    successTimes: (done?.successTimes as number[] | undefined) ?? [],
    ledger,
  };
}

/** What the database holds for the ledger's keys. */
export interface LedgerCheck {
  /** Acknowledged writes not found in the database. */
  readonly lost: number;
  /** Keys (acknowledged or not) found more than once. */
  readonly duplicates: number;
}

/**
 * Looks up every key the load could have written (acknowledged or not: a failed call's write may
 * have committed) and counts acknowledged writes that are missing and keys present twice.
 */
export async function checkLedger(url: string, ledger: readonly LedgerEntry[]): Promise<LedgerCheck> {
  const client = new pg.Client({ connectionString: url });
  client.on('error', () => {});
  await client.connect();
  try {
    const counts = async (text: string): Promise<Map<string, number>> => {
      const { rows } = await client.query<{ key: string; n: number }>(text);
      return new Map(rows.map((row) => [row.key, row.n]));
    };
    const found: Record<LedgerEntry['kind'], Map<string, number>> = {
      user: await counts(
        "select username as key, count(*)::int as n from carebase.users where username like 'u-%' group by 1",
      ),
      session: await counts(
        'select user_agent as key, count(*)::int as n from carebase.sessions where user_agent is not null group by 1',
      ),
      chat: await counts(
        'select client_id as key, count(*)::int as n from carebase.chat_messages where client_id is not null group by 1',
      ),
      audit: await counts(
        "select resource_id as key, count(*)::int as n from carebase.audit_log where action = 'fault.load' group by 1",
      ),
      event: await counts(
        "select data->>'k' as key, count(*)::int as n from carebase.analytics_events where event_type = 'load' group by 1",
      ),
    };
    let lost = 0;
    for (const entry of ledger) if ((found[entry.kind].get(entry.key) ?? 0) === 0) lost++;
    let duplicates = 0;
    for (const map of Object.values(found)) for (const n of map.values()) if (n > 1) duplicates++;
    return { lost, duplicates };
  } finally {
    await client.end();
  }
}

/** Error labels the load may legitimately see while connections die: typed, stable codes. */
export function unexpectedErrors(errors: Record<string, number>, allowed: readonly string[]): string[] {
  return Object.keys(errors).filter((label) => !allowed.some((prefix) => label.startsWith(prefix)));
}
