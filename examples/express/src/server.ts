/**
 * The runnable example: `npm run example:express`.
 *
 * Uses DATABASE_URL when set; otherwise a throwaway PostgreSQL from carebase/testing (the test
 * server, a container, or a local cluster it starts and removes on shutdown). Migrates, seeds a
 * demo admin and nurse with generated passwords printed once, and listens on PORT (default 3000;
 * 0 picks a free port) on HOST (default 127.0.0.1: a demo with seeded accounts stays local).
 */
import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import type { AddressInfo } from 'node:net';
import { type Carebase, configFromEnv, createCarebase } from 'carebase';
import { createTestDatabase, startPostgres } from 'carebase/testing';
import { createApp } from './app.ts';

const pgServer = process.env.DATABASE_URL === undefined ? await startPostgres() : undefined;
const scratch =
  pgServer === undefined
    ? undefined
    : await createTestDatabase({ serverUrl: pgServer.url, migrate: false }).catch(async (error: unknown) => {
        await pgServer.stop();
        throw error;
      });
// With DATABASE_URL, the whole carebase environment applies (DB_SSL, DB_POOL_MAX, CAREBASE_SCHEMA...).
const cb = createCarebase(scratch === undefined ? configFromEnv() : { connectionString: scratch.url });

/** Releases everything this process created, in reverse order. */
async function cleanUp(): Promise<void> {
  await cb.close();
  await scratch?.drop();
  await pgServer?.stop();
}

/**
 * Creates the demo account, or (on a database that already has it) resets its password: either
 * way the password is new, random, and printed only here. Never hard-code one.
 */
async function seed(cb: Carebase, username: string, role: string): Promise<string> {
  const password = randomBytes(12).toString('base64url');
  const existing = await cb.users.findByUsername(username);
  if (existing === undefined) {
    await cb.users.create({ username, email: `${username}@example.org`, password, role });
  } else {
    // No one sets a user's password directly (ASVS 6.4.6): the seed issues a reset token and completes it.
    const { token } = await cb.users.passwordReset.issue(existing.id, { reason: 'demo seed' });
    const reset = await cb.users.passwordReset.complete({ token, newPassword: password });
    if (!reset.ok) throw new Error(`demo password reset refused: ${reset.reason}`);
    if (existing.lockedUntil !== null) await cb.users.unlock(existing.id);
    if (existing.status !== 'active') await cb.users.reactivate(existing.id);
  }
  return password;
}

/** `TRUST_PROXY=1` (hops), `true`, or an address list such as `loopback` / `10.0.0.0/8`. */
function trustProxy(value: string | undefined): boolean | number | string {
  if (value === undefined || value === '' || value === 'false') return false;
  if (value === 'true') return true;
  return /^\d+$/.test(value) ? Number(value) : value;
}

/** Migrates, seeds, and starts listening; on any failure releases what was created and rethrows. */
async function start() {
  try {
    await cb.migrate();
    const adminPassword = await seed(cb, 'demo-admin', 'admin');
    const nursePassword = await seed(cb, 'demo-nurse', 'nurse');
    const app = createApp(cb, { trustProxy: trustProxy(process.env.TRUST_PROXY) });
    const server = app.listen(Number(process.env.PORT ?? 3000), process.env.HOST ?? '127.0.0.1');
    await once(server, 'listening'); // rejects on 'error', e.g. the port is taken
    return { server, adminPassword, nursePassword };
  } catch (error) {
    await cleanUp();
    throw error;
  }
}

const { server, adminPassword, nursePassword } = await start();
const { address, port } = server.address() as AddressInfo;
const url = `http://${address.includes(':') ? `[${address}]` : address}:${port}`;

console.log(`carebase express example listening on ${url}`);
console.log(
  scratch === undefined
    ? '  database: DATABASE_URL'
    : `  database: throwaway ${scratch.name} (dropped on exit)`,
);
console.log(`  demo-admin (admin) password, shown once: ${adminPassword}`);
console.log(`  demo-nurse (nurse) password, shown once: ${nursePassword}`);
console.log(`
Try it (the cookie jar keeps the session cookie):
  curl -s ${url}/health
  curl -s -c jar -H 'Content-Type: application/json' -d '{"login":"demo-nurse","password":"${nursePassword}"}' ${url}/auth/login
  curl -s -b jar -H 'Content-Type: application/json' -d '{"content":"How often should a patient be repositioned?"}' ${url}/chat/messages
  curl -s -b jar '${url}/chat/messages?limit=20'
  curl -s -b jar '${url}/chat/search?q=repositioned'
  curl -s -b jar -OJ '${url}/chat/export?format=csv'
  curl -s -b jar -X POST -H 'Content-Type: application/json' ${url}/auth/logout
Log in as demo-admin for /admin/audit and /admin/analytics. Ctrl-C stops and cleans up.`);

/** Stops accepting, lets requests in flight finish, then releases the database. */
async function shutdown(signal: NodeJS.Signals): Promise<void> {
  console.log(`${signal}: shutting down`);
  const closed = new Promise<void>((resolve, reject) =>
    server.close((error) => (error ? reject(error) : resolve())),
  );
  server.closeIdleConnections(); // keep-alive sockets with no request in flight
  await closed;
  await cleanUp();
}
// `once`: a second Ctrl-C falls through to Node's default and kills the process outright.
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => {
    shutdown(signal).catch((error: unknown) => {
      console.error('shutdown failed', error);
      process.exitCode = 1;
    });
  });
}
