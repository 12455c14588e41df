import { ValidationError } from '../../errors/errors.js';
import type { RepositoryContext } from '../context.js';
import { type ChatMessage, MESSAGE_ROW_COLUMNS, type MessageRow, toChatMessage } from './chat-types.js';
import { assertParticipant } from './ownership.js';
import { pathPage } from './path.js';
import { openMessageRows } from './sealed-rows.js';
import { preparedQuery } from './sql-text.js';
import type { ChatContextWindow, ChatTokenCounter } from './tree-inputs.js';

/** Parsed `context()` input. */
export interface ContextQuery {
  readonly userId: string;
  readonly conversationId: string;
  readonly leafId: string | undefined;
  readonly maxTokens: number;
  readonly countTokens: ChatTokenCounter | undefined;
  /** Messages read per path page. */
  readonly pageSize: number;
}

/**
 * The default token estimate: 4 characters (UTF-16 code units) a token, plus 4 tokens for the
 * role and message framing. Deliberately simple and a little generous for English; pass the
 * model's tokenizer as `countTokens` when the budget is tight.
 */
export function estimateTokens(message: ChatMessage): number {
  return Math.ceil(message.content.length / 4) + 4;
}

function counted(count: ChatTokenCounter, message: ChatMessage): number {
  const tokens = count(message);
  if (!Number.isSafeInteger(tokens) || tokens < 0) {
    throw new ValidationError('invalid countTokens: returned a value that is not a token count', [
      { path: ['countTokens'], message: 'must return a non-negative integer', code: 'custom' },
    ]);
  }
  return tokens;
}

/** The pinned system messages of a conversation, oldest first (chat_messages_pinned_idx). */
async function pinnedMessages(ctx: RepositoryContext, ownerId: string, conversationId: string) {
  const query = preparedQuery<MessageRow>(
    ctx,
    'context-pinned',
    (t) => `select ${MESSAGE_ROW_COLUMNS} from ${t('chat_messages')}
where user_id = $1::uuid and conversation_id = $2::uuid and pinned
order by created_at, id`,
    [ownerId, conversationId],
  );
  return (await openMessageRows(ctx, await ctx.runPrepared<MessageRow>(query))).map(toChatMessage);
}

/**
 * The context window for the next model call: every pinned system message of the conversation
 * (counted first, kept even when they alone exceed the budget), then the newest messages of the
 * branch ending at the leaf, newest first, for as long as the total stays within `maxTokens`; the
 * first message that does not fit ends the window (older ones are never skipped ahead of it, so
 * the window is a contiguous tail of the branch). Returned oldest first.
 */
export async function contextWindow(ctx: RepositoryContext, query: ContextQuery): Promise<ChatContextWindow> {
  const count = query.countTokens ?? estimateTokens;
  const { ownerId } = await assertParticipant(ctx, query.userId, query.conversationId, 'read');
  const pinned = await pinnedMessages(ctx, ownerId, query.conversationId);
  const pinnedIds = new Set(pinned.map((message) => message.id));
  let tokens = 0;
  for (const message of pinned) tokens += counted(count, message);
  const tail: ChatMessage[] = [];
  let truncated = false;
  let cursor: string | undefined;
  walk: do {
    const page = await pathPage(ctx, {
      userId: query.userId,
      conversationId: query.conversationId,
      leafId: query.leafId,
      limit: query.pageSize,
      cursor,
    });
    for (let i = page.items.length - 1; i >= 0; i--) {
      const message = page.items[i] as ChatMessage;
      if (pinnedIds.has(message.id)) continue;
      const cost = counted(count, message);
      if (tokens + cost > query.maxTokens) {
        truncated = true;
        break walk;
      }
      tokens += cost;
      tail.push(message);
    }
    cursor = page.nextCursor;
  } while (cursor !== undefined);
  const messages = [...pinned, ...tail].sort(
    (a, b) => a.createdAt.getTime() - b.createdAt.getTime() || (BigInt(a.id) < BigInt(b.id) ? -1 : 1),
  );
  return { messages, tokens, truncated };
}
