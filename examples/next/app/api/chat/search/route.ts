import { handle } from '../../../../lib/http';
import { requireUser } from '../../../../lib/session';

/** GET /api/chat/search?q=&limit=&cursor=: full-text search of the user's messages. */
export function GET(request: Request): Promise<Response> {
  return handle(async () => {
    const { user, cb } = await requireUser();
    const params = new URL(request.url).searchParams;
    const limit = params.has('limit') ? Number(params.get('limit')) : undefined;
    const cursor = params.get('cursor') ?? undefined;
    const page = await cb.chat.search({ userId: user.id, query: params.get('q') ?? '', limit, cursor });
    return Response.json({ items: page.items, nextCursor: page.nextCursor ?? null });
  });
}
