import { z } from 'zod';
import { jsonObjectSchema } from '../../validation/json.js';

/**
 * Zod schemas and input types of shared conversations and conversation state:
 * `cb.chat.addParticipant`, `removeParticipant`, `listParticipants` and `updateConversation`.
 */

/**
 * A conversation's status: a host-defined lower-case word (a letter, then up to 31 letters,
 * digits, `_` or `-`), e.g. `open`, `escalated`, `closed`. New conversations are `open`.
 *
 * @example
 * ```ts
 * import { ConversationStatusSchema } from 'carebase/schemas';
 * ConversationStatusSchema.safeParse('escalated').success; // true
 * ConversationStatusSchema.safeParse('Escalated!').success; // false
 * ```
 */
export const ConversationStatusSchema = z.string().regex(/^[a-z][a-z0-9_-]{0,31}$/, {
  message: 'must be a lower-case word: a letter, then up to 31 letters, digits, _ or -',
});

/**
 * The roles `addParticipant` grants: `member` (reads and writes) or `viewer` (reads only). The
 * owner is the conversation's user and is never added or removed.
 *
 * @example
 * ```ts
 * import { ParticipantGrantRoleSchema } from 'carebase/schemas';
 * ParticipantGrantRoleSchema.options; // ['member', 'viewer']
 * ```
 */
export const ParticipantGrantRoleSchema = z.enum(['member', 'viewer']);

/**
 * Validates {@link ParticipantAddInput}.
 *
 * @example
 * ```ts
 * import { ParticipantAddInputSchema } from 'carebase/schemas';
 * const parsed = ParticipantAddInputSchema.safeParse(req.body);
 * ```
 */
export const ParticipantAddInputSchema = z.strictObject({
  userId: z.uuid(),
  conversationId: z.uuid(),
  participantId: z.uuid(),
  role: ParticipantGrantRoleSchema,
});

/**
 * Input of `cb.chat.addParticipant()`: the owner (`userId`) adds `participantId` to a
 * conversation as a `member` or `viewer` (or changes the role of a participant already in it).
 *
 * @example
 * <!-- snippet-preamble: declare const patientId: string; declare const clinicianId: string; -->
 * ```ts
 * import type { ParticipantAddInput } from 'carebase';
 * const input: ParticipantAddInput = { userId: patientId, conversationId, participantId: clinicianId, role: 'member' };
 * await cb.chat.addParticipant(input);
 * ```
 */
export interface ParticipantAddInput {
  /** The acting user: the conversation's owner. */
  readonly userId: string;
  readonly conversationId: string;
  /** The user to add. */
  readonly participantId: string;
  readonly role: 'member' | 'viewer';
}

/**
 * Validates {@link ParticipantRemoveInput}.
 *
 * @example
 * ```ts
 * import { ParticipantRemoveInputSchema } from 'carebase/schemas';
 * ParticipantRemoveInputSchema.parse({ userId, conversationId, participantId: userId });
 * ```
 */
export const ParticipantRemoveInputSchema = z.strictObject({
  userId: z.uuid(),
  conversationId: z.uuid(),
  participantId: z.uuid(),
});

/**
 * Input of `cb.chat.removeParticipant()`: the owner removes a participant, or a participant
 * leaves (`participantId` equal to `userId`).
 *
 * @example
 * <!-- snippet-preamble: declare const patientId: string; declare const clinicianId: string; -->
 * ```ts
 * import type { ParticipantRemoveInput } from 'carebase';
 * const input: ParticipantRemoveInput = { userId: patientId, conversationId, participantId: clinicianId };
 * await cb.chat.removeParticipant(input);
 * ```
 */
export interface ParticipantRemoveInput {
  /** The acting user: the owner, or the participant leaving. */
  readonly userId: string;
  readonly conversationId: string;
  readonly participantId: string;
}

/**
 * Validates {@link ConversationUpdate}.
 *
 * @example
 * ```ts
 * import { ConversationUpdateSchema } from 'carebase/schemas';
 * ConversationUpdateSchema.parse({ userId, status: 'escalated', expectedVersion: 3 });
 * ```
 */
export const ConversationUpdateSchema = z
  .strictObject({
    userId: z.uuid(),
    title: z.string().max(500).nullable().optional(),
    status: ConversationStatusSchema.optional(),
    metadata: jsonObjectSchema().nullable().optional(),
    archived: z.boolean().optional(),
    retainUntil: z.date().nullable().optional(),
    retentionDays: z.number().int().min(1).max(36_500).nullable().optional(),
    expectedVersion: z.number().int().min(1).max(2_147_483_647).optional(),
  })
  .refine(
    (value) =>
      value.title !== undefined ||
      value.status !== undefined ||
      value.metadata !== undefined ||
      value.archived !== undefined ||
      value.retainUntil !== undefined ||
      value.retentionDays !== undefined,
    { message: 'nothing to update', path: ['title'] },
  )
  .refine((value) => value.retainUntil == null || !Number.isNaN(value.retainUntil.getTime()), {
    message: 'must be a valid date',
    path: ['retainUntil'],
  });

/**
 * The change `cb.chat.updateConversation(conversationId, update)` makes: any of title, status,
 * metadata (replaced whole; `null` clears), archiving and the retention override, by an owner or
 * member (`userId`). With `expectedVersion`, the update applies only while the conversation is at
 * that version (optimistic concurrency); otherwise it throws `VersionConflictError`.
 *
 * @example
 * <!-- snippet-preamble: declare const clinicianId: string; declare const conversation: { version: number }; -->
 * ```ts
 * import type { ConversationUpdate } from 'carebase';
 * const update: ConversationUpdate = { userId: clinicianId, status: 'escalated', expectedVersion: conversation.version };
 * await cb.chat.updateConversation(conversationId, update);
 * ```
 */
export interface ConversationUpdate {
  /** The acting user: an owner or member of the conversation. */
  readonly userId: string;
  /** A new title; `null` clears it. */
  readonly title?: string | null | undefined;
  /** A host-defined status (see `ConversationStatusSchema`). */
  readonly status?: string | undefined;
  /** Replaces the metadata object; `null` clears it. */
  readonly metadata?: Record<string, unknown> | null | undefined;
  /** `true` archives (listing leaves it out unless asked), `false` brings it back. */
  readonly archived?: boolean | undefined;
  /** `applyRetention` deletes none of this conversation's messages before this time; `null` lifts the hold. */
  readonly retainUntil?: Date | null | undefined;
  /** Replaces `applyRetention`'s `olderThanDays` for this conversation; `null`: the global one again. */
  readonly retentionDays?: number | null | undefined;
  /** Apply only while the conversation is at this version (`Conversation.version`). */
  readonly expectedVersion?: number | undefined;
}

/**
 * One participant of a conversation.
 *
 * @example
 * ```ts
 * import type { ConversationParticipant } from 'carebase';
 * const people: readonly ConversationParticipant[] = await cb.chat.listParticipants({ userId, conversationId });
 * const clinicians = people.filter((p) => p.role === 'member');
 * ```
 */
export interface ConversationParticipant {
  readonly conversationId: string;
  readonly userId: string;
  readonly role: 'owner' | 'member' | 'viewer';
  /** When the participant was added (the owner: when the conversation was created). */
  readonly createdAt: Date;
  readonly updatedAt: Date;
}
