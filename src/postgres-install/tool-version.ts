import { execFile } from 'node:child_process';
import { stat } from 'node:fs/promises';

/** A PostgreSQL program's version as it prints it (`15.20`) and its major version (`15`). */
export interface ToolVersion {
  readonly version: string;
  readonly major: number;
}

/** Probed versions by path, size and modification time: a replaced binary is probed again. */
const probes = new Map<string, Promise<ToolVersion | undefined>>();

/** Runs `<tool> --version` (no shell) and parses `(PostgreSQL) 15.20`. Undefined when unusable. */
function probe(path: string): Promise<ToolVersion | undefined> {
  return new Promise((resolve) => {
    execFile(
      path,
      ['--version'],
      { timeout: 10_000, env: { ...process.env, LC_ALL: 'C' } },
      (error, stdout) => {
        if (error !== null) return resolve(undefined);
        const match = /\(PostgreSQL\)\s+(\d+)(?:\.(\d+))?(?:\.(\d+))?/.exec(stdout);
        if (match === null) return resolve(undefined);
        const major = Number(match[1]);
        // Before 10, the major version was two numbers (9.6).
        const version = [match[1], match[2], match[3]].filter((part) => part !== undefined).join('.');
        resolve({ version, major: major < 10 ? major + Number(match[2] ?? 0) / 10 : major });
      },
    );
  });
}

/**
 * The version `<path> --version` prints, cached per binary (path, size, modification time).
 * `undefined` when the file is missing, does not run, or prints no PostgreSQL version. Never
 * throws; safe to call concurrently.
 */
export async function toolVersion(path: string): Promise<ToolVersion | undefined> {
  const info = await stat(path).catch(() => undefined);
  if (info === undefined) return undefined;
  const key = `${path}\0${info.size}\0${info.mtimeMs}`;
  let pending = probes.get(key);
  if (pending === undefined) {
    pending = probe(path);
    probes.set(key, pending);
  }
  return pending;
}
