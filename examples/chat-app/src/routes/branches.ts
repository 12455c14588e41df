/**
 * Editing and regenerating make a conversation a tree (carebase's `chat.edit` / `chat.regenerate`
 * write a sibling that becomes the active leaf); switching branch moves the active leaf
 * (`chat.setActiveLeaf`). The page then shows the active path again (`GET /api/messages`).
 */
import { assistantReply, assistantUsage } from '../assistant.ts';
import { newestLeafThrough } from '../branches.ts';
import { type RequestContext, requireUser } from '../context.ts';
import { HttpError, readJson, sendJson, stringField } from '../http.ts';
import { replyParts } from '../parts.ts';
import { publicMessages } from './chat.ts';

/** The conversation id of a body (required: trees live in named conversations). */
function conversationOf(body: Record<string, unknown>): string {
  return stringField(body, 'conversationId', 100);
}

/**
 * POST /api/messages/:id/edit `{ conversationId, content }`: a new version of the user's own
 * question (a sibling), and, in their own conversation, the assistant's answer to it, in one
 * transaction. 403 for someone else's message.
 */
export async function edit(ctx: RequestContext): Promise<void> {
  const { user, scope } = await requireUser(ctx);
  const body = await readJson(ctx.req);
  const conversationId = conversationOf(body);
  const content = stringField(body, 'content', 100_000);
  const messageId = ctx.params.id ?? '';
  const started = performance.now();
  const stored = await scope.transaction(async (tx) => {
    const { items, index } = await tx.chat.siblings({ userId: user.id, messageId, conversationId });
    const original = items[index];
    if (original === undefined || original.role !== 'user' || original.authorUserId !== user.id) {
      throw new HttpError(403, 'forbidden', 'Only the author can edit a question.');
    }
    const question = await tx.chat.edit({ userId: user.id, messageId, conversationId, content });
    const conversation = await tx.chat.getConversation({ userId: user.id, conversationId });
    if (conversation.userId !== user.id) return [question];
    const reply = assistantReply(content);
    const answer = await tx.chat.append({
      userId: user.id,
      conversationId,
      parentId: question.id,
      role: 'assistant',
      content: reply.content,
      ...replyParts(reply),
      metadata: { rule: reply.rule },
      usage: assistantUsage(content, reply.content, performance.now() - started),
    });
    return [question, answer];
  });
  sendJson(ctx.res, 201, { messages: await publicMessages(ctx, user.id, stored) });
}

/**
 * POST /api/messages/:id/regenerate `{ conversationId }`: another version of an assistant answer
 * (a sibling, with its own usage). Only in the user's own conversation: the assistant answers
 * its owner.
 */
export async function regenerate(ctx: RequestContext): Promise<void> {
  const { user, scope } = await requireUser(ctx);
  const body = await readJson(ctx.req);
  const conversationId = conversationOf(body);
  const messageId = ctx.params.id ?? '';
  const started = performance.now();
  const answer = await scope.transaction(async (tx) => {
    const conversation = await tx.chat.getConversation({ userId: user.id, conversationId });
    if (conversation.userId !== user.id) {
      throw new HttpError(403, 'forbidden', 'Only the owner of the conversation can regenerate answers.');
    }
    // The answer and the question it answers: the last two messages of the answer's branch.
    const branch = await tx.chat.path({ userId: user.id, conversationId, leafId: messageId, limit: 2 });
    const [question, original] = branch.items.length === 2 ? branch.items : [undefined, branch.items[0]];
    if (original?.id !== messageId || original.role !== 'assistant') {
      throw new HttpError(400, 'validation', 'Only an assistant answer can be regenerated.', 'id');
    }
    const { items } = await tx.chat.siblings({ userId: user.id, messageId, conversationId });
    const asked = question?.role === 'user' ? question.content : '';
    const reply = assistantReply(asked, items.length);
    return tx.chat.regenerate({
      userId: user.id,
      messageId,
      conversationId,
      content: reply.content,
      metadata: { rule: reply.rule, attempt: items.length + 1 },
      usage: assistantUsage(asked, reply.content, performance.now() - started),
    });
  });
  sendJson(ctx.res, 201, { messages: await publicMessages(ctx, user.id, [answer]) });
}

/**
 * POST /api/conversations/:id/branch `{ messageId }`: shows the branch through that version of a
 * message (its newest leaf becomes the conversation's active leaf, for every participant).
 */
export async function switchBranch(ctx: RequestContext): Promise<void> {
  const { user, scope } = await requireUser(ctx);
  const body = await readJson(ctx.req);
  const messageId = stringField(body, 'messageId', 100);
  const conversationId = ctx.params.id ?? '';
  // Checks the ids, that the message is in the conversation and that the user takes part (400/403/404).
  await scope.chat.siblings({ userId: user.id, messageId, conversationId });
  const leaf = await newestLeafThrough(scope, user.id, conversationId, messageId);
  await scope.chat.setActiveLeaf({ userId: user.id, conversationId, messageId: leaf });
  sendJson(ctx.res, 200, { leafId: leaf });
}
