/**
 * A JSON value as stored in a `jsonb` column.
 *
 * @example
 * ```ts
 * import type { JsonValue } from 'carebase';
 * const changes: JsonValue = { ward: { from: '3A', to: '4B' } };
 * await cb.audit.log({ action: 'patient.transfer', resourceType: 'patient', resourceId, changes });
 * ```
 */
export type JsonValue = string | number | boolean | null | JsonValue[] | { [key: string]: JsonValue };
