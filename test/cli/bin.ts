import { spawn } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The built bin, run as `npx carebase` would. Tests skip when dist/ is missing. */
export const cli = join(fileURLToPath(new URL('../..', import.meta.url)), 'dist', 'cli.js');
export const built = existsSync(cli);

export interface Run {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
  readonly stdout: string;
  readonly stderr: string;
  /** Every command line seen in the process tree while it ran (with `watchCmdline`). */
  readonly cmdlines: readonly string[];
}

export interface RunOptions {
  /** The whole environment (nothing inherited but PATH, HOME and the Node/locale basics). */
  readonly env?: Record<string, string | undefined>;
  readonly cwd?: string;
  /** Close our end of stdout at once: the CLI then writes into a closed pipe (EPIPE). */
  readonly closeStdout?: boolean;
  /** Sample /proc/<pid>/cmdline of the CLI and all its descendants while it runs. */
  readonly watchCmdline?: boolean;
}

/** The inherited basics of a child environment: no DATABASE_URL, DB_*, PG* or CAREBASE_*. */
export function baseEnv(): Record<string, string> {
  const keep = ['PATH', 'HOME', 'LANG', 'TMPDIR', 'PG_BIN_DIR', 'USER'];
  return Object.fromEntries(
    keep.flatMap((key) => (process.env[key] === undefined ? [] : [[key, process.env[key] as string]])),
  );
}

function descendants(root: number): number[] {
  const children = new Map<number, number[]>();
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      children.set(ppid, [...(children.get(ppid) ?? []), Number(entry)]);
    } catch {
      // The process ended meanwhile.
    }
  }
  const found: number[] = [root];
  for (let i = 0; i < found.length; i++) found.push(...(children.get(found[i] ?? -1) ?? []));
  return found;
}

/** Runs `carebase ...args` and collects what it printed. */
export function carebase(args: readonly string[], options: RunOptions = {}): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [cli, ...args], {
      cwd: options.cwd ?? process.cwd(),
      env: options.env ?? baseEnv(),
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    const cmdlines = new Set<string>();
    if (options.closeStdout === true) child.stdout.destroy();
    else child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    let timer: NodeJS.Timeout | undefined;
    if (options.watchCmdline === true && child.pid !== undefined) {
      const pid = child.pid;
      const sample = (): void => {
        for (const each of descendants(pid)) {
          try {
            cmdlines.add(readFileSync(`/proc/${each}/cmdline`, 'utf8').replaceAll('\0', ' '));
          } catch {
            // Gone already.
          }
        }
      };
      sample();
      timer = setInterval(sample, 3);
    }
    child.on('error', reject);
    child.on('close', (code, signal) => {
      if (timer !== undefined) clearInterval(timer);
      resolve({ code, signal, stdout, stderr, cmdlines: [...cmdlines] });
    });
  });
}

/** Runs `work` over `items`, `width` at a time (each spawn starts a Node process; the machine is shared). */
export async function inBatches<T, R>(
  items: readonly T[],
  width: number,
  work: (item: T) => Promise<R>,
): Promise<R[]> {
  const results: R[] = [];
  for (let i = 0; i < items.length; i += width)
    results.push(...(await Promise.all(items.slice(i, i + width).map(work))));
  return results;
}
