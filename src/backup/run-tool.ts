import { type ChildProcess, spawn } from 'node:child_process';
import { AbortError, BackupError } from '../errors/errors.js';

/** Options of {@link runTool}. */
export interface RunToolOptions {
  readonly env: NodeJS.ProcessEnv;
  readonly signal?: AbortSignal | undefined;
  /** Strings to scrub from the tool's error output before it reaches an error message. */
  readonly redact?: readonly string[];
  /** Called with the child right after it started (tests read its pid). */
  readonly onSpawn?: ((child: ChildProcess) => void) | undefined;
  /** Called with each complete line the tool writes to stderr. */
  readonly onStderrLine?: ((line: string) => void) | undefined;
  /** Collect stdout and return it. @default false (discarded) */
  readonly captureStdout?: boolean;
}

const STDERR_LIMIT = 16 * 1024;

function toolName(path: string): string {
  return path.split(/[\\/]/).pop() ?? path;
}

function scrub(text: string, redact: readonly string[]): string {
  let out = text;
  for (const secret of redact) if (secret.length > 0) out = out.replaceAll(secret, '[redacted]');
  return out;
}

/**
 * Runs a PostgreSQL tool with an argument array (never a shell) and resolves with its stdout
 * (when captured) once it exits 0. Rejects with {@link BackupError} carrying the last lines of
 * its stderr (scrubbed of `redact`), or {@link AbortError} when `signal` fires: the tool gets
 * SIGTERM, then SIGKILL after 2 s.
 */
export function runTool(path: string, args: readonly string[], options: RunToolOptions): Promise<string> {
  const { signal } = options;
  if (signal?.aborted) return Promise.reject(new AbortError({ cause: signal.reason }));
  return new Promise((resolve, reject) => {
    const child = spawn(path, [...args], {
      env: options.env,
      stdio: ['ignore', options.captureStdout === true ? 'pipe' : 'ignore', 'pipe'],
      shell: false,
      windowsHide: true,
    });
    let stderr = '';
    let partialLine = '';
    const stdout: Buffer[] = [];
    let aborted = false;
    let killTimer: NodeJS.Timeout | undefined;
    const onAbort = (): void => {
      aborted = true;
      child.kill('SIGTERM');
      killTimer = setTimeout(() => child.kill('SIGKILL'), 2_000);
      killTimer.unref();
    };
    signal?.addEventListener('abort', onAbort, { once: true });
    child.stdout?.on('data', (chunk: Buffer) => stdout.push(chunk));
    child.stderr?.setEncoding('utf8');
    child.stderr?.on('data', (chunk: string) => {
      stderr = (stderr + chunk).slice(-STDERR_LIMIT);
      if (options.onStderrLine !== undefined) {
        const lines = (partialLine + chunk).split('\n');
        partialLine = lines.pop() ?? '';
        for (const line of lines) options.onStderrLine(line);
      }
    });
    options.onSpawn?.(child);
    child.once('error', (error) => {
      signal?.removeEventListener('abort', onAbort);
      reject(new BackupError(`could not start ${toolName(path)}`, { cause: error }));
    });
    child.once('close', (code, killedBy) => {
      signal?.removeEventListener('abort', onAbort);
      if (killTimer !== undefined) clearTimeout(killTimer);
      if (aborted) return reject(new AbortError({ cause: signal?.reason }));
      if (code === 0) return resolve(Buffer.concat(stdout).toString('utf8'));
      const tail = scrub(stderr, options.redact ?? [])
        .trim()
        .split('\n')
        .slice(-5)
        .join('\n');
      const how = killedBy === null ? `exited with code ${code}` : `was killed by ${killedBy}`;
      reject(new BackupError(`${toolName(path)} ${how}${tail === '' ? '' : `:\n${tail}`}`));
    });
  });
}
