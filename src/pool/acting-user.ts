import { AsyncLocalStorage } from 'node:async_hooks';

/** A uuid in its canonical text form: the only thing ever written into a `begin` as a literal. */
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** A system scope name (`analytics`, `chat_usage`): the only other thing ever written into a `begin`. */
const SCOPE = /^[a-z][a-z_]{0,31}$/;

/**
 * The row-level security settings of a transaction carebase opens: the acting user
 * (`carebase.actor_user_id`) and the system scope (`carebase.system_scope`, migration 0047).
 */
export interface RowSecuritySettings {
  readonly userId?: string | undefined;
  readonly scope?: string | undefined;
}

/** The row-level security settings the next `begin` of this async path should set; see below. */
interface PendingSettings {
  statement: string;
}

const pending = new AsyncLocalStorage<PendingSettings>();

/**
 * The `set_config` calls for `settings`, or `''` when there is none or a value is not a validated
 * literal (the caller then sets them as parameters, see {@link withActingUserForBegin}).
 */
function settingsStatement(settings: RowSecuritySettings): string {
  const calls: string[] = [];
  if (settings.userId !== undefined) {
    if (!UUID.test(settings.userId)) return '';
    calls.push(`set_config('carebase.actor_user_id', '${settings.userId}', true)`);
  }
  if (settings.scope !== undefined) {
    if (!SCOPE.test(settings.scope)) return '';
    calls.push(`set_config('carebase.system_scope', '${settings.scope}', true)`);
  }
  return calls.length === 0 ? '' : `; select ${calls.join(', ')}`;
}

/**
 * Runs `open` (which opens one transaction) so that its `begin` also sets `carebase.actor_user_id`
 * (and `carebase.system_scope`) in the same round trip (`begin; select set_config(..., true)`), when
 * the connection supports it (see {@link takeActingUserForBegin}). `applied()` tells `open` whether
 * it did.
 */
export async function withActingUserForBegin<T>(
  settings: RowSecuritySettings,
  open: (applied: () => boolean) => Promise<T>,
): Promise<T> {
  const state: PendingSettings = { statement: settingsStatement(settings) };
  const requested = state.statement !== '';
  return pending.run(state, () => open(() => requested && state.statement === ''));
}

/**
 * For a pooled connection about to send `begin`: the statement to send with it that sets the
 * pending row-level security settings, consumed so that no later `begin` on the same async path
 * (background work started inside the transaction) repeats it; `''` when there is none.
 */
export function takeActingUserForBegin(): string {
  const state = pending.getStore();
  if (state === undefined || state.statement === '') return '';
  const statement = state.statement;
  state.statement = '';
  return statement;
}
