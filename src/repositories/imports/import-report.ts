/**
 * One row an import did not write, and why (in words, never the row's values).
 *
 * @example
 * ```ts
 * import type { ImportRefusal } from 'carebase';
 * const report = await cb.imports.messages({ source: 'mongo', messages: [] });
 * const lines = report.refused.map((r: ImportRefusal) => `${r.path}: ${r.reason}`);
 * ```
 */
export interface ImportRefusal {
  /** Where the row was in the call, e.g. `messages[12]` or `messages[12].content`. */
  readonly path: string;
  /** The row's original id, when it had a usable one. */
  readonly externalId: string | undefined;
  readonly reason: string;
}

/**
 * What one import call did, adding up exactly:
 * `read === inserted + alreadyPresent + refused.length + pastRetention`.
 *
 * @example
 * ```ts
 * import type { ImportReport } from 'carebase';
 * const report: ImportReport = await cb.imports.users({ source: 'mongo', users: [] });
 * if (report.refused.length > 0) console.table(report.refused);
 * ```
 */
export interface ImportReport {
  readonly entity: 'users' | 'conversations' | 'messages' | 'auditEntries';
  readonly source: string;
  /** Rows in the call. */
  readonly read: number;
  /** Rows written by this call. */
  readonly inserted: number;
  /** Rows already imported earlier under the same source and external id (nothing written). */
  readonly alreadyPresent: number;
  /** Rows not written, each with its path and reason. */
  readonly refused: readonly ImportRefusal[];
  /** Audit entries older than the audit retention period: counted, not imported (0 for other entities). */
  readonly pastRetention: number;
}

/** Collects refusals while rows are read; see {@link ImportReport}. */
export class ReportBuilder {
  readonly refused: ImportRefusal[] = [];

  refuse(path: string, externalId: string | undefined, reason: string): void {
    this.refused.push({ path, externalId, reason });
  }

  /** Forgets the refusals after the first `count` (those of a transaction attempt that is retried). */
  rollbackTo(count: number): void {
    this.refused.length = count;
  }

  build(
    entity: ImportReport['entity'],
    source: string,
    read: number,
    inserted: number,
    pastRetention = 0,
  ): ImportReport {
    return {
      entity,
      source,
      read,
      inserted,
      alreadyPresent: read - inserted - this.refused.length - pastRetention,
      refused: this.refused,
      pastRetention,
    };
  }
}

/** `messages[12].content` from `messages`, 12 and the zod issue path `['content']`. */
export function rowPath(list: string, index: number, path: readonly PropertyKey[] = []): string {
  return `${list}[${index}]${path.map((key) => (typeof key === 'number' ? `[${key}]` : `.${String(key)}`)).join('')}`;
}
