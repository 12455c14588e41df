import { sql } from 'kysely';
import { ValidationError } from '../../errors/errors.js';
import {
  HashFormatError,
  type ImportedHash,
  LEGACY_HASH_PATTERNS,
  type LegacyHashScheme,
  storedFormOf,
} from '../../security/password-hashes/imported-hash.js';
import type { RepositoryContext } from '../context.js';

/**
 * The stored form of an imported hash, or a `ValidationError` at `path` (+ `hash`) saying what is
 * wrong with it, never quoting it.
 */
export function importedHashOrThrow(input: ImportedHash, path: readonly (string | number)[]): string {
  try {
    return storedFormOf(input);
  } catch (error) {
    if (!(error instanceof HashFormatError)) throw error;
    const where = [...path, 'hash'];
    throw new ValidationError(`invalid ${where.join('.')}: ${error.message}`, [
      { path: where, message: error.message, code: 'invalid_hash' },
    ]);
  }
}

/**
 * How many accounts still hold a legacy (non-bcrypt) password hash, by scheme.
 *
 * @example
 * ```ts
 * import type { LegacyPasswordHashCount } from 'carebase';
 * const remaining: LegacyPasswordHashCount = await cb.users.legacyPasswordHashes();
 * if (remaining.total > 0) console.log(`${remaining.total} accounts have not logged in since the import`);
 * ```
 */
export interface LegacyPasswordHashCount {
  readonly total: number;
  readonly byScheme: Readonly<Record<LegacyHashScheme, number>>;
}

/** Counts the legacy hashes (one scan of `users`, which holds accounts, not events). */
export async function countLegacyHashes(ctx: RepositoryContext): Promise<LegacyPasswordHashCount> {
  const counts = Object.entries(LEGACY_HASH_PATTERNS).map(([scheme, patterns]) =>
    sql<string>`count(*) filter (where ${sql.join(
      patterns.map((pattern) => sql`password_hash like ${pattern}`),
      sql` or `,
    )})`.as(scheme),
  );
  const row = (await ctx.db.selectFrom('users').select(counts).executeTakeFirst()) as
    | Record<string, string>
    | undefined;
  const byScheme = {
    sha256: Number(row?.sha256 ?? 0),
    pbkdf2: Number(row?.pbkdf2 ?? 0),
    argon2: Number(row?.argon2 ?? 0),
  };
  return { total: byScheme.sha256 + byScheme.pbkdf2 + byScheme.argon2, byScheme };
}
