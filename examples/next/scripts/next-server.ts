/** Starts `next start` on the built example as a child process, and stops it again. */
import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { createServer } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { appDir, nextBin } from './next-build.ts';

/** A running `next start`. */
export interface NextServer {
  /** `http://127.0.0.1:<port>` */
  readonly url: string;
  readonly child: ChildProcess;
  /** What the server printed so far (for a failing test's message). */
  output(): string;
  /** SIGTERM (SIGKILL after 5 s) and waits for the process to exit. Idempotent. */
  stop(): Promise<void>;
}

/** A port nobody listens on right now. */
export async function freePort(): Promise<number> {
  const server = createServer();
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const address = server.address();
  server.close();
  if (address === null || typeof address === 'string') throw new Error('no port');
  return address.port;
}

/**
 * Runs `next start -p <port>` with `env` added to this process's environment and resolves once
 * /api/health answers (any status), or rejects with the server's output when it exits or does
 * not answer within `timeoutMs`.
 */
export async function startNext(
  options: {
    readonly port?: number;
    readonly env?: Record<string, string>;
    readonly timeoutMs?: number;
  } = {},
): Promise<NextServer> {
  const port = options.port ?? (await freePort());
  const url = `http://127.0.0.1:${port}`;
  const output: string[] = [];
  const child = spawn(process.execPath, [nextBin, 'start', '-H', '127.0.0.1', '-p', String(port), appDir], {
    env: { ...process.env, NEXT_TELEMETRY_DISABLED: '1', NODE_ENV: 'production', ...options.env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  for (const stream of [child.stdout, child.stderr]) {
    stream.setEncoding('utf8');
    stream.on('data', (chunk: string) => output.push(chunk));
  }
  const exited = once(child, 'exit');
  let stopping: Promise<void> | undefined;
  const server: NextServer = {
    url,
    child,
    output: () => output.join(''),
    stop() {
      stopping ??= (async () => {
        if (child.exitCode !== null || child.signalCode !== null) return;
        child.kill('SIGTERM');
        const timer = setTimeout(() => child.kill('SIGKILL'), 5_000);
        await exited;
        clearTimeout(timer);
      })();
      return stopping;
    },
  };
  const deadline = Date.now() + (options.timeoutMs ?? 60_000);
  while (Date.now() < deadline) {
    if (child.exitCode !== null) break;
    try {
      await fetch(`${url}/api/health`);
      return server;
    } catch {
      await sleep(200);
    }
  }
  await server.stop();
  throw new Error(`next start did not come up on ${url}:\n${server.output()}`);
}
