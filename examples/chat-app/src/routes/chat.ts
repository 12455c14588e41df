/** The chat: history pages, sending a message, search and export. */

import { pipeline } from 'node:stream/promises';
import type { ChatMessage } from 'carebase';
import { assistantReply, assistantUsage } from '../assistant.ts';
import { type BranchInfo, branchInfo } from '../branches.ts';
import { type RequestContext, requireUser } from '../context.ts';
import { HttpError, readJson, sendJson, stringField } from '../http.ts';
import { replyParts, type ToolCard, toolCards } from '../parts.ts';
import { displayNames } from '../people.ts';

/** The fields of a message the browser sees. */
export interface PublicMessage {
  id: string;
  role: string;
  content: string;
  createdAt: string;
  conversationId: string;
  /** Who wrote it: `you`, or the display name of another participant (shared conversations). */
  author: string;
  /** The tools the assistant called for it: a tool-call part with its tool-result part. */
  tools: ToolCard[];
  /** Its versions (`< 2/3 >`), when it has more than one; on pages of a conversation's path. */
  branch: BranchInfo | null;
}

/** The messages as the browser sees them, `viewerId`'s own marked `you`. */
export async function publicMessages(
  ctx: RequestContext,
  viewerId: string,
  messages: readonly ChatMessage[],
  branches: ReadonlyMap<string, BranchInfo> = new Map(),
): Promise<PublicMessage[]> {
  const others = messages.flatMap((message) =>
    message.authorUserId === viewerId ? [] : [message.authorUserId],
  );
  const names = await displayNames(ctx.cb, others);
  return messages.map((message) => ({
    id: message.id,
    role: message.role,
    content: message.content,
    createdAt: message.createdAt.toISOString(),
    conversationId: message.conversationId,
    author: message.authorUserId === viewerId ? 'you' : (names.get(message.authorUserId) ?? 'a former user'),
    tools: toolCards(message.parts),
    branch: branches.get(message.id) ?? null,
  }));
}

/** The optional conversation id of a request (query `conversation` or body `conversationId`). */
function conversationParam(value: unknown, field: string): string | undefined {
  if (value === undefined || value === null || value === '') return undefined;
  if (typeof value !== 'string') throw new HttpError(400, 'validation', `${field} must be an id.`, field);
  return value; // carebase validates the format (400 naming the field) and participation (403)
}

/** An optional integer query parameter within [min, max]; 400 otherwise. */
function intParam(url: URL, name: string, min: number, max: number, fallback: number): number {
  const raw = url.searchParams.get(name);
  if (raw === null) return fallback;
  const value = Number(raw);
  if (!Number.isInteger(value) || value < min || value > max) {
    throw new HttpError(400, 'validation', `${name} must be an integer from ${min} to ${max}.`, name);
  }
  return value;
}

/**
 * GET /api/messages?conversation=&cursor=&limit=: one page of a conversation's active path
 * (`chat.path`: root to the active leaf, so edits and regenerations show one branch), newest
 * first, each message with its versions (`chat.siblings`). Without `conversation`: the user's
 * default conversation's history. `nextCursor` fetches the next (older) page; the browser asks
 * for it when the reader scrolls to the top. Someone else's conversation answers 403 unless the
 * user takes part in it.
 */
export async function history(ctx: RequestContext): Promise<void> {
  const { user, scope } = await requireUser(ctx);
  const limit = intParam(ctx.url, 'limit', 1, 100, ctx.settings.pageSize);
  const cursor = ctx.url.searchParams.get('cursor') ?? undefined;
  const conversationId = conversationParam(ctx.url.searchParams.get('conversation'), 'conversation');
  if (conversationId !== undefined) {
    const path = await scope.chat.path({
      userId: user.id,
      conversationId,
      limit,
      ...(cursor === undefined ? {} : { cursor }),
    });
    const branches = await branchInfo(scope, user.id, conversationId, path.items);
    const newestFirst = path.items.toReversed();
    sendJson(ctx.res, 200, {
      items: await publicMessages(ctx, user.id, newestFirst, branches),
      nextCursor: path.nextCursor ?? null,
    });
    return;
  }
  const page = await scope.chat.history({
    userId: user.id,
    limit,
    order: 'desc',
    ...(conversationId === undefined ? {} : { conversationId }),
    ...(cursor === undefined ? {} : { cursor }),
  });
  sendJson(ctx.res, 200, {
    items: await publicMessages(ctx, user.id, page.items),
    nextCursor: page.nextCursor ?? null,
  });
}

/**
 * POST /api/messages `{ content, conversationId? }`: stores the message and, when the user asks in
 * their own conversation, the assistant's answer with its usage (tokens and cost), in one
 * transaction (all or nothing), and returns them. In a conversation shared with them (a clinician
 * in a patient's thread) the user's message is a human reply: the assistant stays out of it.
 */
