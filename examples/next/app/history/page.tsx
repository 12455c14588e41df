import { isCarebaseError } from 'carebase';
import Link from 'next/link';
import { redirect } from 'next/navigation';
import { getSession } from '../../lib/session';

/**
 * The signed-in user's chat history, rendered on the server straight from carebase (no API
 * round trip), newest first, one keyset page at a time.
 */
export default async function History({
  searchParams,
}: {
  readonly searchParams: Promise<Record<string, string | string[] | undefined>>;
}) {
  const signedIn = await getSession();
  if (signedIn === null) redirect('/');
  const { cursor } = await searchParams;
  const page = await signedIn.cb.chat
    .history({
      userId: signedIn.user.id,
      limit: 50,
      order: 'desc',
      ...(typeof cursor === 'string' ? { cursor } : {}),
    })
    .catch((error: unknown) => {
      // A stale or edited cursor in the address bar: start again from the newest message.
      if (isCarebaseError(error, 'VALIDATION_FAILED')) redirect('/history');
      throw error;
    });
  return (
    <main>
      <h1>Chat history of {signedIn.user.displayName ?? signedIn.user.username}</h1>
      {page.items.length === 0 ? <p>No messages yet.</p> : null}
      <ol>
        {page.items.map((message) => (
          <li key={message.id}>
            <strong>{message.role}</strong> <time>{message.createdAt.toISOString()}</time>
            <p>{message.content}</p>
          </li>
        ))}
      </ol>
      {page.nextCursor === undefined ? null : (
        <Link href={`/history?cursor=${encodeURIComponent(page.nextCursor)}`}>Older messages</Link>
      )}
      <form action="/api/chat" method="post">
        <textarea name="content" required rows={3} cols={60} />
        <button type="submit">Send</button>
      </form>
      <form action="/api/logout" method="post">
        <button type="submit">Sign out</button>
      </form>
    </main>
  );
}
