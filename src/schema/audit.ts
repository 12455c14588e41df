import type { ColumnType } from 'kysely';

/** A JSON value as stored in a `jsonb` column. */
export type JsonValue = string | number | boolean | null | JsonValue[] | { [key: string]: JsonValue };

/** `audit_log`: append-only, partitioned by month on `occurred_at`. */
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
}