export async function send(ctx: RequestContext): Promise<void> {
  const { user, scope } = await requireUser(ctx);
  const body = await readJson(ctx.req);
  const content = stringField(body, 'content', 100_000);
  const conversationId = conversationParam(body.conversationId, 'conversationId');
  const started = performance.now();
  const reply = assistantReply(content);
  const stored = await scope.transaction(async (tx) => {
    const owner =
      conversationId === undefined
        ? user.id
        : (await tx.chat.getConversation({ userId: user.id, conversationId })).userId;
    const question = await tx.chat.append({
      userId: user.id,
      role: 'user',
      content,
      ...(conversationId === undefined ? {} : { conversationId }),
    });
    if (owner !== user.id) return { messages: [question], usage: undefined };
    const usage = assistantUsage(content, reply.content, performance.now() - started);
    const answer = await tx.chat.append({
      userId: user.id,
      role: 'assistant',
      content: reply.content,
      ...replyParts(reply),
      conversationId: question.conversationId,
      metadata: { rule: reply.rule },
      usage,
    });
    return { messages: [question, answer], usage };
  });
  const { usage } = stored;
  await scope.analytics.track({
    userId: user.id,
    eventType: 'chat',
    eventName: usage === undefined ? 'chat.reply_sent' : 'chat.message_sent',
    data: usage === undefined ? { shared: true } : { rule: reply.rule },
  });
  if (usage !== undefined) {
    // The answer's figures for the dashboard's latency chart: numbers only, never content.
    await scope.analytics.track({
      userId: user.id,
      eventType: 'chat',
      eventName: 'chat.answer',
      measures: {
        tokens: usage.inputTokens + usage.outputTokens,
        costUsd: usage.cost,
        latencyMs: usage.latencyMs,
      },
    });
  }
  sendJson(ctx.res, 201, { messages: await publicMessages(ctx, user.id, stored.messages) });
}

/** Splits a `ts_headline` snippet (`... <b>hit</b> ...`) into text runs, so no HTML is sent. */
function snippetParts(snippet: string): { text: string; hit: boolean }[] {
  const parts: { text: string; hit: boolean }[] = [];
  let hit = false;
  for (const piece of snippet.split(/(<\/?b>)/)) {
    if (piece === '<b>') hit = true;
    else if (piece === '</b>') hit = false;
    else if (piece !== '') parts.push({ text: piece, hit });
  }
  return parts;
}

/** GET /api/search?q=: the user's messages matching `q` (web-search syntax), best first. */
export async function search(ctx: RequestContext): Promise<void> {
  const { user, scope } = await requireUser(ctx);
  const query = (ctx.url.searchParams.get('q') ?? '').trim();
  if (query === '') throw new HttpError(400, 'validation', 'Type something to search for.', 'q');
  if (query.length > 200) throw new HttpError(400, 'validation', 'The search is too long.', 'q');
  const { items } = await scope.chat.search({ userId: user.id, query, limit: 20 });
  // Counts only: the search text may hold patient details and stays out of analytics.
  await scope.analytics.track({
    userId: user.id,
    eventType: 'chat',
    eventName: 'chat.search',
    data: { hits: items.length },
  });
  const messages = await publicMessages(
    ctx,
    user.id,
    items.map((hit) => hit.message),
  );
  sendJson(ctx.res, 200, {
    items: items.map((hit, index) => ({ ...messages[index], snippet: snippetParts(hit.snippet) })),
  });
}

const EXPORT_TYPES: Record<string, string> = {
  jsonl: 'application/x-ndjson; charset=utf-8',
  json: 'application/json; charset=utf-8',
  csv: 'text/csv; charset=utf-8',
};

/** GET /api/export?format=jsonl|json|csv: the user's whole chat as a download, streamed. */
export async function exportChat(ctx: RequestContext): Promise<void> {
  const { user, scope } = await requireUser(ctx);
  const format = ctx.url.searchParams.get('format') ?? 'jsonl';
  if (format !== 'jsonl' && format !== 'json' && format !== 'csv') {
    throw new HttpError(400, 'validation', 'format must be jsonl, json or csv.', 'format');
  }
  const stream = scope.chat.export({ userId: user.id, format });
  await scope.analytics.track({
    userId: user.id,
    eventType: 'chat',
    eventName: 'chat.export',
    data: { format },
  });
  ctx.res.writeHead(200, {
    'content-type': EXPORT_TYPES[format],
    'content-disposition': `attachment; filename="chat-${(user.username ?? user.id).replace(/[^\w.-]/g, '_')}.${format}"`,
    'cache-control': 'no-store',
  });
  // Headers are gone once streaming starts: a failure mid-way can only cut the download short.
  await pipeline(stream, ctx.res);
}
