import type { Carebase } from '../carebase.js';
import {
  type CreateTestDatabaseOptions,
  createTestDatabase,
  type TestDatabase,
} from './create-test-database.js';

/**
 * The part of vitest's test context the fixtures use.
 *
 * @example
 * ```ts
 * import { createTestDatabase, type FixtureTestContext } from 'carebase/testing';
 * import { test as base } from 'vitest';
 * // A hand-written fixture with the same keep-the-database-of-a-failed-test behaviour.
 * export const test = base.extend<{ url: string }>({
 *   url: async ({ onTestFailed }: FixtureTestContext, use) => {
 *     let failed = false;
 *     onTestFailed(() => {
 *       failed = true;
 *     });
 *     const database = await createTestDatabase({ keepOnFailure: true });
 *     try {
 *       await use(database.url);
 *     } finally {
 *       await database.drop({ failed });
 *     }
 *   },
 * });
 * ```
 */
export interface FixtureTestContext {
  readonly onTestFailed: (fn: () => void) => void;
}

/**
 * Fixtures for vitest's `test.extend`: a fresh migrated database per test, and carebase on it.
 *
 * @example
 * ```ts
 * import { type CarebaseFixtures, carebaseFixtures } from 'carebase/testing';
 * import { test as base, expect } from 'vitest';
 * const fixtures: CarebaseFixtures = carebaseFixtures({ keepOnFailure: true });
 * export const test = base.extend(fixtures);
 * test('a new database has no users', async ({ carebase }) => {
 *   expect((await carebase.users.list()).items).toHaveLength(0);
 * });
 * ```
 */
export interface CarebaseFixtures {
  /** The test's database (name, URL, template); dropped after the test. */
  testDatabase: (
    context: FixtureTestContext,
    use: (database: TestDatabase) => Promise<void>,
  ) => Promise<void>;
  /** A carebase instance on the test's database. */
  carebase: (context: { testDatabase: TestDatabase }, use: (cb: Carebase) => Promise<void>) => Promise<void>;
}

/**
 * Fixtures for vitest's `test.extend`, so a test asks for `{ carebase }` and gets a carebase
 * instance on a fresh database cloned from the migrated template (tens of milliseconds), dropped
 * after the test, or kept and printed when it failed and `keepOnFailure` is set. carebase does not
 * import vitest: pass these to your own `test.extend`.
 *
 * Throws, at the first test that uses them, what {@link createTestDatabase} throws.
 *
 * Concurrency: every test gets its own database, so tests may run concurrently
 * (`test.concurrent`) and in parallel workers (forks or threads).
 *
 * @example
 * ```ts
 * import { test as base, expect } from 'vitest';
 * import { carebaseFixtures } from 'carebase/testing';
 * const it = base.extend(carebaseFixtures());
 * it('is migrated', async ({ carebase }) => {
 *   expect((await carebase.health()).pendingMigrations).toBe(0);
 * });
 * ```
 */
export function carebaseFixtures(options: CreateTestDatabaseOptions = {}): CarebaseFixtures {
  return {
    // vitest reads each fixture's first parameter, which must be an object pattern.
    testDatabase: async ({ onTestFailed }, use) => {
      let failed = false;
      onTestFailed(() => {
        failed = true;
      });
      const database = await createTestDatabase(options);
      try {
        await use(database);
      } finally {
        await database.drop({ failed });
      }
    },
    carebase: async ({ testDatabase }, use) => {
      await use(testDatabase.db);
    },
  };
}
