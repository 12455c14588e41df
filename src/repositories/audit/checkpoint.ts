import type { KeyObject } from 'node:crypto';
import { CompiledQuery } from 'kysely';
import { z } from 'zod';
import { Ed25519PrivateKeySchema } from '../../config/audit-options.js';
import { InvalidConfigurationError } from '../../errors/errors.js';
import { runTransaction } from '../../pool/transaction.js';
import { exactTimestamp } from '../../sql/exact-timestamp.js';
import { quoteIdentifier } from '../../sql/identifier.js';
import type { RepositoryContext } from '../context.js';
import {
  type AuditCheckpointMonth,
  type AuditCheckpointStatement,
  CHECKPOINT_FORMAT,
  type SignedAuditCheckpoint,
  signCheckpoint,
} from './checkpoint-format.js';
import { type AuditCheckpointSink, directoryCheckpointSink } from './checkpoint-sink.js';
import { auditSealerOf } from './sealer.js';

/**
 * Options of `cb.audit.checkpoint()`.
 *
 * @example
 * ```ts
 * import { directoryCheckpointSink } from 'carebase';
 * import { AuditCheckpointInputSchema } from 'carebase/schemas';
 * AuditCheckpointInputSchema.parse({ sink: directoryCheckpointSink('/mnt/worm/audit') });
 * ```
 */
export const AuditCheckpointInputSchema = z.strictObject({
  /** Where to hand the signed checkpoint. @default a directory sink on `audit.checkpointDir` */
  sink: z
    .custom<AuditCheckpointSink>(
      (value) => typeof (value as { write?: unknown } | null)?.write === 'function',
      'must have a write(checkpoint, statement) method',
    )
    .optional(),
  /**
   * The Ed25519 private key to sign with (a `KeyObject` or PKCS#8 PEM), for this call.
   * @default `audit.signingKey`
   */
  signingKey: Ed25519PrivateKeySchema.optional(),
});

/**
 * Options of `cb.audit.checkpoint()`; validated by `AuditCheckpointInputSchema` (`carebase/schemas`).
 *
 * @example
 * ```ts
 * import { type AuditCheckpointInput, directoryCheckpointSink } from 'carebase';
 * const options: AuditCheckpointInput = { sink: directoryCheckpointSink('/mnt/worm/audit') };
 * await cb.audit.checkpoint(options);
 * ```
 */
export interface AuditCheckpointInput {
  /** Where to hand the signed checkpoint. @default a directory sink on `audit.checkpointDir` */
  readonly sink?: AuditCheckpointSink | undefined;
  /**
   * The Ed25519 private key to sign with (a `KeyObject` or PKCS#8 PEM), for this call.
   * @default `audit.signingKey`
   */
  readonly signingKey?: KeyObject | string | undefined;
}

/**
 * What `cb.audit.checkpoint()` produced.
 *
 * @example
 * ```ts
 * import type { AuditCheckpointResult } from 'carebase';
 * const { statement, location }: AuditCheckpointResult = await cb.audit.checkpoint();
 * logger.info({ location, months: statement.months.length }, 'audit checkpoint stored');
 * ```
 */
export interface AuditCheckpointResult {
  readonly checkpoint: SignedAuditCheckpoint;
  readonly statement: AuditCheckpointStatement;
  /** Where the sink stored it, when it says. */
  readonly location: string | undefined;
}

interface HeadRow {
  month: string;
  count: string;
  last_id: string;
  last_at: string | null;
  head_hash: string;
  retired: boolean;
}

interface InstallationRow {
  installation_id: string;
  genesis: string;
}

/** Reads the installation and every chain head in one snapshot. */
async function readHeads(
  ctx: RepositoryContext,
): Promise<{ installation: InstallationRow; heads: HeadRow[] }> {
  const schema = quoteIdentifier(ctx.config.schema);
  const installationQuery = CompiledQuery.raw(
    `select installation_id::text, encode(genesis, 'hex') as genesis from ${schema}.audit_installation`,
    [],
  ) as CompiledQuery<InstallationRow>;
  // last_occurred_at is NULL only for a chain last sealed before migration 0023: find its link.
  const headsQuery = CompiledQuery.raw(
    `select to_char(h.month at time zone 'UTC', 'YYYY-MM') as month, h.last_seq::text as count,
            h.last_id::text as last_id, encode(h.head_hash, 'hex') as head_hash, h.retired_at is not null as retired,
            ${exactTimestamp(
              `coalesce(h.last_occurred_at, (select c.occurred_at from ${schema}.audit_chain c
                 where c.occurred_at >= h.month and c.occurred_at < h.month + interval '1 month' and c.id = h.last_id))`,
            )} as last_at
       from ${schema}.audit_chain_head h order by h.month`,
    [],
  ) as CompiledQuery<HeadRow>;
  const read = async (db: RepositoryContext['db']) => {
    const installation = (await db.executeQuery(installationQuery)).rows[0];
    if (installation === undefined)
      throw new InvalidConfigurationError('schema', 'audit_installation is empty');
    return { installation, heads: (await db.executeQuery(headsQuery)).rows };
  };
  if (ctx.inTransaction) return read(ctx.db);
  return runTransaction(ctx.db, (trx) => read(trx), { isolation: 'repeatable read' }, ctx.config.logger);
}

/** Seals, reads the chain heads, signs them and hands the checkpoint to the sink. */
export async function createAuditCheckpoint(
  ctx: RepositoryContext,
  input: z.output<typeof AuditCheckpointInputSchema>,
): Promise<AuditCheckpointResult> {
  const key = input.signingKey ?? ctx.config.audit.signingKey;
  if (key === undefined) {
    throw new InvalidConfigurationError(
      'audit.signingKey',
      'an Ed25519 private key is needed to sign checkpoints',
    );
  }
  const dir = ctx.config.audit.checkpointDir;
  const sink = input.sink ?? (dir === undefined ? undefined : directoryCheckpointSink(dir));
  if (sink === undefined) {
    throw new InvalidConfigurationError(
      'audit.checkpointDir',
      'pass a sink or configure a checkpoint directory',
    );
  }
  if (!ctx.inTransaction) await auditSealerOf(ctx.runtime).sealUnbounded();
  const { installation, heads } = await readHeads(ctx);
  const months: AuditCheckpointMonth[] = heads.map((head) => ({
    month: head.month,
    count: Number(head.count),
    lastId: head.last_id,
    lastOccurredAt: head.last_at ?? '',
    headHash: head.head_hash,
    retired: head.retired,
  }));
  const statement: AuditCheckpointStatement = {
    format: CHECKPOINT_FORMAT,
    installationId: installation.installation_id,
    genesis: installation.genesis,
    schema: ctx.config.schema,
    createdAt: ctx.now().toISOString(),
    // A month whose newest link cannot be found (its partition dropped by retention before
    // migration 0023 recorded it) has nothing to name it by; verify() reports a damaged chain.
    months: months.filter((month) => month.lastOccurredAt !== ''),
  };
  const checkpoint = signCheckpoint(statement, key);
  const location = await sink.write(checkpoint, statement);
  return { checkpoint, statement, location };
}
