import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createTestDatabase, type TestDatabase } from 'carebase/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

// `@opentelemetry/api` is an optional peer dependency, loaded lazily: the built package (ESM and
// CJS) works in a host without it (onQuery still reports), and in a host with it, spans reach the
// tracer provider the host registered globally, whichever module format either side uses.
const root = fileURLToPath(new URL('../..', import.meta.url));
const built = existsSync(`${root}/dist/index.js`) && existsSync(`${root}/dist/index.cjs`);

let database: TestDatabase;
let dir: string;
let blocker: string;

beforeAll(async () => {
  database = await createTestDatabase();
  dir = mkdtempSync(join(tmpdir(), 'carebase-otel-'));
  blocker = join(dir, 'block-otel.mjs');
  // A host without the package: resolving any @opentelemetry/* fails, for import and require.
  writeFileSync(
    blocker,
    `import { registerHooks } from 'node:module';
     registerHooks({
       resolve(specifier, context, next) {
         if (specifier.startsWith('@opentelemetry/')) {
           const error = new Error('Cannot find module ' + specifier);
           error.code = 'MODULE_NOT_FOUND';
           throw error;
         }
         return next(specifier, context);
       },
     });`,
  );
});

afterAll(async () => {
  await database?.drop();
  if (dir !== undefined) rmSync(dir, { recursive: true, force: true });
});

function run(args: string[], source: string): Record<string, unknown> {
  const output = execFileSync(process.execPath, [...args, source], {
    cwd: root,
    env: { ...process.env, TEST_URL: database.url },
    encoding: 'utf8',
  });
  return JSON.parse(output.trim().split('\n').at(-1) ?? '{}') as Record<string, unknown>;
}

const WITHOUT_OTEL = `
  let otel = 'absent';
  try { await import('@opentelemetry/api'); otel = 'present'; } catch {}
  const events = [];
  const cb = createCarebase({ connectionString: process.env.TEST_URL, onQuery: (event) => events.push(event) });
  const found = await cb.users.findByEmail('nobody@example.org');
  await cb.close();
  console.log(JSON.stringify({ otel, found: found ?? null, events: events.map((e) => [e.carebaseOperation, e.operation]) }));
`;

const WITH_OTEL = `
  const exporter = new InMemorySpanExporter();
  trace.setGlobalTracerProvider(new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)] }));
  const cb = createCarebase({ connectionString: process.env.TEST_URL });
  await cb.users.findByEmail('nobody@example.org');
  await cb.close();
  console.log(JSON.stringify({ spans: exporter.getFinishedSpans().map((span) => span.name) }));
`;

describe.skipIf(!built)(
  '@opentelemetry/api is optional (skipped when dist/ is missing: run `npm run build`)',
  () => {
    it('ESM without it: works, onQuery reports', () => {
      const result = run(
        ['--import', blocker, '--input-type=module', '-e'],
        `import { createCarebase } from 'carebase'; ${WITHOUT_OTEL}`,
      );
      expect(result).toEqual({ otel: 'absent', found: null, events: [['users.findByEmail', 'SELECT']] });
    });

    it('CJS without it: works, onQuery reports', () => {
      const result = run(
        ['--import', blocker, '--input-type=commonjs', '-e'],
        `const { createCarebase } = require('carebase');
       (async () => { ${WITHOUT_OTEL} })().catch((error) => { console.error(error); process.exit(1); });`,
      );
      expect(result).toEqual({ otel: 'absent', found: null, events: [['users.findByEmail', 'SELECT']] });
    });

    it('ESM host with it: spans reach the globally registered provider', () => {
      const result = run(
        ['--input-type=module', '-e'],
        `import { trace } from '@opentelemetry/api';
       import { BasicTracerProvider, InMemorySpanExporter, SimpleSpanProcessor } from '@opentelemetry/sdk-trace-base';
       import { createCarebase } from 'carebase';
       ${WITH_OTEL}`,
      );
      expect(result).toEqual({ spans: ['SELECT carebase.users', 'carebase users.findByEmail'] });
    });

    it('CJS host with it: spans reach the globally registered provider', () => {
      const result = run(
        ['--input-type=commonjs', '-e'],
        `const { trace } = require('@opentelemetry/api');
       const { BasicTracerProvider, InMemorySpanExporter, SimpleSpanProcessor } = require('@opentelemetry/sdk-trace-base');
       const { createCarebase } = require('carebase');
       (async () => { ${WITH_OTEL} })().catch((error) => { console.error(error); process.exit(1); });`,
      );
      expect(result).toEqual({ spans: ['SELECT carebase.users', 'carebase users.findByEmail'] });
    });
  },
);
