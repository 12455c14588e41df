import { randomBytes } from 'node:crypto';
import { createTestDatabase, type TestDatabase } from 'carebase/testing';
import * as OTPAuth from 'otpauth';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { carebaseOn, newAccount } from '../support/users.js';

let database: TestDatabase;

beforeAll(async () => {
  database = await createTestDatabase();
});

afterAll(async () => {
  await database?.drop();
});

describe('secrets at rest', () => {
  it('stores no token or password in clear in any text, bytea or jsonb column of any table', async () => {
    const { cb, clock } = carebaseOn(database, { users: { mfa: { encryptionKey: randomBytes(32) } } });
    const account = newAccount();
    const secrets: string[] = [account.password];
    const rawSecrets: Buffer[] = [];
    try {
      const user = await cb.users.create(account);
      const login = await cb.users.authenticate({
        login: account.email,
        password: account.password,
        ip: '192.0.2.1',
      });
      expect(login.ok).toBe(true);
      await cb.users.authenticate({
        login: account.username,
        password: `${account.password}!`,
        ip: '192.0.2.1',
      });
      const { token } = await cb.sessions.create({ userId: user.id, ip: '192.0.2.1', userAgent: 'scan/1' });
      expect(await cb.sessions.validate(token)).toBeDefined();
      const second = await cb.sessions.create({ userId: user.id });
      await cb.sessions.revoke(second.token, 'logout');
      const newPassword = 'a brand new passphrase 42';
      await cb.users.changePassword(user.id, { currentPassword: account.password, newPassword });
      await cb.users.exportData(user.id);
      secrets.push(token, second.token, newPassword, `${account.password}!`);
      // Recovery tokens, verification tokens, TOTP secrets, backup codes and MFA challenges.
      const reset = await cb.users.passwordReset.request({ login: account.email });
      if ('token' in reset) secrets.push(reset.token);
      const verification = await cb.users.emailVerification.request(user.id);
      if (!('token' in verification)) throw new Error('rate limited');
      const { secret, uri } = await cb.users.mfa.beginTotpEnrollment(user.id);
      const code = (OTPAuth.URI.parse(uri) as OTPAuth.TOTP).generate({ timestamp: clock.now().getTime() });
      const confirmed = await cb.users.mfa.confirmTotpEnrollment(user.id, code);
      if (!confirmed.ok) throw new Error('enrolment not confirmed');
      const challenged = await cb.users.authenticate({ login: account.email, password: newPassword });
      if (challenged.ok || challenged.reason !== 'mfa_required') throw new Error('expected mfa_required');
      secrets.push(verification.token, secret, challenged.challenge, ...confirmed.backupCodes);
      secrets.push(...confirmed.backupCodes.map((backup) => backup.replaceAll('-', '')));
      rawSecrets.push(Buffer.from(OTPAuth.Secret.fromBase32(secret).bytes));
    } finally {
      await cb.close();
    }
    const client = new pg.Client({ connectionString: database.url });
    await client.connect();
    try {
      const columns = await client.query<{
        table_schema: string;
        table_name: string;
        column_name: string;
        data_type: string;
      }>(
        `select c.table_schema, c.table_name, c.column_name, c.data_type
           from information_schema.columns c
           join information_schema.tables t using (table_schema, table_name)
          where c.table_schema = 'carebase' and t.table_type = 'BASE TABLE'
            and c.data_type in ('text', 'character varying', 'bytea', 'jsonb', 'json')`,
      );
      expect(columns.rows.length).toBeGreaterThan(10);
      const scanned = new Set<string>();
      for (const column of columns.rows) {
        const ident = `"${column.table_schema}"."${column.table_name}"`;
        const name = `"${column.column_name}"`;
        for (const secret of secrets) {
          // Text forms: the secret itself; bytea: its UTF-8 bytes and (for tokens) the raw 32 bytes.
          const probes: Buffer[] = [Buffer.from(secret, 'utf8')];
          if (/^[A-Za-z0-9_-]{43}$/.test(secret)) probes.push(Buffer.from(secret, 'base64url'));
          if (secret === secrets[0]) probes.push(...rawSecrets);
          for (const probe of probes) {
            const sql =
              column.data_type === 'bytea'
                ? `select count(*)::int as n from ${ident} where position($1::bytea in ${name}) > 0`
                : `select count(*)::int as n from ${ident} where position(convert_from($1::bytea, 'UTF8') in ${name}::text) > 0`;
            if (column.data_type !== 'bytea' && probe !== probes[0]) continue;
            const { rows } = await client.query<{ n: number }>(sql, [probe]);
            expect(rows[0]?.n, `${column.table_name}.${column.column_name}`).toBe(0);
          }
        }
        scanned.add(`${column.table_name}.${column.column_name}`);
      }
      expect(scanned).toContain('sessions.token_hash');
      expect(scanned).toContain('users.password_hash');
      expect(scanned).toContain('audit_log.metadata');
      // Positive control: the same probe finds a value that is stored (the email).
      const { rows } = await client.query<{ n: number }>(
        `select count(*)::int as n from carebase.users where position(convert_from($1::bytea, 'UTF8') in email::text) > 0`,
        [Buffer.from(account.email, 'utf8')],
      );
      expect(rows[0]?.n).toBe(1);
    } finally {
      await client.end();
    }
  });
});
