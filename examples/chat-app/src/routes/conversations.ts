/**
 * The conversation sidebar: list (active or archived), create, rename and archive, and who takes
 * part in a shared conversation. Every call acts as the signed-in user; carebase checks that they
 * take part (a stranger gets 403, a viewer cannot rename).
 */
import type { Conversation } from 'carebase';
import { type RequestContext, requireUser } from '../context.ts';
import { HttpError, readJson, sendJson } from '../http.ts';
import { displayNames } from '../people.ts';

/** The fields of a conversation the browser sees. */
export interface PublicConversation {
  id: string;
  title: string | null;
  isDefault: boolean;
  status: string;
  version: number;
  archived: boolean;
  lastMessageAt: string;
  /** The signed-in user's role in it. */
  role: 'owner' | 'member' | 'viewer';
  /** The owner's display name when someone else owns it (a conversation shared with the user). */
  sharedBy: string | null;
}

function publicConversation(
  conversation: Conversation,
  role: PublicConversation['role'],
  sharedBy: string | null,
): PublicConversation {
  return {
    id: conversation.id,
    title: conversation.title,
    isDefault: conversation.isDefault,
    status: conversation.status,
    version: conversation.version,
    archived: conversation.archivedAt !== null,
    lastMessageAt: conversation.lastMessageAt.toISOString(),
    role,
    sharedBy,
  };
}

/**
 * GET /api/conversations?archived=exclude|only&cursor=: the conversations the user takes part in
 * (their own and those shared with them), most recent activity first.
 */
export async function list(ctx: RequestContext): Promise<void> {
  const { user, scope } = await requireUser(ctx);
  const archived = ctx.url.searchParams.get('archived') ?? 'exclude';
  if (archived !== 'exclude' && archived !== 'only') {
    throw new HttpError(400, 'validation', 'archived must be exclude or only.', 'archived');
  }
  const cursor = ctx.url.searchParams.get('cursor') ?? undefined;
  const page = await scope.chat.listConversations({
    userId: user.id,
    archived,
    limit: 50,
    ...(cursor === undefined ? {} : { cursor }),
  });
  const shared = page.items.filter((conversation) => conversation.userId !== user.id);
  const [owners, roles] = await Promise.all([
    displayNames(
      ctx.cb,
      shared.map((conversation) => conversation.userId),
    ),
    Promise.all(
      shared.map(async (conversation) => {
        const people = await scope.chat.listParticipants({
          userId: user.id,
          conversationId: conversation.id,
        });
        return [
          conversation.id,
          people.find((person) => person.userId === user.id)?.role ?? 'viewer',
        ] as const;
      }),
    ),
  ]);
  const roleOf = new Map(roles);
  sendJson(ctx.res, 200, {
    items: page.items.map((conversation) =>
      conversation.userId === user.id
        ? publicConversation(conversation, 'owner', null)
        : publicConversation(
            conversation,
            roleOf.get(conversation.id) ?? 'viewer',
            owners.get(conversation.userId) ?? 'another user',
          ),
    ),
    nextCursor: page.nextCursor ?? null,
  });
}

/** An optional title field: a string of at most 200 characters, or null; undefined when absent. */
function titleField(body: Record<string, unknown>): string | null | undefined {
  const value = body.title;
  if (value === undefined || value === null) return value;
  if (typeof value !== 'string') throw new HttpError(400, 'validation', 'title must be text.', 'title');
  const title = value.trim();
  if (title.length > 200) throw new HttpError(400, 'validation', 'title is too long.', 'title');
  return title === '' ? null : title;
}

/** POST /api/conversations `{ title? }`: a new conversation owned by the user. */
export async function create(ctx: RequestContext): Promise<void> {
  const { user, scope } = await requireUser(ctx);
  const title = titleField(await readJson(ctx.req));
  const conversation = await scope.chat.createConversation({
    userId: user.id,
    ...(title === undefined || title === null ? {} : { title }),
  });
  sendJson(ctx.res, 201, { conversation: publicConversation(conversation, 'owner', null) });
}

/**
 * PATCH /api/conversations/:id `{ title?, archived?, expectedVersion? }`: rename and/or archive
 * (`archived: false` brings it back). With `expectedVersion` a concurrent change answers 409.
 */
export async function update(ctx: RequestContext): Promise<void> {
  const { user, scope } = await requireUser(ctx);
  const body = await readJson(ctx.req);
  const title = titleField(body);
  const { archived, expectedVersion } = body;
  if (archived !== undefined && typeof archived !== 'boolean') {
    throw new HttpError(400, 'validation', 'archived must be true or false.', 'archived');
  }
  if (expectedVersion !== undefined && !Number.isInteger(expectedVersion)) {
    throw new HttpError(400, 'validation', 'expectedVersion must be an integer.', 'expectedVersion');
  }
  if (title === undefined && archived === undefined) {
    throw new HttpError(400, 'validation', 'Send a title or archived.', 'title');
  }
  const conversation = await scope.chat.updateConversation(ctx.params.id ?? '', {
    userId: user.id,
    ...(title === undefined ? {} : { title }),
    ...(archived === undefined ? {} : { archived }),
    ...(expectedVersion === undefined ? {} : { expectedVersion: expectedVersion as number }),
  });
  const sharedBy =
    conversation.userId === user.id
      ? null
      : ((await displayNames(ctx.cb, [conversation.userId])).get(conversation.userId) ?? 'another user');
  sendJson(ctx.res, 200, {
    conversation: publicConversation(conversation, sharedBy === null ? 'owner' : 'member', sharedBy),
  });
}

/** GET /api/conversations/:id/participants: who takes part, with display names (participants only). */
export async function participants(ctx: RequestContext): Promise<void> {
  const { user, scope } = await requireUser(ctx);
  const people = await scope.chat.listParticipants({ userId: user.id, conversationId: ctx.params.id ?? '' });
  const names = await displayNames(
    ctx.cb,
    people.map((person) => person.userId),
  );
  sendJson(ctx.res, 200, {
    items: people.map((person) => ({
      userId: person.userId,
      name: names.get(person.userId) ?? 'a former user',
      role: person.role,
      you: person.userId === user.id,
    })),
  });
}
