import type { Readable } from 'node:stream';
import { parseInput } from '../../validation/parse-input.js';
import type { RepositoryContext } from '../context.js';
import {
  type AuditAccessInput,
  AuditAccessInputSchema,
  type AuditDisclosureInput,
  AuditDisclosureInputSchema,
  recordAccess,
  recordDisclosure,
} from './access.js';
import {
  type AuditCheckpointInput,
  AuditCheckpointInputSchema,
  type AuditCheckpointResult,
  createAuditCheckpoint,
} from './checkpoint.js';
import {
  type CheckpointSchedule,
  type ScheduleCheckpointsOptions,
  startCheckpointSchedule,
} from './checkpoint-schedule.js';
import { type AuditExportInput, AuditExportInputSchema, exportAudit } from './export.js';
import { ensureAuditPartition } from './partitions.js';
import { type AuditPage, type AuditQueryInput, AuditQueryInputSchema, queryAudit } from './query.js';
import { type AuditEntryInput, type AuditLogResult, recordAudit } from './record.js';
import { AuditReports } from './report.js';
import {
  type AuditRetentionInput,
  AuditRetentionInputSchema,
  type AuditRetentionResult,
  applyAuditRetention,
} from './retention.js';
import { auditSealerOf } from './sealer.js';
import {
  type AuditVerifyInput,
  AuditVerifyInputSchema,
  type AuditVerifyResult,
  verifyAudit,
} from './verify.js';

/**
 * The audit log: append-only, tamper-evident (per-month SHA-256 hash chains), attributed (the
 * scope's actor from `cb.withActor()`), partitioned by month and retained for
 * `audit.retentionMonths`. Available as `cb.audit`, `tx.audit` and `cb.withActor(actor).audit`.
 *
 * Concurrency: every method is safe to call concurrently from any number of instances; chain
 * links are assigned by one serialized sealing step, never by writers.
 *
 * @example
 * ```ts
 * await cb.withActor({ userId, ip: req.ip }).audit.log({ action: 'chart.view', resourceType: 'chart', resourceId });
 * const { items, nextCursor } = await cb.audit.query({ userId, limit: 20 });
 * const result = await cb.audit.verify();
 * if (!result.ok) console.error('audit log tampered at entry', result.firstBadId, result.reason);
 * ```
 */
export class AuditRepository {
  readonly #ctx: RepositoryContext;

  /** @internal Use `cb.audit`. */
  constructor(ctx: RepositoryContext) {
    this.#ctx = ctx;
  }

