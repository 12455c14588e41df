import { randomBytes } from 'node:crypto';
import { createCarebase, localKeyring } from 'carebase';
import { createTestDatabase } from 'carebase/testing';
const keyring = localKeyring({ keys: { k: randomBytes(32) } });
const db = await createTestDatabase({});
const plain = db.db;
const sealed = createCarebase({ connectionString: db.url, schema: plain.config.schema, encryption: { keyring } });
const ids = [];
for (const [name, cb] of [['p', plain], ['s', sealed]] as const) {
  const u = await plain.db.insertInto('users').values({ username: name, email: name + '@x.org', password_hash: 'x', role: 'nurse' }).returning('id').executeTakeFirstOrThrow();
  const c = await cb.chat.createConversation({ userId: u.id });
  await cb.chat.appendMany(Array.from({ length: 200 }, (_, i) => ({ userId: u.id, conversationId: c.id, role: 'user' as const, content: 'x'.repeat(400) + i, metadata: { a: i } })));
  ids.push([cb, u.id, c.id] as const);
}
for (let r = 0; r < 4; r++) {
  for (const [cb, userId, conversationId] of ids) {
    const t = performance.now();
    for (let i = 0; i < 100; i++) await cb.chat.history({ userId, conversationId, limit: 50 });
    console.log(cb === plain ? 'plain' : 'sealed', 'history ms/op', ((performance.now() - t) / 100).toFixed(2));
  }
}
await sealed.close();
await db.drop();
