import { existsSync } from 'node:fs';
import { request } from 'node:http';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { ConnectionError } from '../errors/errors.js';

/**
 * Options of the container provider.
 *
 * @example
 * ```ts
 * import { type ContainerOptions, startPostgres } from 'carebase/testing';
 * // Test against the major version production runs; give a slow CI Docker engine more time.
 * const container: ContainerOptions = { image: 'postgres:15-alpine', pingTimeoutMs: 3_000 };
 * await using server = await startPostgres({ provider: 'container', container });
 * ```
 */
export interface ContainerOptions {
  /** The image to run. @default 'postgres:17-alpine' */
  readonly image?: string;
  /** How long the Docker engine may take to answer a ping before the provider is skipped. @default 1000 */
  readonly pingTimeoutMs?: number;
}

/** A running container. */
export interface ContainerServer {
  readonly url: string;
  stop(): Promise<void>;
}

/** The slice of `@testcontainers/postgresql` used here (loaded only when this provider is tried). */
interface StartedPostgreSqlContainer {
  getConnectionUri(): string;
  stop(): Promise<unknown>;
}
interface PostgreSqlContainerModule {
  PostgreSqlContainer: new (
    image: string,
  ) => {
    withCommand(command: string[]): { start(): Promise<StartedPostgreSqlContainer> };
  };
}

/** Where the Docker engine listens: `DOCKER_HOST`, else the usual Unix sockets. */
export function dockerEndpoint(
  env: NodeJS.ProcessEnv = process.env,
): { socketPath: string } | { host: string; port: number } | undefined {
  const configured = env.DOCKER_HOST;
  if (configured !== undefined && configured !== '') {
    if (configured.startsWith('unix://')) return { socketPath: configured.slice('unix://'.length) };
    if (configured.startsWith('tcp://')) {
      const url = new URL(configured.replace(/^tcp:/, 'http:'));
      return { host: url.hostname, port: Number(url.port || 2375) };
    }
    return undefined;
  }
  const runtime = env.XDG_RUNTIME_DIR ?? `/run/user/${process.getuid?.() ?? 0}`;
  const candidates = [
    '/var/run/docker.sock',
    join(runtime, 'docker.sock'),
    join(homedir(), '.docker/run/docker.sock'),
    join(homedir(), '.colima/default/docker.sock'),
    join(runtime, 'podman/podman.sock'),
  ];
  const found = candidates.find((path) => existsSync(path));
  return found === undefined ? undefined : { socketPath: found };
}

/**
 * Asks the Docker engine for `/_ping` and resolves `undefined` when it answers within
 * `timeoutMs`, else the reason it is considered unavailable. Never throws.
 *
 * @example
 * ```ts
 * import { dockerUnavailableReason } from 'carebase/testing';
 * const reason = await dockerUnavailableReason();
 * if (reason !== undefined) console.warn(`no containers: ${reason}`);
 * ```
 */
export async function dockerUnavailableReason(timeoutMs = 1000): Promise<string | undefined> {
  const endpoint = dockerEndpoint();
  if (endpoint === undefined)
    return 'no Docker engine socket (DOCKER_HOST is unset and /var/run/docker.sock and the user sockets are missing)';
  return new Promise((resolve) => {
    const req = request({ ...endpoint, path: '/_ping', method: 'GET', timeout: timeoutMs }, (res) => {
      res.resume();
      resolve(
        res.statusCode === 200 ? undefined : `the Docker engine answered /_ping with HTTP ${res.statusCode}`,
      );
    });
    req.on('timeout', () => {
      req.destroy();
      resolve(`the Docker engine did not answer within ${timeoutMs} ms`);
    });
    req.on('error', (error: NodeJS.ErrnoException) =>
      resolve(`the Docker engine is unreachable (${error.code ?? 'error'})`),
    );
    req.end();
  });
}

/**
 * Starts PostgreSQL in a container through `@testcontainers/postgresql` (an optional peer
 * dependency, loaded only here), with the same fast, non-durable settings as the local provider.
 *
 * Throws `ConnectionError` when no Docker engine answers, the package is not installed, or the
 * container fails to start.
 *
 * @example
 * ```ts
 * const server = await startContainer({ image: 'postgres:16-alpine' });
 * await server.stop();
 * ```
 */
export async function startContainer(options: ContainerOptions = {}): Promise<ContainerServer> {
  const reason = await dockerUnavailableReason(options.pingTimeoutMs ?? 1000);
  if (reason !== undefined) throw new ConnectionError(reason);
  let module: PostgreSqlContainerModule;
  try {
    const specifier: string = '@testcontainers/postgresql';
    module = (await import(specifier)) as PostgreSqlContainerModule;
  } catch (error) {
    throw new ConnectionError('the optional package @testcontainers/postgresql is not installed', {
      cause: error,
    });
  }
  try {
    const container = await new module.PostgreSqlContainer(options.image ?? 'postgres:17-alpine')
      .withCommand([
        'postgres',
        '-c',
        'fsync=off',
        '-c',
        'synchronous_commit=off',
        '-c',
        'full_page_writes=off',
        '-c',
        'max_connections=300',
        '-c',
        'carebase.throwaway=on',
      ])
      .start();
    let stopping: Promise<void> | undefined;
    return {
      url: container.getConnectionUri(),
      stop() {
        stopping ??= container.stop().then(() => undefined);
        return stopping;
      },
    };
  } catch (error) {
    throw new ConnectionError('the PostgreSQL container did not start', { cause: error });
  }
}
