import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type AuditFixture, auditFixture } from '../support/audit.js';

let f: AuditFixture;
const actor = {
  userId: '5d0c3a2e-1b7f-4c9a-8e21-6f3b2a1c0d99',
  ip: '10.1.2.3',
  userAgent: 'Mozilla/5.0 test',
  requestId: 'req-attr',
};

beforeAll(async () => {
  f = await auditFixture();
});

afterAll(async () => {
  await f?.close();
});

async function usersNamed(username: string): Promise<number> {
  const rows = await f.cb.db.selectFrom('users').select('id').where('username', '=', username).execute();
  return rows.length;
}

async function entriesFor(resourceId: string) {
  return f.cb.db.selectFrom('audit_log').selectAll().where('resource_id', '=', resourceId).execute();
}

describe('cb.withActor attribution', () => {
  it('attributes entries to the scope actor, and an entry may override fields', async () => {
    const scoped = f.cb.withActor(actor);
    await scoped.audit.log({ action: 'chart.view', resourceType: 'chart', resourceId: 'attr-1' });
    await scoped.audit.log({
      action: 'chart.view',
      resourceType: 'chart',
      resourceId: 'attr-2',
      requestId: 'own',
    });
    const [first] = await entriesFor('attr-1');
    expect(first).toMatchObject({
      actor_user_id: actor.userId,
      actor_type: 'user',
      ip: actor.ip,
      user_agent: actor.userAgent,
      request_id: actor.requestId,
    });
    const [second] = await entriesFor('attr-2');
    expect(second?.request_id).toBe('own');
    expect(second?.actor_user_id).toBe(actor.userId);
  });

  it('a write through withActor inside a transaction that throws leaves neither row nor entry', async () => {
    await expect(
      f.cb.withActor(actor).transaction(async (tx) => {
        const user = await tx.db
          .insertInto('users')
          .values({ username: 'rolled-back', email: 'rb@example.org', password_hash: 'x', role: 'nurse' })
          .returning('id')
          .executeTakeFirstOrThrow();
        await tx.audit.log({ action: 'user.create', resourceType: 'user', resourceId: user.id });
        throw new Error('boom');
      }),
    ).rejects.toThrow('boom');
    expect(await usersNamed('rolled-back')).toBe(0);
    const { rows } = await f.admin(`select count(*)::int as n from audit_log where action = 'user.create'`);
    expect(rows[0]?.n).toBe(0);
    expect((await f.cb.audit.verify()).ok).toBe(true);
  });

  it('a committed write always has its attributed entry, sealed into the chain', async () => {
    const id = await f.cb.transaction(async (tx) => {
      const scoped = tx.withActor(actor);
      const user = await scoped.db
        .insertInto('users')
        .values({ username: 'committed', email: 'c@example.org', password_hash: 'x', role: 'nurse' })
        .returning('id')
        .executeTakeFirstOrThrow();
      await scoped.audit.log({ action: 'user.create', resourceType: 'user', resourceId: user.id });
      return user.id;
    });
    expect(await usersNamed('committed')).toBe(1);
    const entries = await entriesFor(id);
    expect(entries).toHaveLength(1);
    expect(entries[0]).toMatchObject({ action: 'user.create', actor_user_id: actor.userId, ip: actor.ip });
    // Written inside a transaction: sealed in the background after commit (or by verify).
    const result = await f.cb.audit.verify();
    expect(result.ok).toBe(true);
    const { rows } = await f.admin(
      'select count(*)::int as n from audit_chain c join audit_log l using (occurred_at, id) where l.resource_id = $1',
      [id],
    );
    expect(rows[0]?.n).toBe(1);
  });
});
