import { z } from 'zod';
import { type QuickField, quick, quickObject } from '../../validation/quick.js';

/**
 * Zod schemas and types of the chat usage ledger: the `usage` of an assistant message
 * (`cb.chat.append({ usage })`) and the `cb.chat.usage()` report.
 */

const tokens = z.number().int().min(0).max(Number.MAX_SAFE_INTEGER);
/** An exact non-negative decimal (`cost`). */
const COST = /^\d{1,12}(\.\d{1,12})?$/;
/** An ISO 4217 code (`currency`). */
const CURRENCY = /^[A-Z]{3}$/;

/**
 * Validates {@link ChatUsageRecord}. `cost` is an exact decimal string (up to 12 digits before and
 * after the point), never a float; `currency` (ISO 4217, e.g. `USD`) is required with a cost.
 *
 * @example
 * ```ts
 * import { ChatUsageRecordSchema } from 'carebase/schemas';
 * ChatUsageRecordSchema.parse({ provider: 'openai', model: 'gpt-5', outputTokens: 812, cost: '0.00812', currency: 'USD', status: 'ok' });
 * ```
 */
export const ChatUsageRecordSchema = z
  .strictObject({
    provider: z.string().min(1).max(100),
    model: z.string().min(1).max(200),
    inputTokens: tokens.optional(),
    outputTokens: tokens.optional(),
    cachedTokens: tokens.optional(),
    reasoningTokens: tokens.optional(),
    cost: z.string().regex(COST, 'must be a non-negative decimal string like 0.0042').optional(),
    currency: z.string().regex(CURRENCY, 'must be an ISO 4217 code like USD').optional(),
    latencyMs: z.number().int().min(0).max(2_147_483_647).optional(),
    status: z.enum(['ok', 'error', 'aborted']),
  })
  .refine((value) => (value.cost === undefined) === (value.currency === undefined), {
    message: 'cost and currency go together',
    path: ['currency'],
  });

/**
 * `ChatUsageRecordSchema`'s quick parse (see `src/validation/quick.ts`), with its cost/currency
 * pairing; test/chat/quick-append.test.ts holds it to the schema.
 */
export const quickUsageRecord: QuickField = quickObject(
  {
    provider: quick.text(1, 100),
    model: quick.text(1, 200),
    inputTokens: quick.integer(0, Number.MAX_SAFE_INTEGER),
    outputTokens: quick.integer(0, Number.MAX_SAFE_INTEGER),
    cachedTokens: quick.integer(0, Number.MAX_SAFE_INTEGER),
    reasoningTokens: quick.integer(0, Number.MAX_SAFE_INTEGER),
    cost: quick.text(0, Number.POSITIVE_INFINITY, COST),
    currency: quick.text(0, Number.POSITIVE_INFINITY, CURRENCY),
    latencyMs: quick.integer(0, 2_147_483_647),
    status: quick.oneOf('ok', 'error', 'aborted'),
  },
  ['provider', 'model', 'status'],
  (parsed) => (parsed.cost === undefined) === (parsed.currency === undefined),
);

/**
 * The usage of the model call behind an assistant message: provider, model, tokens, cost as an
 * exact decimal string with its currency, latency and outcome. Stored in the message's transaction
 * (`cb.chat.append({ role: 'assistant', usage })`): if the usage cannot be written, the append
 * fails and nothing is written.
 *
 * @example
 * ```ts
 * import type { ChatUsageRecord } from 'carebase';
 * const usage: ChatUsageRecord = { provider: 'openai', model: 'gpt-5', inputTokens: 1200, outputTokens: 300, cost: '0.0045', currency: 'USD', latencyMs: 2100, status: 'ok' };
 * await cb.chat.append({ userId, conversationId, role: 'assistant', content: 'Take it with food.', usage });
 * ```
 */
export interface ChatUsageRecord {
  readonly provider: string;
  readonly model: string;
  readonly inputTokens?: number | undefined;
  readonly outputTokens?: number | undefined;
  readonly cachedTokens?: number | undefined;
  readonly reasoningTokens?: number | undefined;
  /** An exact decimal string, e.g. `'0.0045'`; requires `currency`. */
  readonly cost?: string | undefined;
  /** ISO 4217, e.g. `USD`; requires `cost`. */
  readonly currency?: string | undefined;
  readonly latencyMs?: number | undefined;
  readonly status: 'ok' | 'error' | 'aborted';
}

