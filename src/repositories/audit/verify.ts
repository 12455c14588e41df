import { KeyObject } from 'node:crypto';
import { CompiledQuery, type Kysely } from 'kysely';
import { z } from 'zod';
import { InvalidConfigurationError } from '../../errors/errors.js';
import { runTransaction } from '../../pool/transaction.js';
import type { CarebaseDatabase } from '../../schema/database.js';
import { quoteIdentifier } from '../../sql/identifier.js';
import type { RepositoryContext } from '../context.js';
import { type SignedAuditCheckpoint, SignedAuditCheckpointSchema, toPublicKey } from './checkpoint-format.js';
import { auditSealerOf } from './sealer.js';
import { type AuditCheckpointRef, checkCheckpoints } from './verify-checkpoints.js';

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
  /**
   * Signed checkpoints (from `cb.audit.checkpoint()`, e.g. `await readCheckpoints(dir)`) to check
   * the log against: a rewrite of every entry with recomputed hashes, the newest entries
   * truncated, or a month dropped outside retention contradicts them. Each is checked whole,
   * whatever `from` and `to` say.
   */
  checkpoints: z.array(SignedAuditCheckpointSchema).max(100_000).optional(),
  /**
   * The public key(s) checkpoints must be signed with (a `KeyObject` or PEM).
   * @default the public half of `audit.signingKey`
   */
  publicKey: z
    .union([
      z.custom<KeyObject>((value) => value instanceof KeyObject, 'must be a KeyObject'),
      z.string().min(1),
      z.array(
        z.union([
          z.custom<KeyObject>((value) => value instanceof KeyObject, 'must be a KeyObject'),
          z.string().min(1),
        ]),
      ),
    ])
    .transform((value, context) => {
      try {
        return (Array.isArray(value) ? value : [value]).map((key) => toPublicKey(key));
      } catch {
        context.addIssue({ code: 'custom', message: 'must be Ed25519 public keys (KeyObject or PEM)' });
        return z.NEVER;
      }
    })
    .optional(),
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
  /**
   * Signed checkpoints (from `cb.audit.checkpoint()`, e.g. `await readCheckpoints(dir)`) to check
   * the log against: a rewrite of every entry with recomputed hashes, the newest entries
   * truncated, or a month dropped outside retention contradicts them. Each is checked whole,
   * whatever `from` and `to` say.
   */
  readonly checkpoints?: SignedAuditCheckpoint[] | undefined;
  /**
   * The public key(s) checkpoints must be signed with (a `KeyObject` or PEM).
   * @default the public half of `audit.signingKey`
   */
  readonly publicKey?: KeyObject | string | (KeyObject | string)[] | undefined;
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
 *   checkpoint_invalid: 'a checkpoint is not signed by a trusted key',
 *   installation_mismatch: 'a checkpoint belongs to another installation',
 *   genesis_mismatch: 'the chains were re-anchored on another genesis',
 *   chain_rewritten: 'the chain no longer matches a signed checkpoint',
 *   entries_truncated: 'entries a checkpoint vouched for are gone',
 *   month_dropped: 'a month a checkpoint vouched for is gone',
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
  | 'partition_missing'
  | 'checkpoint_invalid'
  | 'installation_mismatch'
  | 'genesis_mismatch'
  | 'chain_rewritten'
  | 'entries_truncated'
  | 'month_dropped';

/**
 * The outcome of `cb.audit.verify()`. `checked` counts the sealed entries whose hashes were
 * recomputed; `firstBadId` is the lowest id found bad in the earliest bad month. When a checkpoint
 * is contradicted, `checkpoint` names it and `firstBadId` is the entry it vouched for (the newest
 * of that month; for a checkpoint-wide failure, its newest entry overall). `checkpointsChecked`
 * counts the checkpoints that held (when any were given).
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
  | { readonly ok: true; readonly checked: number; readonly checkpointsChecked?: number }
  | {
      readonly ok: false;
      readonly checked: number;
      readonly firstBadId: string;
      readonly reason: AuditTamperReason;
      /** The checkpoint contradicted (checkpoint failures only). */
      readonly checkpoint?: AuditCheckpointRef;
    };

interface VerifyRow {
  checked: string;
  first_bad_id: string | null;
  reason: string | null;
}

/** Seals pending entries, then recomputes the chains (and checks checkpoints) in one repeatable-read snapshot. */
export async function verifyAudit(
  ctx: RepositoryContext,
  input: z.output<typeof AuditVerifyInputSchema>,
): Promise<AuditVerifyResult> {
  const checkpoints = input.checkpoints;
  let publicKeys = input.publicKey;
  if (checkpoints !== undefined && publicKeys === undefined) {
    const key = ctx.config.audit.signingKey;
    if (key === undefined) {
      throw new InvalidConfigurationError(
        'audit.signingKey',
        'pass publicKey or configure the signing key to check checkpoints',
      );
    }
    publicKeys = [toPublicKey(key)];
  }
  if (!ctx.inTransaction) await auditSealerOf(ctx.runtime).sealUnbounded();
  const schema = quoteIdentifier(ctx.config.schema);
  const query = CompiledQuery.raw(
    `select checked, first_bad_id, reason from ${schema}.audit_verify($1::timestamptz, $2::timestamptz)`,
    [input.from ?? null, input.to ?? null],
  ) as CompiledQuery<VerifyRow>;
  const cutoff = ctx.now();
  cutoff.setUTCMonth(cutoff.getUTCMonth() - ctx.config.audit.retentionMonths);
  const run = async (db: Kysely<CarebaseDatabase>): Promise<AuditVerifyResult> => {
    const row = (await db.executeQuery(query)).rows[0];
    const checked = Number(row?.checked ?? 0);
    if (row?.first_bad_id !== null && row?.first_bad_id !== undefined) {
      return {
        ok: false,
        checked,
        firstBadId: row.first_bad_id,
        reason: (row.reason ?? 'entry_altered') as AuditTamperReason,
      };
    }
    if (checkpoints === undefined) return { ok: true, checked };
    const outcome = await checkCheckpoints(db, ctx.config.schema, checkpoints, publicKeys ?? [], cutoff);
    if ('checked' in outcome) return { ok: true, checked, checkpointsChecked: outcome.checked };
    return { ok: false, checked, ...outcome };
  };
  if (ctx.inTransaction) return run(ctx.db);
  // On a read replica when there is one in rotation (after it replayed the sealing pass above).
  return ctx.onReplica((reader) =>
    runTransaction(
      reader.db,
      async (trx) => {
        // Verification reads every entry of the range: it may outlast the pool's statement timeout.
        await trx.executeQuery(CompiledQuery.raw('set local statement_timeout = 0', []));
        return run(trx);
      },
      { isolation: 'repeatable read' },
      ctx.config.logger,
    ),
  );
}
