import { z } from 'zod';

/**
 * Options of the chat history.
 *
 * @example
 * ```ts
 * import { createCarebase } from 'carebase';
 * const cb = createCarebase({ chat: { maxMessageBytes: 32_768 } });
 * ```
 */
export const ChatOptionsSchema = z
  .strictObject({
    /** Largest accepted message content, in UTF-8 bytes. @default 100000 */
    maxMessageBytes: z.number().int().positive().max(50_000_000).default(100_000),
  })
  .prefault({});

/** Chat options as a host writes them. */
export type ChatOptions = z.input<typeof ChatOptionsSchema>;
/** Chat options with defaults applied. */
export type ResolvedChatOptions = z.output<typeof ChatOptionsSchema>;
