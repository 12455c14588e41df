import type { ColumnType, Generated } from 'kysely';

import type { JsonValue } from '../validation/json-value.js';

export type { JsonValue };

/**
 * `audit_log`: append-only (UPDATE, DELETE and TRUNCATE are refused by triggers), partitioned by
 * month on `occurred_at`. `txid` and `row_hash` are set by the insert trigger.
 *
 * @example
 * ```ts
 * // A read-only report (writes go through cb.audit.log; UPDATE and DELETE are refused by triggers).
 * const failures = await cb.db
 *   .selectFrom('audit_log')
 *   .select(['occurred_at', 'action', 'resource_type', 'outcome_detail'])
 *   .where('actor_user_id', '=', userId)
 *   .where('outcome', '=', 'failure')
 *   .where('occurred_at', '>=', from)
 *   .orderBy('occurred_at', 'desc')
 *   .limit(50)
 *   .execute();
 * ```
 */
export interface AuditLogTable {
  id: ColumnType<string, never, never>;
  occurred_at: ColumnType<Date, Date | undefined, never>;
  actor_user_id: string | null;
  actor_type: ColumnType<'user' | 'system' | 'service', 'user' | 'system' | 'service' | undefined, never>;
  action: string;
  resource_type: string;
  resource_id: string | null;
  subject_id: string | null;
  outcome: ColumnType<'success' | 'failure', 'success' | 'failure' | undefined, never>;
  outcome_detail: string | null;
  ip: string | null;
  user_agent: string | null;
  request_id: string | null;
  changes: JsonValue | null;
  metadata: JsonValue | null;
  /** The writing transaction's id (bigint as string), set by the insert trigger. */
  txid: ColumnType<string, never, never>;
  /** SHA-256 of the entry's canonical JSON, set by the insert trigger. */
  row_hash: ColumnType<Buffer | null, never, never>;
}

/**
 * `audit_chain`: one link per sealed entry in its month's hash chain. Written by `audit_seal()` only.
 *
 * @example
 * ```ts
 * // How many entries of a period are sealed into the hash chain.
 * const { sealed } = await cb.db
 *   .selectFrom('audit_chain')
 *   .select((eb) => eb.fn.countAll<string>().as('sealed'))
 *   .where('occurred_at', '>=', from)
 *   .where('occurred_at', '<', to)
 *   .executeTakeFirstOrThrow();
 * ```
 */
export interface AuditChainTable {
  occurred_at: ColumnType<Date, never, never>;
  id: ColumnType<string, never, never>;
  seq: ColumnType<string, never, never>;
  prev_id: ColumnType<string | null, never, never>;
  row_hash: ColumnType<Buffer, never, never>;
  chain_hash: ColumnType<Buffer, never, never>;
}

/**
 * `audit_chain_head`: the head of each month's chain (state kept by `audit_seal()`).
 *
 * @example
 * ```ts
 * // Each month's chain length, and whether its partition was retired by retention.
 * const heads = await cb.db
 *   .selectFrom('audit_chain_head')
 *   .select(['month', 'last_seq', 'retired_at'])
 *   .orderBy('month')
 *   .execute();
 * ```
 */
export interface AuditChainHeadTable {
  month: ColumnType<Date, never, never>;
  last_seq: ColumnType<string, never, never>;
  last_id: ColumnType<string, never, never>;
  head_hash: ColumnType<Buffer, never, never>;
  retired_at: ColumnType<Date | null, never, never>;
  updated_at: ColumnType<Date, never, never>;
}

/**
 * `audit_seal_state`: the sealing watermark (one row).
 *
 * @example
 * ```ts
 * // Monitoring: when sealing last advanced.
 * const state = await cb.db
 *   .selectFrom('audit_seal_state')
 *   .select(['watermark', 'updated_at'])
 *   .executeTakeFirst();
 * ```
 */
export interface AuditSealStateTable {
  singleton: ColumnType<boolean, never, never>;
  watermark: ColumnType<string, never, never>;
  open_txids: ColumnType<string[], never, never>;
  updated_at: ColumnType<Date, never, never>;
}

/**
 * `audit_import_keys`: one row per audit entry imported by `cb.imports.auditEntries()`, claiming
 * its `(source, external_id)` so a re-run inserts nothing (the entry itself records both in its
 * hashed metadata, under `carebaseImport`).
 *
 * @example
 * ```ts
 * // How many audit entries each source has contributed.
 * const perSource = await cb.db
 *   .selectFrom('audit_import_keys')
 *   .select(['source', (eb) => eb.fn.countAll<string>().as('entries')])
 *   .groupBy('source')
 *   .execute();
 * ```
 */
export interface AuditImportKeysTable {
  source: string;
  external_id: string;
  occurred_at: Date;
  imported_at: Generated<Date>;
}
