import type { KeyObject } from 'node:crypto';
import { CompiledQuery, type Kysely } from 'kysely';
import type { CarebaseDatabase } from '../../schema/database.js';
import { quoteIdentifier } from '../../sql/identifier.js';
import {
  type AuditCheckpointStatement,
  openCheckpoint,
  readCheckpointStatement,
  type SignedAuditCheckpoint,
} from './checkpoint-format.js';

/**
 * The checkpoint a verification failure contradicts.
 *
 * @example
 * ```ts
 * import { type AuditCheckpointRef, readCheckpoints } from 'carebase';
 * const result = await cb.audit.verify({ checkpoints: await readCheckpoints('/mnt/worm/audit') });
 * if (!result.ok && result.checkpoint) {
 *   const ref: AuditCheckpointRef = result.checkpoint;
 *   console.error(`contradicts the checkpoint of ${ref.createdAt} (month ${ref.month ?? '-'})`);
 * }
 * ```
 */
export interface AuditCheckpointRef {
  /** The checkpoint's time (ISO 8601), or undefined when its statement is unreadable. */
  readonly createdAt: string | undefined;
  /** The key id it names. */
  readonly keyId: string;
  /** Its position in the `checkpoints` passed to verify(). */
  readonly index: number;
  /** The month (`YYYY-MM`) it contradicts, when the failure is about one month. */
  readonly month: string | undefined;
}

/** Why a checkpoint check failed. */
export type CheckpointFailureReason =
  | 'checkpoint_invalid'
  | 'installation_mismatch'
  | 'genesis_mismatch'
  | 'chain_rewritten'
  | 'entries_truncated'
  | 'month_dropped';

export interface CheckpointFailure {
  readonly reason: CheckpointFailureReason;
  readonly firstBadId: string;
  readonly checkpoint: AuditCheckpointRef;
}

interface LinkRow {
  i: string;
  has_head: boolean;
  retired: boolean;
  head_count: string | null;
  seq: string | null;
  chain_hash: string | null;
}

/** The newest entry id a statement vouches for ('0' when it names none, or is unreadable). */
function newestId(checkpoint: SignedAuditCheckpoint): string {
  try {
    let newest = 0n;
    for (const month of readCheckpointStatement(checkpoint).months) {
      const id = BigInt(month.lastId);
      if (id > newest) newest = id;
    }
    return newest.toString();
  } catch {
    return '0';
  }
}

/**
 * Checks the database (in the caller's snapshot) against signed checkpoints: each must carry a
 * valid signature of one of `publicKeys`, name this installation and its genesis, and every month
 * it names must still hold, at the sequence number it recorded, the link with the id and chain
 * hash it recorded. A month retired by retention is accepted only when its whole month lies before
 * `retentionCutoff`. Returns the first contradiction (checkpoints in the order given), or the
 * number of checkpoints checked.
 */
export async function checkCheckpoints(
  db: Kysely<CarebaseDatabase>,
  schemaName: string,
  checkpoints: readonly SignedAuditCheckpoint[],
  publicKeys: readonly KeyObject[],
  retentionCutoff: Date,
): Promise<CheckpointFailure | { readonly checked: number }> {
  const schema = quoteIdentifier(schemaName);
  const statements: AuditCheckpointStatement[] = [];
  for (const [index, checkpoint] of checkpoints.entries()) {
    const statement = openCheckpoint(checkpoint, publicKeys);
    if (statement === undefined) {
      let createdAt: string | undefined;
      try {
        createdAt = readCheckpointStatement(checkpoint).createdAt;
      } catch {
        createdAt = undefined;
      }
      return {
        reason: 'checkpoint_invalid',
        firstBadId: newestId(checkpoint),
        checkpoint: { createdAt, keyId: checkpoint.keyId, index, month: undefined },
      };
    }
    statements.push(statement);
  }
  const installation = (
    await db.executeQuery(
      CompiledQuery.raw(
        `select installation_id::text, encode(genesis, 'hex') as genesis from ${schema}.audit_installation`,
        [],
      ) as CompiledQuery<{ installation_id: string; genesis: string }>,
    )
  ).rows[0];
  const months: { month: string; at: string; id: string }[] = [];
  for (const statement of statements) {
    for (const month of statement.months) {
      months.push({ month: `${month.month}-01T00:00:00Z`, at: month.lastOccurredAt, id: month.lastId });
    }
  }
  const links =
    months.length === 0
      ? []
      : (
          await db.executeQuery(
            CompiledQuery.raw(
              `select m.i::text as i, h.month is not null as has_head, h.retired_at is not null as retired,
                      h.last_seq::text as head_count, c.seq::text as seq, encode(c.chain_hash, 'hex') as chain_hash
                 from unnest($1::timestamptz[], $2::timestamptz[], $3::bigint[]) with ordinality as m(month, at, id, i)
                 left join ${schema}.audit_chain_head h on h.month = m.month
                 left join ${schema}.audit_chain c on c.occurred_at = m.at and c.id = m.id`,
              [months.map((m) => m.month), months.map((m) => m.at), months.map((m) => m.id)],
            ) as CompiledQuery<LinkRow>,
          )
        ).rows;
  const byIndex = new Map(links.map((row) => [Number(row.i) - 1, row]));
  let position = 0;
  for (const [index, statement] of statements.entries()) {
    const checkpoint = checkpoints[index] as SignedAuditCheckpoint;
    const ref = (month: string | undefined): AuditCheckpointRef => ({
      createdAt: statement.createdAt,
      keyId: checkpoint.keyId,
      index,
      month,
    });
    if (installation?.installation_id !== statement.installationId) {
      return {
        reason: 'installation_mismatch',
        firstBadId: newestId(checkpoint),
        checkpoint: ref(undefined),
      };
    }
    if (installation.genesis !== statement.genesis) {
      return { reason: 'genesis_mismatch', firstBadId: newestId(checkpoint), checkpoint: ref(undefined) };
    }
    for (const month of statement.months) {
      const row = byIndex.get(position++);
      const fail = (reason: CheckpointFailureReason): CheckpointFailure => ({
        reason,
        firstBadId: month.lastId,
        checkpoint: ref(month.month),
      });
      if (month.retired) continue;
      if (row === undefined || !row.has_head) return fail('month_dropped');
      if (row.retired) {
        const end = new Date(`${month.month}-01T00:00:00Z`);
        end.setUTCMonth(end.getUTCMonth() + 1);
        if (end.getTime() <= retentionCutoff.getTime()) continue;
        return fail('month_dropped');
      }
      if (row.seq === null) {
        return fail(Number(row.head_count ?? 0) < month.count ? 'entries_truncated' : 'chain_rewritten');
      }
      if (Number(row.seq) !== month.count || row.chain_hash !== month.headHash)
        return fail('chain_rewritten');
    }
  }
  return { checked: statements.length };
}
