/**
 * Runs the chat app: `npm run example`. Uses DATABASE_URL when set; otherwise a throwaway
 * PostgreSQL from carebase/testing, removed on exit. Prints the URL and the demo accounts'
 * one-time passwords; Ctrl-C (SIGINT) or SIGTERM shuts everything down and exits 0.
 *
 * Environment: DATABASE_URL, PORT (default 3000; 0 picks a free port), HOST (default 127.0.0.1),
 * COOKIE_SECURE=1 when served over HTTPS.
 */
import type { AddressInfo } from 'node:net';
import { createCarebase } from 'carebase';
import { createTestDatabase, startPostgres } from 'carebase/testing';
import { CHAT_APP_ANALYTICS, CHAT_APP_USERS, createChatApp } from './app.ts';
import { seedDemo } from './seed.ts';

const port = Number(process.env.PORT ?? '3000');
if (!Number.isInteger(port) || port < 0 || port > 65_535) {
  console.error('chat-app: PORT must be an integer from 0 to 65535');
  process.exit(2);
}
const host = process.env.HOST ?? '127.0.0.1';

const pg = process.env.DATABASE_URL === undefined ? await startPostgres() : undefined;
const scratch =
  pg === undefined ? undefined : await createTestDatabase({ serverUrl: pg.url, migrate: false });
const cb = createCarebase({
  connectionString: process.env.DATABASE_URL ?? scratch?.url ?? '',
  analytics: CHAT_APP_ANALYTICS,
  users: CHAT_APP_USERS,
});

let stopping: Promise<void> | undefined;
/** Closes the server, then carebase, then the throwaway database and server. */
function stop(): Promise<void> {
  stopping ??= (async () => {
    await new Promise<void>((resolve) => {
      server.close(() => resolve());
      server.closeAllConnections();
    });
    await cb.close();
    await scratch?.drop();
    await pg?.stop();
  })();
  return stopping;
}

const server = createChatApp(cb, { secureCookies: process.env.COOKIE_SECURE === '1' });
try {
  await cb.migrate();
  const accounts = await seedDemo(cb);
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => resolve());
  });
  const address = server.address() as AddressInfo;
  const shownHost = address.family === 'IPv6' ? `[${address.address}]` : address.address;
  console.log('carebase chat app');
  console.log(
    `  database: ${scratch === undefined ? 'DATABASE_URL' : 'a throwaway PostgreSQL database, removed on exit'}`,
  );
  for (const account of accounts) {
    const note = account.created ? '' : ' (existed; password reset)';
    console.log(`  ${account.username} (${account.role}) one-time password: ${account.password}${note}`);
  }
  console.log(`listening on http://${shownHost}:${address.port}/  (Ctrl-C to stop)`);
} catch (error) {
  await stop();
  throw error;
}

for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => {
    console.log(`\n${signal}: shutting down`);
    stop().then(
      () => process.exit(0),
      (error: unknown) => {
        console.error(`chat-app: shutdown failed (${error instanceof Error ? error.name : 'error'})`);
        process.exit(1);
      },
    );
  });
}
