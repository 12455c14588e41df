import { refusedByServer } from '../../errors/map-error.js';
import { AfterMicrotasks } from '../after-microtasks.js';
import { type CarebaseRuntime, type RepositoryContext, RuntimeState } from '../context.js';
import { type LeanAppendedRow, leanEligible, type NewMessage, usageParameters } from './append-one.js';
import { preparedQuery } from './sql-text.js';
import { markDirtyText } from './usage-rollups.js';

/**
 * Rows per group statement at most: one statement per group size (2 to MAX_GROUP), each with
 * scalar parameters only, so PostgreSQL plans every size for exactly its rows and settles on a
 * generic plan (an `unnest` of arrays was replanned on every call at small sizes: its generic plan
 * assumes 100 rows). Callers past it form the next group.
 */
const MAX_GROUP = 8;
/**
 * Group statements in flight at once, as for the audit log's insert-only groups. With 8 callers
 * looping, one group carries all 8 (they resume when it commits and append again before the next
 * is sent); more callers than a group holds fill a second one instead of waiting for the first.
 */
const MAX_IN_FLIGHT = 2;
/**
 * How long a lone append holds its slot at most (see `#pump`): past it, a slow single statement
 * (e.g. one waiting on a row lock the host holds) no longer keeps the appends behind it waiting.
 */
const LONE_HOLD_MS = 25;
/** The parameters of one row of a group statement. */
const PER_ROW = 10;
/** The parameters of a row's usage record (usage groups only). */
const PER_USAGE = 10;

/**
 * What the group did with an append: wrote it (`row`), or left it to its caller's single statement
 * (`row` undefined). The caller calls `done` once its own statements settled, always: a lone append
 * holds one of the group's slots until then (see `#pump`).
 */
export interface GroupOutcome {
  readonly row: LeanAppendedRow | undefined;
  readonly done: () => void;
}

const NOTHING_HELD = (): void => undefined;

/** One caller's append waiting for its group. */
interface Pending {
  readonly ctx: RepositoryContext;
  readonly message: NewMessage;
  readonly now: Date;
  readonly resolve: (outcome: GroupOutcome) => void;
  readonly reject: (error: unknown) => void;
}

/**
 * A group of `size` appends in one statement: each row is written when its caller may write to
 * the conversation (an owner or a member, as in the lean single shape) and the conversation has no
 * chosen active leaf; the others are left out, and their callers run the single-message path,
 * which tells why (or writes under the chosen leaf). Each participation and leaf is looked up with
 * the primary keys of conversation_participants and conversations (a LATERAL with LIMIT 1: an
 * index probe per row, whatever the estimates). Rows go in caller order (ORDER BY ord), so their
 * identity ids are drawn in that order: the k-th smallest id written is the k-th row written by
 * ord, which is how each row finds its caller (`numbered`). Each conversation's last_message_at is
 * bumped once (at most once a second, as for single appends) to its newest message. With `usage`,
 * every row carries a usage record, written with its message as the single shape writes it (and
 * its UTC day marked dirty when that day is already rolled up). With `clientIds`, every row carries
 * a client id: a row already stored under it (a retry) is not inserted (ON CONFLICT DO NOTHING),
 * and its caller's single statement then returns the stored row.
 * Per row: author, conversation, role, content, metadata, pinned, parts, parts' searchable text,
 * search tokens, created_at, then with `usage` the record's provider, model, input, output, cached
 * and reasoning tokens, cost, currency, latency and status, then with `clientIds` the client id;
 * last, the search language.
 */
