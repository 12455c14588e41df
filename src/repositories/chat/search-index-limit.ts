import { sql } from 'kysely';
import { ValidationError } from '../../errors/errors.js';
import { DriverErrorSummary } from '../../errors/map-error.js';
import { runTransaction } from '../../pool/transaction.js';
import type { RepositoryContext } from '../context.js';

/**
 * Content below this many UTF-8 bytes always fits PostgreSQL's tsvector (at most 1 MiB of lexemes
 * and positions); above it, a message of many distinct words may not, and its insert would fail
 * with SQLSTATE 54000 ("string is too long for tsvector").
 */
export const SEARCH_INDEX_SAFE_BYTES = 256 * 1024;

/** True when `error` is PostgreSQL's program_limit_exceeded (54000), e.g. the tsvector limit. */
export function isProgramLimit(error: unknown): boolean {
  const cause = (error as { cause?: unknown } | null)?.cause;
  return cause instanceof DriverErrorSummary && cause.code === '54000';
}

/** The `ValidationError` for content the full-text index cannot hold, at `path`. */
export function searchIndexLimitError(path: readonly (string | number)[]): ValidationError {
  const where = [...path, 'content'];
  return new ValidationError(`invalid message at ${where.join('.')}: too large for the full-text index`, [
    {
      path: where,
      message:
        "too large for the full-text index (PostgreSQL's tsvector holds at most 1 MiB of words and positions)",
      code: 'too_big',
    },
  ]);
}

/**
 * Whether `content` fits the full-text index: tested by computing its tsvector in a savepoint
 * (inside the caller's transaction, on its connection). Call only for content over
 * {@link SEARCH_INDEX_SAFE_BYTES}.
 */
export async function fitsSearchIndex(ctx: RepositoryContext, content: string): Promise<boolean> {
  try {
    await runTransaction(
      ctx.db,
      (trx) =>
        sql`select length(to_tsvector(${ctx.config.chat.searchLanguage}::regconfig, ${content}))`.execute(
          trx,
        ),
      {},
      ctx.config.logger,
    );
    return true;
  } catch (error) {
    if (isProgramLimit(error)) return false;
    throw error;
  }
}
