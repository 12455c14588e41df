import Link from 'next/link';
import { getSession } from '../lib/session';

/** The login form (a plain HTML form posting to /api/login, which redirects to /history). */
export default async function Home({
  searchParams,
}: {
  readonly searchParams: Promise<Record<string, string | string[] | undefined>>;
}) {
  const signedIn = await getSession();
  if (signedIn !== null) {
    return (
      <main>
        <p>
          Signed in as {signedIn.user.username}. <Link href="/history">Your chat history</Link>
        </p>
      </main>
    );
  }
  const { error } = await searchParams;
  return (
    <main>
      <h1>Sign in</h1>
      {error === undefined ? null : <p role="alert">Invalid username or password.</p>}
      <form action="/api/login" method="post">
        <p>
          <label>
            Username or email <input name="login" autoComplete="username" required />
          </label>
        </p>
        <p>
          <label>
            Password <input name="password" type="password" autoComplete="current-password" required />
          </label>
        </p>
        <button type="submit">Sign in</button>
      </form>
    </main>
  );
}
