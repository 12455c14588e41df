import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { createTestDatabase, type TestDatabase } from 'carebase/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

// Checks the built package (dist/), loaded by name through package.json "exports", the way an
// ESM or CJS consumer loads it. `npm test` builds first.
const root = fileURLToPath(new URL('../..', import.meta.url));
const built = existsSync(`${root}/dist/index.js`) && existsSync(`${root}/dist/index.cjs`);

let database: TestDatabase;

beforeAll(async () => {
  database = await createTestDatabase({ role: 'owner' }); // migrates its own schemas
});

afterAll(async () => {
  await database?.drop();
});

function run(args: string[], source: string): Record<string, unknown> {
  const output = execFileSync(process.execPath, [...args, source], {
    cwd: root,
    env: { ...process.env, TEST_URL: database.url },
    encoding: 'utf8',
  });
  return JSON.parse(output.trim().split('\n').at(-1) ?? '{}') as Record<string, unknown>;
}

const PROBE = `
  const cb = createCarebase({ connectionString: process.env.TEST_URL, schema: SCHEMA });
  const migrated = await cb.migrate();
  const health = await cb.health();
  let closedCode;
  await cb.close();
  try { await cb.migrate(); } catch (error) { closedCode = isCarebaseError(error, 'CLOSED') ? error.code : 'wrong'; }
  console.log(JSON.stringify({
    ok: health.ok,
    version: health.serverVersion,
    applied: migrated.results.length,
    library: (await migration.carebaseMigrations.load()).length,
    closedCode,
    subpaths: [typeof migration.migrate, typeof backup, typeof testing],
  }));
`;

describe.skipIf(!built)('the built package (skipped when dist/ is missing: run `npm run build`)', () => {
  it('works through import (ESM)', () => {
    const result = run(
      ['--input-type=module', '-e'],
      `import { createCarebase, isCarebaseError } from 'carebase';
       import * as migration from 'carebase/migration';
       import * as backup from 'carebase/backup';
       import * as testing from 'carebase/testing';
       const SCHEMA = 'esm_consumer';
       ${PROBE}`,
    );
    expect(result).toMatchObject({ ok: true, closedCode: 'CLOSED' });
    expect(result.applied).toBeGreaterThan(0);
    expect(result.applied).toBe(result.library);
    expect(result.subpaths).toEqual(['function', 'object', 'object']);
  });

  it('works through require (CJS)', () => {
    const result = run(
      ['--input-type=commonjs', '-e'],
      `const { createCarebase, isCarebaseError } = require('carebase');
       const migration = require('carebase/migration');
       const backup = require('carebase/backup');
       const testing = require('carebase/testing');
       const SCHEMA = 'cjs_consumer';
       (async () => { ${PROBE} })().catch((error) => { console.error(error); process.exit(1); });`,
    );
    expect(result).toMatchObject({ ok: true, closedCode: 'CLOSED' });
    expect(result.applied).toBeGreaterThan(0);
    expect(result.applied).toBe(result.library);
    expect(result.subpaths).toEqual(['function', 'object', 'object']);
  });

  it('recognises errors across the ESM and CJS copies by brand', () => {
    const result = run(
      ['--input-type=module', '-e'],
      `import { createRequire } from 'node:module';
       import { isCarebaseError, NotFoundError } from 'carebase';
       const cjs = createRequire(process.cwd() + '/package.json')('carebase');
       const fromCjs = new cjs.NotFoundError('user');
       console.log(JSON.stringify({
         distinctClasses: cjs.NotFoundError !== NotFoundError,
         esmSeesCjs: isCarebaseError(fromCjs, 'NOT_FOUND'),
         cjsSeesEsm: cjs.isCarebaseError(new NotFoundError('user')),
       }));`,
    );
    expect(result).toEqual({ distinctClasses: true, esmSeesCjs: true, cjsSeesEsm: true });
  });
});
