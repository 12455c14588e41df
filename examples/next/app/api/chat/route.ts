import { ChatContentSchema, ChatRoleSchema, StorableTextSchema } from 'carebase/schemas';
import { z } from 'zod';
import { handle, isForm, readBody, redirectTo } from '../../../lib/http';
import { requireUser } from '../../../lib/session';

// The fields this route takes, from carebase's own field schemas (ChatAppendInputSchema itself checks
// "content or parts" with a refinement, which zod does not let `.pick()` carry over).
const Body = z.strictObject({
  role: ChatRoleSchema.optional(),
  content: ChatContentSchema,
  id: StorableTextSchema.min(1).max(200).optional(),
});

/**
 * GET /api/chat?limit=&cursor=: the user's default conversation, oldest first, one keyset page
 * (`nextCursor` is `null` on the last page).
 */
export function GET(request: Request): Promise<Response> {
  return handle(async () => {
    const { user, cb } = await requireUser();
    const params = new URL(request.url).searchParams;
    const limit = params.has('limit') ? Number(params.get('limit')) : undefined;
    const cursor = params.get('cursor') ?? undefined;
    const page = await cb.chat.history({ userId: user.id, limit, cursor });
    return Response.json({ items: page.items, nextCursor: page.nextCursor ?? null });
  });
}

/**
 * POST /api/chat `{ content, role?, id? }` (JSON, or the form on /history): appends to the
 * user's default conversation. `id` makes a retry idempotent. Bad input is a 400; nothing is
 * written.
 */
export function POST(request: Request): Promise<Response> {
  return handle(async () => {
    const { user, cb } = await requireUser();
    const body = await readBody(request, Body);
    // The message, its audit entry and the analytics event commit together or not at all.
    const message = await cb.transaction(async (tx) => {
      const appended = await tx.chat.append({ ...body, userId: user.id, role: body.role ?? 'user' });
      await tx.analytics.track({ userId: user.id, eventType: 'chat', eventName: 'message_sent' });
      return appended;
    });
    if (isForm(request)) return redirectTo('/history');
    return Response.json({ message }, { status: 201 });
  });
}
