import { createTestDatabase } from 'carebase/testing';
import { expect, test } from 'vitest';

test('smoke', async () => {
  await using database = await createTestDatabase({ role: 'app' });
  const cb = database.db;
  const u = await cb.users.create({ username: 'ana', email: 'ana@example.org', password: 'correct horse battery', role: 'nurse' });
  const login = await cb.users.authenticate({ login: 'ana', password: 'correct horse battery' });
  expect(login.ok).toBe(true);
  await cb.chat.append({ userId: u.id, role: 'user', content: 'hello' });
  await cb.analytics.track({ userId: u.id, eventType: 'feature', eventName: 'x' });
  await cb.analytics.refreshRollups();
  expect((await cb.audit.verify()).ok).toBe(true);
  await cb.users.erase(u.id);
});
