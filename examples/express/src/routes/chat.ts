import type { Carebase, ChatAppendInput, ChatExportInput } from 'carebase';
import { Router } from 'express';
import { definedOnly, jsonBody, queryInteger, queryText } from '../http-input.ts';
import { scopedCarebase, signedIn } from '../request-context.ts';
import { requireSession } from '../session.ts';

const EXPORT_TYPES: Record<string, string> = {
  jsonl: 'application/x-ndjson; charset=utf-8',
  json: 'application/json; charset=utf-8',
  csv: 'text/csv; charset=utf-8',
};

/**
 * The signed-in user's chat history. Every call passes `userId` from the session, never from the
 * request, and carebase checks that a `conversationId` belongs to that user, so one user cannot
 * read or write another's messages.
 */
export function chatRoutes(cb: Carebase): Router {
  const router = Router();
  router.use(requireSession(cb));

  // POST /chat/messages { content, role?, conversationId?, id? }
  router.post('/messages', async (req, res) => {
    const body = jsonBody(req);
    const { user } = signedIn(res);
    const message = await scopedCarebase(res).chat.append({
      userId: user.id,
      role: body.role ?? 'user',
      content: body.content,
      conversationId: body.conversationId,
      // A client-chosen id makes retries idempotent: the same id returns the first message.
      id: body.id,
    } as ChatAppendInput);
    await cb.analytics.track({ userId: user.id, eventType: 'chat', eventName: 'message_sent' });
    res.status(201).json({ message });
  });

  // GET /chat/messages?limit=&cursor=&conversationId=&order=asc|desc
  router.get('/messages', async (req, res) => {
    // Keyset paging: `nextCursor` marks the last row returned, so pages never shift or repeat
    // while new messages arrive, and a deep page costs what the first one does.
    const page = await scopedCarebase(res).chat.history({
      userId: signedIn(res).user.id,
      ...definedOnly({
        cursor: queryText(req, 'cursor'),
        limit: queryInteger(req, 'limit'),
        conversationId: queryText(req, 'conversationId'),
        order: queryText(req, 'order') as 'asc' | 'desc' | undefined, // carebase checks the value
      }),
    });
    res.json({ items: page.items, nextCursor: page.nextCursor ?? null }); // null: the last page
  });

  // GET /chat/search?q=&limit=&cursor=
  router.get('/search', async (req, res) => {
    // `q` uses web-search syntax: "exact phrase", or, -excluded. Snippets wrap hits in <b>...</b>
    // and are NOT HTML-escaped: a browser client must escape the text before rendering it.
    const page = await scopedCarebase(res).chat.search({
      userId: signedIn(res).user.id,
      query: queryText(req, 'q') ?? '',
      ...definedOnly({ cursor: queryText(req, 'cursor'), limit: queryInteger(req, 'limit') }),
    });
    res.json({ items: page.items, nextCursor: page.nextCursor ?? null });
  });

  // GET /chat/export?format=jsonl|json|csv&conversationId=  (a download, streamed in constant memory)
  router.get('/export', (req, res, next) => {
    const format = queryText(req, 'format') ?? 'jsonl';
    // Throws a ValidationError synchronously for an unknown format, before any header is set.
    const stream = scopedCarebase(res).chat.export({
      userId: signedIn(res).user.id,
      format,
      ...definedOnly({ conversationId: queryText(req, 'conversationId') }),
    } as ChatExportInput);
    const day = new Date().toISOString().slice(0, 10);
    res.set('Content-Type', EXPORT_TYPES[format] ?? 'application/octet-stream');
    res.set('Content-Disposition', `attachment; filename="chat-${day}.${format}"`);
    res.set('Cache-Control', 'no-store'); // it is the user's data: no shared caches
    // A failure before the first byte still gets a JSON error; later, the error handler cuts the
    // connection. A client that hangs up stops the database cursor.
    stream.on('error', (error) => {
      if (!res.headersSent) res.removeHeader('Content-Disposition'); // the JSON error is no download
      next(error);
    });
    res.on('close', () => stream.destroy());
    stream.pipe(res);
  });

  return router;
}
