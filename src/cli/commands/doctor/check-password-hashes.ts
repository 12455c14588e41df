import { LEGACY_HASH_PATTERNS } from '../../../security/password-hashes/imported-hash.js';
import { quoteIdentifier } from '../../../sql/identifier.js';
import type { CheckResult, DoctorContext } from './doctor-check.js';

/**
 * Imported legacy password hashes (SHA-256, PBKDF2, argon2) still waiting for their account's next
 * login, which replaces each with bcrypt: informational, like `cb.users.legacyPasswordHashes()`.
 */
export async function checkPasswordHashes(context: DoctorContext): Promise<CheckResult> {
  const schema = context.config.schema;
  const { rows: present } = await context.pool.query<{ found: boolean }>(
    'select to_regclass($1) is not null as found',
    [`${quoteIdentifier(schema)}.users`],
  );
  if (present[0]?.found !== true) {
    return { id: 'password-hashes', status: 'info', summary: 'no users table yet (run migrations)' };
  }
  const params: string[] = [];
  const columns = Object.entries(LEGACY_HASH_PATTERNS).map(([scheme, patterns]) => {
    const conditions = patterns.map((pattern) => {
      params.push(pattern);
      return `password_hash like $${params.length}`;
    });
    return `count(*) filter (where ${conditions.join(' or ')})::int as ${scheme}`;
  });
  const { rows } = await context.pool.query<Record<string, number>>(
    `select ${columns.join(', ')} from ${quoteIdentifier(schema)}.users`,
    params,
  );
  const counts = Object.keys(LEGACY_HASH_PATTERNS).map((scheme) => [scheme, rows[0]?.[scheme] ?? 0] as const);
  const total = counts.reduce((sum, [, count]) => sum + count, 0);
  if (total === 0) return { id: 'password-hashes', status: 'ok', summary: 'every password hash is bcrypt' };
  return {
    id: 'password-hashes',
    status: 'info',
    summary: `${total} imported legacy password hash${total === 1 ? '' : 'es'} left (${counts
      .filter(([, count]) => count > 0)
      .map(([scheme, count]) => `${scheme} ${count}`)
      .join(', ')}); each becomes bcrypt at its account's next login`,
  };
}
