/**
 * `npm run example:next`: builds the example if needed and serves it with `next start`.
 *
 * Uses DATABASE_URL when set (migrating it, and creating the demo accounts if missing);
 * otherwise a throwaway PostgreSQL from carebase/testing (the test server, a container, or a
 * local cluster it starts), dropped and stopped again on Ctrl-C. PORT picks the port (default 3000).
 */
import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { createCarebase } from 'carebase';
import { createTestDatabase, startPostgres, type TestDatabase, type TestPostgres } from 'carebase/testing';
import { ensureBuilt } from './next-build.ts';
import { type NextServer, startNext } from './next-server.ts';

const DEMO_ACCOUNTS = [
  { username: 'demo-admin', email: 'admin@example.org', role: 'admin', displayName: 'Demo Admin' },
  { username: 'demo-nurse', email: 'nurse@example.org', role: 'nurse', displayName: 'Demo Nurse, RN' },
] as const;

let server: TestPostgres | undefined;
let scratch: TestDatabase | undefined;
let next: NextServer | undefined;
let stopping: Promise<never> | undefined;

/** Why a shutdown step failed, without values: the error's code or name. */
function reason(error: unknown): string {
  const code = (error as { code?: unknown } | undefined)?.code;
  return typeof code === 'string' ? code : error instanceof Error ? error.name : 'unknown error';
}

/** Stops next, drops the scratch database and stops the server it ran on, then exits. Idempotent. */
function shutdown(code: number): Promise<never> {
  stopping ??= (async () => {
    let exitCode = code;
    const step = async (what: string, fn: () => Promise<void> | undefined) => {
      try {
        await fn();
      } catch (error) {
        exitCode = 1;
        console.error(`could not ${what}: ${reason(error)}`);
      }
    };
    await step('stop next start', () => next?.stop());
    await step('drop the scratch database', () => scratch?.drop());
    await step('stop PostgreSQL', () => server?.stop());
    process.exit(exitCode);
  })();
  return stopping;
}

try {
  if (process.env.DATABASE_URL === undefined) {
    server = await startPostgres();
    scratch = await createTestDatabase({ serverUrl: server.url, migrate: false });
  }
  const databaseUrl = process.env.DATABASE_URL ?? scratch?.url ?? '';

  const cb = createCarebase({ connectionString: databaseUrl });
  try {
    const { results } = await cb.migrate();
    console.log(`migrations applied: ${results.map((result) => result.name).join(', ') || 'none pending'}`);
    for (const account of DEMO_ACCOUNTS) {
      if ((await cb.users.findByUsername(account.username)) !== undefined) continue;
      // Generated, printed once, never stored anywhere but as a bcrypt hash.
      const password = randomBytes(12).toString('base64url');
      await cb.users.create({ ...account, password });
      console.log(`created ${account.username} (${account.role}); one-time password: ${password}`);
    }
  } finally {
    await cb.close();
  }

  console.log(
    (await ensureBuilt({ log: (chunk) => process.stdout.write(chunk) })) ? 'built' : 'build is up to date',
  );
  next = await startNext({
    port: Number(process.env.PORT ?? 3000),
    env: { DATABASE_URL: databaseUrl },
  });
  next.child.stdout?.pipe(process.stdout);
  next.child.stderr?.pipe(process.stderr);
  console.log(`\ncarebase on Next.js: ${next.url}  (Ctrl-C to stop)`);

  process.once('SIGINT', () => void shutdown(0));
  process.once('SIGTERM', () => void shutdown(0));
  const [code, signal] = await once(next.child, 'exit');
  if (stopping === undefined) {
    console.error(`next start exited (${String(code ?? signal)})`);
    await shutdown(code === 0 ? 0 : 1);
  }
} catch (error) {
  console.error(error);
  await shutdown(1);
}
