import { CompiledQuery } from 'kysely';
import { z } from 'zod';
import { runTransaction } from '../../pool/transaction.js';
import { quoteIdentifier } from '../../sql/identifier.js';
import type { RepositoryContext } from '../context.js';
import { auditSealerOf } from './sealer.js';

/**
 * Range of `cb.audit.verify()`: every monthly chain overlapping [`from`, `to`) is checked whole.
 *
 * @example
 * ```ts
 * import { AuditVerifyInputSchema } from 'carebase/schemas';
 * AuditVerifyInputSchema.parse({ from: new Date('2026-01-01') });
 * ```
 */
export const AuditVerifyInputSchema = z.strictObject({
  from: z.date().optional(),
  to: z.date().optional(),
});

/**
 * Range of `cb.audit.verify()`; both ends optional. Validated by `AuditVerifyInputSchema` (`carebase/schemas`).
 *
 * @example
 * ```ts
 * import type { AuditVerifyInput } from 'carebase';
 * const lastMonth: AuditVerifyInput = { from, to };
 * const result = await cb.audit.verify(lastMonth);
 * if (!result.ok) logger.error({ firstBadId: result.firstBadId }, 'audit chain broken');
 * ```
 */
export interface AuditVerifyInput {
  readonly from?: Date | undefined;
  readonly to?: Date | undefined;
}

/**
 * Why verification failed.
 *
 * @example
 * ```ts
 * import type { AuditTamperReason } from 'carebase';
 * const advice: Record<AuditTamperReason, string> = {
 *   entry_altered: 'an entry was changed after it was sealed',
 *   entry_removed: 'a sealed entry is gone',
 *   entry_inserted_out_of_band: 'an entry was inserted around the insert trigger',
 *   chain_altered: 'a link of the hash chain was changed',
 *   partition_missing: 'a month was dropped outside retention',
 * };
 * const result = await cb.audit.verify();
 * if (!result.ok) logger.error({ firstBadId: result.firstBadId }, advice[result.reason]);
 * ```
 */
export type AuditTamperReason =
  | 'entry_altered'
  | 'entry_removed'
  | 'entry_inserted_out_of_band'
  | 'chain_altered'
  | 'partition_missing';

/**
 * The outcome of `cb.audit.verify()`. `checked` counts the sealed entries whose hashes were
 * recomputed; `firstBadId` is the lowest id found bad in the earliest bad month.
 *
 * @example
 * ```ts
 * import type { AuditVerifyResult } from 'carebase';
 * // A nightly job: alert when the audit log no longer matches its hash chain.
 * const result: AuditVerifyResult = await cb.audit.verify({ from, to });
 * if (result.ok) logger.info({ checked: result.checked }, 'audit chain intact');
 * else logger.error({ firstBadId: result.firstBadId, reason: result.reason }, 'audit log tampered');
 * ```
 */
export type AuditVerifyResult =
  | { readonly ok: true; readonly checked: number }
  | {
      readonly ok: false;
      readonly checked: number;
      readonly firstBadId: string;
      readonly reason: AuditTamperReason;
    };

interface VerifyRow {
  checked: string;
  first_bad_id: string | null;
  reason: string | null;
}

/** Seals pending entries, then recomputes the chains in one repeatable-read snapshot. */
export async function verifyAudit(
  ctx: RepositoryContext,
  input: z.output<typeof AuditVerifyInputSchema>,
): Promise<AuditVerifyResult> {
  if (!ctx.inTransaction) await auditSealerOf(ctx.runtime).sealUnbounded();
  const schema = quoteIdentifier(ctx.config.schema);
  const query = CompiledQuery.raw(
    `select checked, first_bad_id, reason from ${schema}.audit_verify($1::timestamptz, $2::timestamptz)`,
    [input.from ?? null, input.to ?? null],
  ) as CompiledQuery<VerifyRow>;
  const row = ctx.inTransaction
    ? (await ctx.db.executeQuery(query)).rows[0]
    : await runTransaction(
        ctx.db,
        async (trx) => {
          // Verification reads every entry of the range: it may outlast the pool's statement timeout.
          await trx.executeQuery(CompiledQuery.raw('set local statement_timeout = 0', []));
          return (await trx.executeQuery(query)).rows[0];
        },
        { isolation: 'repeatable read' },
        ctx.config.logger,
      );
  const checked = Number(row?.checked ?? 0);
  if (row?.first_bad_id === null || row?.first_bad_id === undefined) return { ok: true, checked };
  return {
    ok: false,
    checked,
    firstBadId: row.first_bad_id,
    reason: (row.reason ?? 'entry_altered') as AuditTamperReason,
  };
}
