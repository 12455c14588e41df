import { AsyncLocalStorage } from 'node:async_hooks';

/** A uuid in its canonical text form: the only thing ever written into a `begin` as a literal. */
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** The row-level security user the next `begin` of this async path should set; see below. */
interface PendingActingUser {
  userId: string | undefined;
}

const pending = new AsyncLocalStorage<PendingActingUser>();

/**
 * Runs `open` (which opens one transaction) so that its `begin` also sets `carebase.actor_user_id`
 * to `userId` in the same round trip (`begin; select set_config(..., true)`), when the connection
 * supports it (see {@link takeActingUserForBegin}). Returns whether it did, with `open`'s result.
 */
export async function withActingUserForBegin<T>(
  userId: string,
  open: (applied: () => boolean) => Promise<T>,
): Promise<T> {
  const state: PendingActingUser = { userId: UUID.test(userId) ? userId : undefined };
  const requested = state.userId !== undefined;
  return pending.run(state, () => open(() => requested && state.userId === undefined));
}

/**
 * For a pooled connection about to send `begin`: the statement to send with it that sets the
 * pending acting user, consumed so that no later `begin` on the same async path (background work
 * started inside the transaction) repeats it; `''` when there is none.
 */
export function takeActingUserForBegin(): string {
  const state = pending.getStore();
  const userId = state?.userId;
  if (state === undefined || userId === undefined) return '';
  state.userId = undefined;
  return `; select set_config('carebase.actor_user_id', '${userId}', true)`;
}
