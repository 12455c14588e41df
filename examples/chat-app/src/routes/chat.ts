/** The chat: history pages, sending a message, search and export. */
import { pipeline } from 'node:stream/promises';
import type { ChatMessage } from 'carebase';
import { assistantReply } from '../assistant.ts';
import { type RequestContext, requireUser } from '../context.ts';
import { HttpError, readJson, sendJson, stringField } from '../http.ts';

/** The fields of a message the browser sees. */
function publicMessage(message: ChatMessage): {
  id: string;
  role: string;
  content: string;
  createdAt: string;
} {
  return {
    id: message.id,
    role: message.role,
    content: message.content,
    createdAt: message.createdAt.toISOString(),
  };
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
 * GET /api/messages?cursor=&limit=: one page of the user's history, newest first. `nextCursor`
 * fetches the next (older) page; the browser asks for it when the reader scrolls to the top.
 */
export async function history(ctx: RequestContext): Promise<void> {
  const { user, scope } = await requireUser(ctx);
  const limit = intParam(ctx.url, 'limit', 1, 100, ctx.settings.pageSize);
  const cursor = ctx.url.searchParams.get('cursor') ?? undefined;
  const page = await scope.chat.history({
    userId: user.id,
    limit,
    order: 'desc',
    ...(cursor === undefined ? {} : { cursor }),
  });
  sendJson(ctx.res, 200, { items: page.items.map(publicMessage), nextCursor: page.nextCursor ?? null });
}

/**
 * POST /api/messages `{ content }`: stores the question and the assistant's answer, in one
 * transaction (both or neither), and returns both.
 */
export async function send(ctx: RequestContext): Promise<void> {
  const { user, scope } = await requireUser(ctx);
  const body = await readJson(ctx.req);
  const content = stringField(body, 'content', 100_000);
  const started = performance.now();
  const reply = assistantReply(content);
  const stored = await scope.transaction(async (tx) => [
    await tx.chat.append({ userId: user.id, role: 'user', content }),
    await tx.chat.append({
      userId: user.id,
      role: 'assistant',
      content: reply.content,
      metadata: { rule: reply.rule },
    }),
  ]);
  await scope.analytics.track({
    userId: user.id,
    eventType: 'chat',
    eventName: 'chat.message_sent',
    data: { rule: reply.rule },
  });
  // The answer's cost figures (a real assistant reports its model's token counts): numbers only.
  const tokens = Math.ceil((content.length + reply.content.length) / 4);
  await scope.analytics.track({
    userId: user.id,
    eventType: 'chat',
    eventName: 'chat.answer',
    measures: {
      tokens,
      costUsd: (tokens * 0.000002).toFixed(6),
      latencyMs: Math.round(performance.now() - started),
    },
  });
  sendJson(ctx.res, 201, { messages: stored.map(publicMessage) });
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
  sendJson(ctx.res, 200, {
    items: items.map((hit) => ({ ...publicMessage(hit.message), snippet: snippetParts(hit.snippet) })),
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