function groupSql(table: (name: string) => string, size: number, kind: GroupKind): string {
  const { usage, clientIds } = kind;
  const width = PER_ROW + (usage ? PER_USAGE : 0) + (clientIds ? 1 : 0);
  const rows = Array.from({ length: size }, (_, i) => {
    const p = (k: number) => `$${i * width + k + 1}`;
    // The usage record's placeholders follow the row's own.
    const u = (k: number) => p(PER_ROW + k);
    const record = usage
      ? `, ${u(0)}::text, ${u(1)}::text, ${u(2)}::bigint, ${u(3)}::bigint, ${u(4)}::bigint, ${u(5)}::bigint, ${u(6)}::numeric, ${u(7)}::text, ${u(8)}::integer, ${u(9)}::text`
      : '';
    const clientId = clientIds ? `, ${p(width - 1)}::text` : '';
    return `(${i + 1}, ${p(0)}::uuid, ${p(1)}::uuid, ${p(2)}::text, ${p(3)}::text, ${p(4)}::jsonb, ${p(5)}::boolean, ${p(6)}::jsonb, ${p(7)}::text, ${p(8)}::bigint[], ${p(9)}::timestamptz${record}${clientId})`;
  }).join(',\n    ');
  const language = `$${size * width + 1}::regconfig`;
  const usageColumns = usage
    ? ', provider, model, input_tokens, output_tokens, cached_tokens, reasoning_tokens, cost, currency, latency_ms, status'
    : '';
  const usageSql = usage
    ? `, usage as (
  insert into ${table('chat_usage')} (user_id, conversation_id, message_id, author_user_id, provider, model,
    input_tokens, output_tokens, cached_tokens, reasoning_tokens, cost, currency, latency_ms, status, created_at)
  select user_id, conversation_id, id, author, provider, model, input_tokens, output_tokens, cached_tokens,
    reasoning_tokens, cost, currency, latency_ms, status, created_at
  from numbered
  returning created_at
), usage_dirty as (
  ${markDirtyText(table, 'usage', 's.created_at')}
)`
    : '';
  // With client ids a row already stored under its id is not inserted (ON CONFLICT): the rows
  // written find their callers by owner and client id, unique within a group (see #pump).
  const numbered = clientIds
    ? 'select a.*, i.id, i.user_id from access a join inserted i on i.user_id = a.owner_id and i.client_id = a.client_id'
    : `select a.*, i.id, i.user_id from (select *, row_number() over (order by ord) as k from access) a
  join (select id, user_id, row_number() over (order by id) as k from inserted) i on i.k = a.k`;
  return `with input (ord, author, conversation_id, role, content, metadata, pinned, parts, parts_search, search_tokens, created_at${usageColumns}${clientIds ? ', client_id' : ''}) as (
  values ${rows}
), access as (
  select i.*, a.owner_id from input i cross join lateral (
    select p.owner_id from ${table('conversation_participants')} p
    join ${table('conversations')} c on c.user_id = p.owner_id and c.id = p.conversation_id
    where p.conversation_id = i.conversation_id and p.user_id = i.author and p.role <> 'viewer'
      and c.active_leaf_id is null
    limit 1
  ) a
), inserted as (
  insert into ${table('chat_messages')} (author_user_id, user_id, conversation_id, role, content, metadata, language, created_at,
    pinned, parts, parts_search, search_tokens${clientIds ? ', client_id' : ''})
  select author, owner_id, conversation_id, role, content, metadata, ${language}, created_at,
    pinned, parts, to_tsvector(${language}, parts_search), search_tokens${clientIds ? ', client_id' : ''}
  from access order by ord${clientIds ? '\n  on conflict (user_id, client_id) where client_id is not null do nothing' : ''}
  returning id, user_id, conversation_id, created_at${clientIds ? ', client_id' : ''}
), numbered as (
  ${numbered}
)${usageSql}, touched as (
  update ${table('conversations')} c set last_message_at = t.latest
  from (select user_id, conversation_id, max(created_at) as latest from inserted group by user_id, conversation_id) t
  where c.user_id = t.user_id and c.id = t.conversation_id and c.last_message_at < t.latest - interval '1 second'
)
select ord, id, user_id, conversation_id from numbered`;
}

/** What the rows of a group carry beyond a message: a usage record each, a client id each. */
interface GroupKind {
  readonly usage: boolean;
  readonly clientIds: boolean;
}

function kindOf(message: NewMessage): GroupKind {
  return { usage: message.usage !== undefined, clientIds: message.clientId !== undefined };
}

/** A written row of a group statement, with its caller's position (1-based). */
interface GroupRow {
  readonly ord: number | string;
  readonly id: string;
  readonly user_id: string;
  readonly conversation_id: string;
}

/**
 * Concurrent single-message appends of one instance, written together: the appends that arrive
 * while a group statement is in flight (or in the same turn of the event loop) go in the next one,
 * so N concurrent writers share one statement, one transaction and one WAL flush, as the audit
 * log's group insert does. A lone append is not grouped (its caller runs the single statement), but
 * holds one of the two slots while it runs: once both are taken, the appends arriving meanwhile wait
 * and go in the next group.
 * Only appends the lean single shape would write are grouped: a given conversation, no explicit
 * parent, outside a transaction, without `rls` (see `groupable`). Appends with a usage record, and
 * appends with a client id, form groups of their own kind (a statement each).
 *
 * A group the server refused (nothing written: a constraint, a cancelled statement) sends each of
 * its callers to the single path, so a bad append fails only its own call. After a connection-level
 * error the outcome is unknown and every append of the group fails with it, as a single append
 * would.
 */
export class ChatAppendGroup {
  readonly #runtime: CarebaseRuntime;
  #queue: Pending[] = [];
  #inFlight = 0;
  readonly #idle = new Set<() => void>();
  readonly #pumpSoon = new AfterMicrotasks(() => this.#pump());

  constructor(runtime: CarebaseRuntime) {
    this.#runtime = runtime;
  }

  /**
   * Writes `message` (already sealed when encryption is on) at `now` with the appends made
   * concurrently. Resolves with the row written, or with no row when the group did not write it:
   * the caller then runs its single statement, and calls `done` once it settled.
   */
  append(ctx: RepositoryContext, message: NewMessage, now: Date): Promise<GroupOutcome> {
    return new Promise((resolve, reject) => {
      this.#queue.push({ ctx, message, now, resolve, reject });
      this.#pumpSoon.schedule();
    });
  }