/** The longest range one `cb.chat.usage()` call may cover: ten years of days. */
const MAX_USAGE_RANGE_DAYS = 3660;

/**
 * Validates {@link ChatUsageQuery}: valid dates, `from` before `to`, a range of at most 3660 days.
 *
 * @example
 * ```ts
 * import { ChatUsageQuerySchema } from 'carebase/schemas';
 * ChatUsageQuerySchema.parse({ from: new Date('2026-01-01'), to: new Date('2026-02-01'), groupBy: 'day' });
 * ```
 */
export const ChatUsageQuerySchema = z
  .strictObject({
    userId: z.uuid().optional(),
    conversationId: z.uuid().optional(),
    model: z.string().min(1).max(200).optional(),
    from: z.date(),
    to: z.date(),
    groupBy: z.enum(['day', 'model', 'user', 'conversation']),
  })
  .refine((value) => !Number.isNaN(value.from.getTime()) && !Number.isNaN(value.to.getTime()), {
    message: 'must be valid dates',
    path: ['from'],
  })
  .refine((value) => value.from.getTime() < value.to.getTime(), {
    message: 'must be before to',
    path: ['from'],
  })
  .refine((value) => value.to.getTime() - value.from.getTime() <= MAX_USAGE_RANGE_DAYS * 86_400_000, {
    message: `the range must be at most ${MAX_USAGE_RANGE_DAYS} days`,
    path: ['to'],
  });

/**
 * Input of `cb.chat.usage()`: usage from `from` (inclusive) to `to` (exclusive, after `from`, at
 * most 3660 days later), optionally of one user (the participant whose messages made the calls),
 * conversation or model, grouped by UTC day, model, user or conversation. With both `userId` and
 * `conversationId`, the user must be a participant of the conversation (else `ForbiddenError`):
 * that is the only access check; any other query is an admin or report call the host must guard.
 *
 * @example
 * ```ts
 * import type { ChatUsageQuery } from 'carebase';
 * const query: ChatUsageQuery = { from: new Date('2026-01-01'), to: new Date('2026-02-01'), groupBy: 'model' };
 * const rows = await cb.chat.usage(query);
 * ```
 */
export interface ChatUsageQuery {
  readonly userId?: string | undefined;
  readonly conversationId?: string | undefined;
  readonly model?: string | undefined;
  readonly from: Date;
  readonly to: Date;
  readonly groupBy: 'day' | 'model' | 'user' | 'conversation';
}

/**
 * One group of `cb.chat.usage()`: exact sums of a group's calls in one currency (a group with
 * calls in several currencies has a row per currency; calls without a cost have `currency: null`).
 * Token sums are exact up to `Number.MAX_SAFE_INTEGER`; `cost` is an exact decimal string.
 *
 * @example
 * <!-- snippet-preamble: declare const from: Date; declare const to: Date; -->
 * ```ts
 * import type { ChatUsageRow } from 'carebase';
 * const rows: readonly ChatUsageRow[] = await cb.chat.usage({ from, to, groupBy: 'day' });
 * for (const row of rows) console.log(row.key, row.outputTokens, row.cost, row.currency);
 * ```
 */
export interface ChatUsageRow {
  /** The group: a UTC day (`YYYY-MM-DD`), a model, a user id or a conversation id. */
  readonly key: string;
  readonly currency: string | null;
  readonly calls: number;
  /** Calls with status `ok`. */
  readonly okCalls: number;
  /** Calls with status `error`. */
  readonly errorCalls: number;
  /** Calls with status `aborted`. */
  readonly abortedCalls: number;
  readonly inputTokens: number;
  readonly outputTokens: number;
  readonly cachedTokens: number;
  readonly reasoningTokens: number;
  /** The exact sum, e.g. `'0.012300000000'`; `null` when no call of the group had a cost. */
  readonly cost: string | null;
}
