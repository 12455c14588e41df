/**
 * The app's view of carebase's message trees: where each message of a page stands among its
 * siblings (for the `< 2/3 >` arrows), and which leaf to show when the reader switches branch.
 */
import type { CarebaseScope, ChatMessage } from 'carebase';

/** A message's place among its siblings (the versions of one question or one answer). */
export interface BranchInfo {
  /** 0-based position, in creation order. */
  readonly index: number;
  readonly count: number;
  readonly siblingIds: readonly string[];
}

/** `chat.siblings` of every message of a page (one call each, concurrently). */
export async function branchInfo(
  scope: CarebaseScope,
  userId: string,
  conversationId: string,
  messages: readonly ChatMessage[],
): Promise<Map<string, BranchInfo>> {
  const entries = await Promise.all(
    messages.map(async (message) => {
      const { items, index } = await scope.chat.siblings({ userId, messageId: message.id, conversationId });
      const info: BranchInfo = { index, count: items.length, siblingIds: items.map((item) => item.id) };
      return [message.id, info] as const;
    }),
  );
  return new Map(entries);
}

/** How many newer messages {@link newestLeafThrough} looks at before it gives up. */
const MAX_CANDIDATES = 200;

/**
 * The newest message whose branch passes through `messageId` (the message itself when nothing
 * follows it): what the reader expects to see after switching to that version. carebase walks a
 * branch upwards (`chat.path` from a leaf), not downwards, so this tries the conversation's newer
 * messages newest first and keeps the first whose path holds the message. Fine for a demo's
 * conversations; a host with long ones would remember each branch's leaf itself.
 */
export async function newestLeafThrough(
  scope: CarebaseScope,
  userId: string,
  conversationId: string,
  messageId: string,
): Promise<string> {
  let cursor: string | undefined;
  let looked = 0;
  do {
    const page = await scope.chat.history({
      userId,
      conversationId,
      order: 'desc',
      limit: 50,
      ...(cursor === undefined ? {} : { cursor }),
    });
    for (const candidate of page.items) {
      // Older messages cannot follow it: anything below the message was written after it.
      if (candidate.id === messageId || looked >= MAX_CANDIDATES) return messageId;
      looked += 1;
      const branch = await scope.chat.path({ userId, conversationId, leafId: candidate.id, limit: 500 });
      if (branch.items.some((message) => message.id === messageId)) return candidate.id;
    }
    cursor = page.nextCursor;
  } while (cursor !== undefined);
  return messageId;
}
