import { type StartPostgresOptions, startPostgres } from './start-postgres.js';
import { dropTemplates } from './template.js';

/**
 * The slice of vitest's `TestProject` that {@link setupPostgres} uses.
 *
 * @example
 * ```ts
 * import { type ProvidingProject, setupPostgres } from 'carebase/testing';
 * // vitest passes its TestProject to globalSetup: the URL is also `provide`d to tests.
 * export default (project: ProvidingProject) => setupPostgres({ project });
 * ```
 */
export interface ProvidingProject {
  provide(key: string, value: unknown): void;
}

/**
 * Options of {@link setupPostgres}.
 *
 * @example
 * ```ts
 * import { type SetupPostgresOptions, setupPostgres } from 'carebase/testing';
 * import type { TestProject } from 'vitest/node';
 * // globalSetup: a throwaway local cluster, never a container.
 * export default function globalSetup(project: TestProject) {
 *   const options: SetupPostgresOptions = { project, provider: 'local', local: { startTimeoutMs: 60_000 } };
 *   return setupPostgres(options);
 * }
 * ```
 */
export interface SetupPostgresOptions extends StartPostgresOptions {
  /** vitest's project (the `globalSetup` argument): the URL is also `provide`d as `carebaseTestDatabaseUrl`. */
  readonly project?: ProvidingProject;
  /**
   * Whether the template databases `createTestDatabase()` built (`carebase_tpl_*`, and their
   * spares) stay on the server after the run, so the next run reuses them. `false`: the teardown
   * drops them, so a run leaves no database behind on a server handed over by URL (a server
   * `startPostgres()` started is removed whole anyway).
   * @default true
   */
  readonly keepTemplates?: boolean;
}

/**
 * Starts (or locates) one PostgreSQL server for a whole test run and publishes its URL as
 * `process.env.CAREBASE_TEST_DATABASE_URL`, which test workers (forks and threads alike) inherit
 * and `createTestDatabase()` reads. Returns the teardown, which stops the server it started (with
 * `keepTemplates: false`, after dropping the template databases left on the server).
 * Made for vitest's `globalSetup`; works from any runner's global hook.
 *
 * Throws the `ConnectionError` of {@link startPostgres} when no server can be had.
 *
 * Concurrency: call once per run, before workers start.
 *
 * @example
 * ```ts
 * // test/postgres.ts, listed in vitest.config.ts as test.globalSetup: ['./test/postgres.ts']
 * import { setupPostgres } from 'carebase/testing';
 * export default () => setupPostgres();
 * ```
 */
export async function setupPostgres(options: SetupPostgresOptions = {}): Promise<() => Promise<void>> {
  const previous = process.env.CAREBASE_TEST_DATABASE_URL;
  const server = await startPostgres(options);
  process.env.CAREBASE_TEST_DATABASE_URL = server.url;
  options.project?.provide('carebaseTestDatabaseUrl', server.url);
  return async () => {
    if (previous === undefined) delete process.env.CAREBASE_TEST_DATABASE_URL;
    else process.env.CAREBASE_TEST_DATABASE_URL = previous;
    if (options.keepTemplates === false) await dropTemplates(server.url).catch(() => []);
    await server.stop();
  };
}