  /**
   * Writes one entry, attributed to the scope's actor unless the entry names its own, and resolves
   * to its `{ id, occurredAt }` (the id as the old apps' `log_audit_event` returned it). Inside
   * `cb.transaction()` it commits or rolls back with the transaction. Outside one (with
   * `audit.sealAfterWrite: true`) it resolves once the entry is committed and sealed into
   * the chain, both in one transaction shared with the entries logged concurrently.
   *
   * Throws `ValidationError` for a malformed entry (bad action, IP, uuid, `occurredAt` outside the
   * retention period or more than a day ahead), before any SQL runs.
   *
   * @example
   * ```ts
   * const { id, occurredAt } = await cb.audit.log({ action: 'chart.view', resourceType: 'chart', resourceId: '42', subjectId: 'patient-7' });
   * ```
   */
  async log(entry: AuditEntryInput): Promise<AuditLogResult> {
    return recordAudit(this.#ctx, entry);
  }

  /**
   * Records that the scope's actor viewed a record about `subjectId` (HIPAA 164.312(b) activity on
   * ePHI): action `record.access` (or `action`), with the purpose of use. As cheap as `log()`:
   * outside a transaction it joins the instance's group insert, so a chart view costs one queued
   * entry, not a round trip of its own.
   *
   * Throws `ValidationError` for bad input, before any SQL.
   *
   * @example
   * ```ts
   * await cb.withActor({ userId, ip }).audit.access({ subjectId: 'patient-7', resourceType: 'chart', resourceId: '42', purpose: 'TREAT' });
   * ```
   */
  async access(input: AuditAccessInput): Promise<void> {
    return recordAccess(this.#ctx, parseInput(AuditAccessInputSchema, input, 'audit access'));
  }

  /**
   * Records a disclosure of `subjectId`'s records to `recipient` (action `record.disclose`,
   * severity `notice`), for the accounting of disclosures (`report.disclosures()`).
   *
   * Throws `ValidationError` for bad input, before any SQL.
   *
   * @example
   * ```ts
   * await cb.withActor({ userId }).audit.disclosure({
   *   subjectId: 'patient-7',
   *   recipient: 'County Health Department',
   *   purpose: 'PUBHLTH',
   *   description: 'notifiable disease report',
   * });
   * ```
   */
  async disclosure(input: AuditDisclosureInput): Promise<void> {
    return recordDisclosure(this.#ctx, parseInput(AuditDisclosureInputSchema, input, 'audit disclosure'));
  }

  #report: AuditReports | undefined;

  /**
   * Compliance reports: `accessesToSubject`, `disclosures` (HIPAA 164.528) and `breakGlass`,
   * streamed as async iterables.
   *
   * @example
   * ```ts
   * for await (const d of cb.audit.report.disclosures({ subjectId: 'patient-7' })) console.log(d.occurredAt, d.recipient);
   * ```
   */
  get report(): AuditReports {
    this.#report ??= new AuditReports(this.#ctx);
    return this.#report;
  }

  /**
   * Lists entries newest first (keyset pagination on `(occurredAt, id)`), filtered by any of
   * actor, action, resource, subject, outcome and time range; each filter is served by an index.
   *
   * Throws `ValidationError` for bad filters or a cursor not returned by `query()`.
   *
   * @example
   * ```ts
   * let page = await cb.audit.query({ resourceType: 'user', resourceId: id, limit: 100 });
   * while (page.nextCursor) page = await cb.audit.query({ resourceType: 'user', resourceId: id, cursor: page.nextCursor });
   * ```
   */
  async query(input: AuditQueryInput = {}): Promise<AuditPage> {
    const parsed = parseInput(AuditQueryInputSchema, input, 'audit query');
    return this.#ctx.onReplica((ctx) => queryAudit(ctx, parsed));
  }

  /**
   * Seals pending entries, then recomputes every entry hash and chain link of the months
   * overlapping [`from`, `to`) in one snapshot. Detects altered, removed and out-of-band inserted
   * entries and names the first bad one. Months dropped by retention are skipped.
   *
   * Throws `ValidationError` for bad input. Reads every entry of the range: schedule it off-peak.
   *
   * @example
   * ```ts
   * const result = await cb.audit.verify({ from: new Date('2026-01-01') });
   * if (!result.ok) alert(`audit entry ${result.firstBadId}: ${result.reason}`);
   * ```
   */
  async verify(input: AuditVerifyInput = {}): Promise<AuditVerifyResult> {
    return verifyAudit(this.#ctx, parseInput(AuditVerifyInputSchema, input, 'audit verify options'));
  }

  /**
   * Streams the entries with `from <= occurredAt < to`, oldest first, as JSON lines or CSV (with a
   * header), through a server-side cursor: memory stays constant whatever the size. The stream
   * holds one pooled connection until it ends or is destroyed.
   *
   * Throws `ValidationError` (synchronously) for bad input; database errors arrive as the
   * stream's `error` event.
   *
   * @example
   * ```ts
   * import { createWriteStream } from 'node:fs';
   * import { pipeline } from 'node:stream/promises';
   * await pipeline(cb.audit.export({ from, to, format: 'csv' }), createWriteStream('audit.csv'));
   * ```
   */
  export(input: AuditExportInput): Readable {
    return exportAudit(this.#ctx, parseInput(AuditExportInputSchema, input, 'audit export options'));
  }

  /**
   * Anchors the log outside the database: seals pending entries, then signs (Ed25519, with
   * `audit.signingKey`) a statement of every month's chain head (last id, hash, count), this
   * installation's id and random genesis, and the time, and hands it to `sink` (default: a
   * directory sink on `audit.checkpointDir`). Keep checkpoints where the database's superuser
   * cannot reach; `verify({ checkpoints })` then detects a full rewrite with recomputed hashes,
   * truncation of the newest entries and dropped months.
   *
   * Throws `InvalidConfigurationError` without a signing key or a sink, `ValidationError` for bad
   * input, and whatever the sink throws. Safe to run concurrently with writers: entries committed
   * after the statement's snapshot are covered by the next checkpoint.
   *
   * @example
   * ```ts
   * import { directoryCheckpointSink } from 'carebase';
   * const { location } = await cb.audit.checkpoint({ sink: directoryCheckpointSink('/mnt/worm/audit') });
   * ```
   */
  async checkpoint(input: AuditCheckpointInput = {}): Promise<AuditCheckpointResult> {
    return createAuditCheckpoint(
      this.#ctx,
      parseInput(AuditCheckpointInputSchema, input, 'audit checkpoint options'),
    );
  }

  /**
   * Runs {@link AuditRepository.checkpoint} every `everyMs` until stopped (or `cb.close()`).
   * Failures are logged by code and passed to `onError`, never thrown into the host.
   *
   * Throws `ValidationError` for bad options.
   *
   * @example
   * ```ts
   * const schedule = cb.audit.scheduleCheckpoints({ everyMs: 15 * 60_000, runImmediately: true });
   * await schedule.stop();
   * ```
   */
  scheduleCheckpoints(options: ScheduleCheckpointsOptions): CheckpointSchedule {
    return startCheckpointSchedule(this.#ctx.runtime, options, (sink) =>
      createAuditCheckpoint(this.#ctx, sink === undefined ? {} : { sink }),
    );
  }

  /**
   * Seals every committed, not yet sealed entry into its month's chain now, and returns how many.
   * Normally unnecessary (writes seal themselves); useful after bulk loads or before a backup.
   *
   * Runs without the pool's statement timeout. Concurrency: passes are serialized by an advisory
   * lock, so concurrent calls wait for one another. Inside `cb.transaction()` there is nothing of
   * the transaction's to seal yet (a pass seals committed entries, and never takes a second
   * connection): it schedules a background pass for just after the commit and returns 0.
   *
   * @example
   * ```ts
   * const sealed = await cb.audit.seal();
   * ```
   */
  async seal(): Promise<number> {
    const sealer = auditSealerOf(this.#ctx.runtime);
    if (!this.#ctx.inTransaction) return sealer.sealUnbounded();
    sealer.schedule(50);
    return 0;
  }

  /**
   * Creates the monthly partitions of the current month and the next `audit.partitionsAhead`
   * months if missing, and returns how many months were new. Idempotent; call it at boot or from
   * a daily job (writes also create a missing month on demand).
   *
   * @example
   * ```ts
   * await cb.audit.ensurePartitions();
   * ```
   */
  ensurePartitions(): Promise<number> {
    return ensureAuditPartition(this.#ctx, this.#ctx.now(), {
      monthsAhead: this.#ctx.config.audit.partitionsAhead,
      force: true,
    });
  }

  /**
   * The retention path: drops the monthly partitions (entries and chain links) that lie entirely
   * before `now` minus `audit.retentionMonths` (default 84 months; at least 72 unless
   * `audit.allowShortRetention`), marks their chains retired so the remaining months still
   * verify, and records an `audit.retention` entry, all in one transaction.
   *
   * Throws `ValidationError` for bad input. Takes an exclusive lock on the audit table briefly.
   *
   * @example
   * ```ts
   * const { droppedMonths } = await cb.audit.applyRetention();
   * ```
   */
  async applyRetention(input: AuditRetentionInput = {}): Promise<AuditRetentionResult> {
    return applyAuditRetention(
      this.#ctx,
      parseInput(AuditRetentionInputSchema, input, 'audit retention options'),
    );
  }
}