  /** Resolves once no group statement is in flight (the close hook). */
  close(): Promise<void> {
    if (this.#inFlight === 0) return Promise.resolve();
    return new Promise((resolve) => this.#idle.add(resolve));
  }

  #pump(): void {
    while (this.#inFlight < MAX_IN_FLIGHT && this.#queue.length > 0) {
      // A group is of one kind (a statement each): with or without usage records, with or without
      // client ids. A client id appears once in a group: a second append under it (a retry racing
      // the first) goes in a later group or alone, and finds the first's row.
      const kind = kindOf((this.#queue[0] as Pending).message);
      const group: Pending[] = [];
      const rest: Pending[] = [];
      const clientIds = new Set<string>();
      for (const pending of this.#queue) {
        const { usage, clientIds: withId } = kindOf(pending.message);
        const clientId = pending.message.clientId;
        if (
          group.length < MAX_GROUP &&
          usage === kind.usage &&
          withId === kind.clientIds &&
          (clientId === undefined || !clientIds.has(clientId))
        ) {
          group.push(pending);
          if (clientId !== undefined) clientIds.add(clientId);
        } else rest.push(pending);
      }
      this.#queue = rest;
      this.#inFlight++;
      if (group.length === 1) {
        // A lone append: its caller's single statement is the cheapest. It holds a slot until that
        // statement settles (at most LONE_HOLD_MS), so once both slots are taken the appends
        // arriving meanwhile wait and go together: callers that drifted apart, as under any real
        // load, form groups again instead of each going alone for good (sealed appends, 8 writers:
        // every append was lone before).
        (group[0] as Pending).resolve({ row: undefined, done: this.#hold() });
        continue;
      }
      this.#write(group, kind)
        // #write settles every caller itself; anything it threw first fails the group's callers,
        // never the process (a caller already settled ignores it).
        .catch((error: unknown) => {
          for (const pending of group) pending.reject(error);
        })
        .finally(() => this.#settled());
    }
  }

  /** A slot's end: the next group may go; close() resolves once no slot is taken. */
  #settled(): void {
    this.#inFlight--;
    if (this.#inFlight === 0) {
      for (const resolve of this.#idle) resolve();
      this.#idle.clear();
    }
    this.#pumpSoon.schedule();
  }

  /** The release of a lone append's slot: once, by its caller or after LONE_HOLD_MS. */
  #hold(): () => void {
    let held = true;
    const release = () => {
      if (!held) return;
      held = false;
      clearTimeout(timer);
      this.#settled();
    };
    const timer = setTimeout(release, LONE_HOLD_MS);
    timer.unref();
    return release;
  }

  async #write(group: readonly Pending[], kind: GroupKind): Promise<void> {
    const [first] = group as [Pending, ...Pending[]];
    const parameters: unknown[] = [];
    for (const { message, now } of group) {
      const record = message.usage;
      parameters.push(
        message.userId,
        message.conversationId,
        message.role,
        message.content,
        message.metadata,
        message.pinned ?? false,
        message.parts,
        message.partsSearch,
        message.searchTokens ?? null,
        now,
      );
      if (record !== undefined) parameters.push(...usageParameters(record));
      if (message.clientId !== undefined) parameters.push(message.clientId);
    }
    parameters.push(first.ctx.config.chat.searchLanguage);
    const query = preparedQuery<GroupRow>(
      first.ctx,
      `append-group-${kind.usage ? 'usage-' : ''}${kind.clientIds ? 'client-id-' : ''}${group.length}`,
      (t) => groupSql(t, group.length, kind),
      parameters,
    );
    let rows: GroupRow[];
    try {
      rows = await this.#runtime.runPrepared<GroupRow>(query);
    } catch (error) {
      // Refused by the server: nothing was written, each caller runs alone (and fails alone).
      if (refusedByServer(error))
        for (const pending of group) pending.resolve({ row: undefined, done: NOTHING_HELD });
      else for (const pending of group) pending.reject(error);
      return;
    }
    const written = new Map<number, GroupRow>();
    for (const row of rows) written.set(Number(row.ord), row);
    group.forEach((pending, i) => {
      const row = written.get(i + 1);
      pending.resolve({
        row:
          row === undefined
            ? undefined
            : {
                id: String(row.id),
                user_id: row.user_id,
                conversation_id: row.conversation_id,
                parent_id: null,
                existing: false,
              },
        done: NOTHING_HELD,
      });
    });
  }
}

const APPEND_GROUP = new RuntimeState('chat append group', (runtime) => new ChatAppendGroup(runtime));

/** The instance's append group. */
export function appendGroupOf(runtime: CarebaseRuntime): ChatAppendGroup {
  return runtime.state(APPEND_GROUP);
}

/**
 * Whether a single-message append may join a group: what the lean single shape writes (a given
 * conversation, no explicit parent or root; with or without a client id or a usage record), outside a transaction
 * (a caller's transaction owns its writes) and without `rls` (each statement then runs for one
 * user).
 */
export function groupable(ctx: RepositoryContext, message: NewMessage): boolean {
  return (
    message.conversationId !== undefined && leanEligible(message) && !ctx.inTransaction && !ctx.config.rls
  );
}
