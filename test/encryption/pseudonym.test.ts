import { createHash, randomBytes } from 'node:crypto';
import { inspect } from 'node:util';
import {
  type Carebase,
  configFromEnv,
  createCarebase,
  InvalidConfigurationError,
  PSEUDONYM_PREFIX,
  ValidationError,
} from 'carebase';
import { createTestDatabase, type TestDatabase } from 'carebase/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const KEY = randomBytes(32);
let database: TestDatabase;
let cb: Carebase;
const others: Carebase[] = [];

function withKey(key: unknown): Carebase {
  const made = createCarebase({
    connectionString: 'postgres://x@127.0.0.1:1/none',
    pseudonyms: { key } as never,
  });
  others.push(made);
  return made;
}

function thrown(fn: () => unknown): unknown {
  try {
    fn();
  } catch (error) {
    return error;
  }
  throw new Error('expected a throw');
}

beforeAll(async () => {
  database = await createTestDatabase({ carebase: { pseudonyms: { key: KEY.toString('base64') } } });
  cb = database.db;
});

afterAll(async () => {
  for (const other of others) await other.close();
  await database?.drop();
});

describe('cb.pseudonym', () => {
  it('is an HMAC-SHA256 with the key, in the documented format, stable across instances', () => {
    const value = cb.pseudonym('MRN-0042-7731', { purpose: 'audit.subject' });
    expect(value).toMatch(/^ps1_[A-Za-z0-9_-]{43}$/);
    expect(value.startsWith(PSEUDONYM_PREFIX)).toBe(true);
    expect(cb.pseudonym('MRN-0042-7731', { purpose: 'audit.subject' })).toBe(value);
    expect(withKey(KEY).pseudonym('MRN-0042-7731', { purpose: 'audit.subject' })).toBe(value);
    expect(withKey(new Uint8Array(KEY)).pseudonym('MRN-0042-7731', { purpose: 'audit.subject' })).toBe(value);
  });

  it('separates purposes and keys, and is not the plain SHA-256 an enumeration would find', () => {
    const a = cb.pseudonym('MRN-0042-7731', { purpose: 'audit.subject' });
    expect(cb.pseudonym('MRN-0042-7731', { purpose: 'analytics' })).not.toBe(a);
    // Purposes of the same length differ too.
    expect(cb.pseudonym('MRN-0042-7731', { purpose: 'audit' })).not.toBe(
      cb.pseudonym('MRN-0042-7731', { purpose: 'stats' }),
    );
    expect(cb.pseudonym('MRN-0042-7732', { purpose: 'audit.subject' })).not.toBe(a);
    expect(withKey(randomBytes(32)).pseudonym('MRN-0042-7731', { purpose: 'audit.subject' })).not.toBe(a);
    // The length-prefixed purpose: ("ab", "c") and ("a", "bc") differ.
    expect(cb.pseudonym('c', { purpose: 'ab' })).not.toBe(cb.pseudonym('bc', { purpose: 'a' }));
    const plain = createHash('sha256').update('MRN-0042-7731').digest('base64url');
    expect(a.slice(PSEUDONYM_PREFIX.length)).not.toBe(plain);
  });

  it('refuses bad input with a ValidationError naming the field', () => {
    const cases: [unknown, unknown, string][] = [
      ['', 'audit', 'value'],
      ['x'.repeat(4097), 'audit', 'value'],
      ['\uD800', 'audit', 'value'],
      [42, 'audit', 'value'],
      ['ok', '', 'purpose'],
      ['ok', 'Audit Subject', 'purpose'],
      ['ok', undefined, 'purpose'],
    ];
    for (const [value, purpose, field] of cases) {
      const error = thrown(() => cb.pseudonym(value as string, { purpose: purpose as string }));
      expect(error, `${String(value).slice(0, 10)} / ${String(purpose)}`).toBeInstanceOf(ValidationError);
      expect((error as ValidationError).field).toBe(field);
    }
  });

  it('without a key: InvalidConfigurationError naming pseudonyms.key; a short key is refused at creation', () => {
    const none = createCarebase({ connectionString: 'postgres://x@127.0.0.1:1/none' });
    others.push(none);
    const error = thrown(() => none.pseudonym('x', { purpose: 'audit' }));
    expect(error).toBeInstanceOf(InvalidConfigurationError);
    expect((error as InvalidConfigurationError).field).toBe('pseudonyms.key');
    const short = thrown(() => withKey(randomBytes(16)));
    expect(short).toBeInstanceOf(InvalidConfigurationError);
    expect((short as InvalidConfigurationError).field).toBe('pseudonyms.key');
  });

  it('reads CAREBASE_PSEUDONYM_KEY through configFromEnv, and never shows the key', () => {
    const options = configFromEnv({
      DATABASE_URL: 'postgres://x@127.0.0.1:1/none',
      CAREBASE_PSEUDONYM_KEY: KEY.toString('base64'),
    });
    const fromEnv = createCarebase(options);
    others.push(fromEnv);
    expect(fromEnv.pseudonym('MRN-1', { purpose: 'audit' })).toBe(
      cb.pseudonym('MRN-1', { purpose: 'audit' }),
    );
    const printed = `${inspect(fromEnv.config, { depth: 10, showHidden: true })} ${JSON.stringify(fromEnv.config)} ${inspect(options, { depth: 10 })}`;
    expect(printed).not.toContain(KEY.toString('base64'));
    expect(printed).not.toContain(KEY.toString('hex'));
  });

  it('is usable as an audit subjectId', async () => {
    const subjectId = cb.pseudonym('MEMBER-991', { purpose: 'audit.subject' });
    await cb.audit.log({ action: 'hedis.measure_read', resourceType: 'member', subjectId });
    const page = await cb.audit.query({ action: 'hedis.measure_read' });
    expect(page.items.map((entry) => entry.subjectId)).toContain(subjectId);
  });
});
