import { isIP } from 'node:net';
import { CompiledQuery, type Kysely, type Transaction } from 'kysely';
import type pg from 'pg';
import { z } from 'zod';
import type { ResolvedConfig } from '../config/resolve.js';
import type { CarebaseKyselyPool } from '../pool/kysely-pool.js';
import type { PreparedStatements } from '../pool/prepared-statements.js';
import type { Replica } from '../pool/replica.js';
import type { ReplicaSet } from '../pool/replica-set.js';
import {
  actingUserOf,
  runTransaction,
  setActingUser,
  setSystemScope,
  systemScopeOf,
  type TransactionOptions,
} from '../pool/transaction.js';
import type { CarebaseDatabase } from '../schema/database.js';
import { Telemetry } from '../telemetry/telemetry.js';
import { truncateText } from '../validation/text.js';

/**
 * Who is acting: attached to every audit entry written through a scope made by
 * `cb.withActor(actor)`. All fields are optional; `type` defaults to `user` when `userId` is set
 * and `system` otherwise.
 *
 * @example
 * ```ts
 * import { ActorSchema } from 'carebase/schemas';
 * // Per request: a malformed client IP (e.g. from a proxy header) is left out instead of failing the request.
 * const parsed = ActorSchema.safeParse({
 *   userId: req.user.id,
 *   ip: req.ip,
 *   requestId: req.get('x-request-id'),
 * });
 * const scoped = cb.withActor(parsed.success ? parsed.data : { userId: req.user.id });
 * await scoped.users.update(req.user.id, { displayName: 'Ana P.' });
 * ```
 */
export const ActorSchema = z.strictObject({
  /** The acting user's id, or `null` for the system. */
  userId: z.uuid().nullable().optional(),
  /** What kind of actor this is. */
  type: z.enum(['user', 'system', 'service']).optional(),
  /** The client's IP address (IPv4 or IPv6). */
  ip: z
    .string()
    .refine((value) => isIP(value) !== 0, 'must be an IPv4 or IPv6 address')
    .optional(),
  /** The client's User-Agent header, truncated to 512 characters. */
  userAgent: z
    .string()
    .transform((value) => truncateText(value, 512))
    .optional(),
  /** A request or correlation id. */
  requestId: z.string().min(1).max(128).optional(),
  /**
   * Emergency ("break-glass") access: every audit entry of the scope is marked `breakGlass: true`
   * with this reason, at severity `high` at least, and listed by `audit.report.breakGlass()`.
   */
  breakGlass: z.strictObject({ reason: z.string().min(1).max(1000) }).optional(),
});

/**
 * Who is acting; see {@link ActorSchema}.
 *
 * @example
 * ```ts
 * import { type Actor } from 'carebase';
 * import { ActorSchema } from 'carebase/schemas';
 * // The actor a nightly job writes as: no user, marked as a service.
 * const job: Actor = ActorSchema.parse({
 *   type: 'service',
 *   requestId: `retention-${new Date().toISOString().slice(0, 10)}`,
 * });
 * await cb.withActor(job).chat.applyRetention({ olderThanDays: 730 });
 * ```
 */
export interface Actor {
  /** The acting user's id, or `null` for the system. */
  readonly userId?: string | null | undefined;
  /** What kind of actor this is. */
  readonly type?: 'user' | 'system' | 'service' | undefined;
  /** The client's IP address (IPv4 or IPv6). */
  readonly ip?: string | undefined;
  /** The client's User-Agent header, truncated to 512 characters. */
  readonly userAgent?: string | undefined;
  /** A request or correlation id. */
  readonly requestId?: string | undefined;
  /**
   * Emergency ("break-glass") access: every audit entry of the scope is marked `breakGlass: true`
   * with this reason, at severity `high` at least, and listed by `audit.report.breakGlass()`.
   */
  readonly breakGlass?: { readonly reason: string } | undefined;
}
/**
 * An actor as a host writes it.
 *
 * @example
 * <!-- snippet-preamble: declare const otherUserId: string; -->
 * ```ts
 * import type { ActorInput } from 'carebase';
 * function actorOf(request: typeof req): ActorInput {
 *   return { userId: request.user.id, ip: request.ip, userAgent: request.get('user-agent') };
 * }
 * await cb.withActor(actorOf(req)).users.setRole(otherUserId, 'clinician');
 * ```
 */
export interface ActorInput {
  /** The acting user's id, or `null` for the system. */
  readonly userId?: string | null | undefined;
  /** What kind of actor this is. */
  readonly type?: 'user' | 'system' | 'service' | undefined;
  /** The client's IP address (IPv4 or IPv6). */
  readonly ip?: string | undefined;
  /** The client's User-Agent header, truncated to 512 characters. */
  readonly userAgent?: string | undefined;
  /** A request or correlation id. */
  readonly requestId?: string | undefined;
  /**
   * Emergency ("break-glass") access: every audit entry of the scope is marked `breakGlass: true`
   * with this reason, at severity `high` at least, and listed by `audit.report.breakGlass()`.
   */
  readonly breakGlass?: { readonly reason: string } | undefined;
}

/**
 * A piece of per-instance state that lives on the {@link CarebaseRuntime}: created by `create` on
 * first use, one value per instance. A value with a `close()` method owns work (timers, passes in
 * flight) that `cb.close()` awaits before the pool ends. Declare one as a module constant next to
 * the code that uses it; never keep per-instance state in module-level maps.
 */
export class RuntimeState<T> {
  /** What the state is, for logs (e.g. `audit sealer`). */
  readonly name: string;
  readonly create: (runtime: CarebaseRuntime) => T;

  constructor(name: string, create: (runtime: CarebaseRuntime) => T) {
    this.name = name;
    this.create = create;
  }
}

/** What one carebase instance shares between all its scopes, and the state it owns. */
export class CarebaseRuntime {
  readonly config: ResolvedConfig;
  readonly pool: pg.Pool;
  /** The instance's one prepared-statement cache. */
  readonly prepared: PreparedStatements;
  /**
   * Where every pooled connection is checked out (Kysely's, and the fast paths' own: prepared
   * statements, COPY, cursors), so each gets the same error listener, error mapping and discard.
   */
  readonly connections: CarebaseKyselyPool;
  /** The root Kysely instance, scoped to the carebase schema. */
  readonly db: Kysely<CarebaseDatabase>;
  /** The read replicas and their routing, when `replicas` are configured. */
  readonly replicas: ReplicaSet | undefined;
  /** Spans, metrics and the `onQuery` hook of this instance. */
  readonly telemetry: Telemetry;
  readonly #states = new Map<RuntimeState<unknown>, unknown>();
  #closing = false;

  constructor(parts: {
    readonly config: ResolvedConfig;
    readonly pool: pg.Pool;
    readonly prepared: PreparedStatements;
    readonly connections: CarebaseKyselyPool;
    readonly db: Kysely<CarebaseDatabase>;
    readonly replicas?: ReplicaSet | undefined;
    readonly telemetry?: Telemetry;
  }) {
    this.config = parts.config;
    this.pool = parts.pool;
    this.prepared = parts.prepared;
    this.connections = parts.connections;
    this.db = parts.db;
    this.replicas = parts.replicas;
    this.telemetry = parts.telemetry ?? Telemetry.disabled;
  }

  /**
   * Runs a precompiled statement on a pooled connection of the root executor (never inside a
   * transaction), without Kysely's per-query executor work; see `RepositoryContext.runPrepared`.
   */
  runPrepared<R>(
    query: {
      readonly sql: string;
      readonly parameters: readonly unknown[];
    },
    connections: CarebaseKyselyPool = this.connections,
  ): Promise<R[]> {
    return connections.run(query.sql, query.parameters, rowsOf<R>);
  }

  /** True once the close hook started: background work schedules nothing new. */
  get closing(): boolean {
    return this.#closing;
  }

  /** This instance's value of `state`, created on first use. */
  state<T>(state: RuntimeState<T>): T {
    if (this.#states.has(state)) return this.#states.get(state) as T;
    const value = state.create(this);
    this.#states.set(state, value);
    return value;
  }

  /**
   * The close hook: awaits `close()` of every state value that has one (all at once), before the
   * pool ends. Never rejects: a failing close is logged at `warn` (its error code only).
   */
  async close(): Promise<void> {
    this.#closing = true;
    try {
      await this.#closeStates();
    } finally {
      // After the states: their last work (an audit sealing pass) writes on the primary.
      await this.replicas?.close().catch((error: unknown) => {
        this.config.logger.warn(
          { code: (error as { code?: string }).code },
          'carebase: closing the read replicas failed',
        );
      });
    }
  }

  async #closeStates(): Promise<void> {
    const closing = [...this.#states].flatMap(([state, value]) =>
      isCloseable(value) ? [{ name: state.name, done: Promise.resolve().then(() => value.close()) }] : [],
    );
    for (const { name, done } of closing) {
      await done.catch((error: unknown) => {
        this.config.logger.warn(
          { code: (error as { code?: string }).code, state: name },
          'carebase: closing per-instance state failed',
        );
      });
    }
  }
}

/** The rows of a statement's result. */
function rowsOf<R>(result: { readonly rows: R[] }): R[] {
  return result.rows;
}

function isCloseable(value: unknown): value is { close(): Promise<void> } {
  return typeof (value as { close?: unknown } | null)?.close === 'function';
}

/**
 * What a repository is built on: an executor (the root Kysely or a transaction), the instance's
 * runtime, and the current actor. Repositories never open connections of their own except through
 * {@link RepositoryContext.atomic}, so several compose inside one transaction.
 */
export class RepositoryContext {
  readonly runtime: CarebaseRuntime;
  readonly db: Kysely<CarebaseDatabase>;
  readonly actor: Actor | undefined;
  /** The replica this context reads on (see {@link RepositoryContext.onReplica}), if any. */
  readonly replica: Replica | undefined;
  /** The user carebase acts for under row-level security, overriding the actor's (see `actingFor`). */
  readonly #actingFor: string | undefined;
  /** The system scope of this context's transactions under row-level security (see `asSystem`). */
  readonly #systemScope: SystemScope | undefined;

  constructor(
    runtime: CarebaseRuntime,
    db: Kysely<CarebaseDatabase>,
    actor: Actor | undefined,
    replica?: Replica,
    actingFor?: string,
    systemScope?: SystemScope,
  ) {
    this.runtime = runtime;
    this.db = db;
    this.actor = actor;
    this.replica = replica;
    this.#actingFor = actingFor;
    this.#systemScope = systemScope;
  }

  /**
   * With `rls: true`, the user whose rows this context's transactions may see
   * (`carebase.actor_user_id`): the one named by {@link RepositoryContext.actingFor}, else the
   * actor's `userId`. `undefined` when row-level security is off or there is no user.
   */
  get rlsUserId(): string | undefined {
    if (!this.runtime.config.rls) return undefined;
    return this.#actingFor ?? this.actor?.userId ?? undefined;
  }

  /**
   * The same context acting, under row-level security, for `userId`: for carebase's own calls whose
   * user is established by the call itself (a session token, the subject of an account operation
   * such as erase or export). `userId` MUST be a validated uuid. Itself when `rls` is off.
   */
  actingFor(userId: string): RepositoryContext {
    if (!this.runtime.config.rls) return this;
    return new RepositoryContext(this.runtime, this.db, this.actor, this.replica, userId, this.#systemScope);
  }

  /**
   * With `rls: true`, the system scope (`carebase.system_scope`) of this context's transactions:
   * `analytics` for the analytics repository, whose policies (migration 0047) then show every
   * analytics row; `chat_usage` for the chat usage rollups (migration 0049: every ledger row). `undefined` when row-level security is off or the context has none.
   */
  get systemScope(): SystemScope | undefined {
    if (!this.runtime.config.rls) return undefined;
    return this.#systemScope;
  }

  /**
   * The same context for one of carebase's system paths over every user's rows (`analytics`,
   * `chat_usage`):
   * every transaction it opens sets `carebase.system_scope` (transaction-local), and inside a
   * caller's transaction `atomic` and `scoped` set it around their own work only. Itself when
   * `rls` is off.
   */
  asSystem(scope: SystemScope): RepositoryContext {
    if (!this.runtime.config.rls) return this;
    return new RepositoryContext(this.runtime, this.db, this.actor, this.replica, this.#actingFor, scope);
  }

  /** The same context (actor, row-level security user and scope) on another executor `db`. */
  rebind(db: Kysely<CarebaseDatabase>, replica?: Replica): RepositoryContext {
    return new RepositoryContext(this.runtime, db, this.actor, replica, this.#actingFor, this.#systemScope);
  }

  /**
   * Runs `fn` as a read of this context's user (or system scope): in a transaction carrying the
   * row-level security settings when there are some, else directly on this context (no round trip).
   */
  scoped<T>(fn: (ctx: RepositoryContext) => Promise<T>): Promise<T> {
    if (this.rlsUserId === undefined && this.systemScope === undefined) return fn(this);
    return this.atomic(fn);
  }

  /**
   * Where this context's own connections come from (cursors, COPY, prepared statements outside a
   * transaction): the replica's pool on a replica context, else the primary's.
   */
  get connections(): CarebaseKyselyPool {
    return this.replica?.connections ?? this.runtime.connections;
  }

  /**
   * Runs a read that may be slightly stale (listings, search, exports, reports) on a read replica
   * when the instance has some: `fn` gets a context whose executor and connections are a replica's
   * that has replayed the instance's writes (see `ReplicaSet.read`), or this context when there is
   * no replica in rotation, the wait timed out, or the replica failed. Inside a transaction, and
   * without replicas, `fn` runs on this context. `fn` MUST only read, and MUST be safe to run twice
   * (a replica failing halfway makes it run again on the primary).
   */
  onReplica<T>(fn: (ctx: RepositoryContext) => Promise<T>): Promise<T> {
    const replicas = this.runtime.replicas;
    if (replicas === undefined || this.db.isTransaction || this.replica !== undefined) return fn(this);
    return replicas.read(
      () => fn(this),
      (replica) => fn(this.rebind(replica.db, replica)),
    );
  }

  /** The resolved configuration. */
  get config(): ResolvedConfig {
    return this.runtime.config;
  }

  /** True when this context's executor is a transaction. */
  get inTransaction(): boolean {
    return this.db.isTransaction;
  }

  /** The current time from the configured clock. */
  now(): Date {
    return this.runtime.config.clock.now();
  }

  /**
   * Runs a precompiled statement (SQL from the instance's prepared-statement cache, so it goes out
   * as a named prepared statement) and returns its rows. Inside a transaction it goes through
   * Kysely (the transaction's connection); otherwise straight to a pooled connection, skipping
   * Kysely's per-query executor work (plugins, connection provider, result transform), which
   * measured ~90 us of CPU per call on the sessions hot path. The connection comes from the pool
   * adapter like every other, so errors and lost connections are handled exactly as there.
   */
  async runPrepared<R>(query: {
    readonly sql: string;
    readonly parameters: readonly unknown[];
  }): Promise<R[]> {
    if (this.db.isTransaction) {
      return [
        ...(await this.db.executeQuery(CompiledQuery.raw(query.sql, [...query.parameters]))).rows,
      ] as R[];
    }
    return this.runtime.runPrepared<R>(query, this.connections);
  }

  /** The same executor, another actor. */
  withActor(actor: Actor | undefined): RepositoryContext {
    return new RepositoryContext(
      this.runtime,
      this.db,
      actor,
      this.replica,
      this.#actingFor,
      this.#systemScope,
    );
  }

  /**
   * Runs `fn` atomically: inside the current transaction when there is one (its failure then
   * aborts the caller's transaction), otherwise in a new transaction that retries serialization
   * failures and deadlocks. Repositories use it so a write and its audit entry commit together.
   */
  atomic<T>(fn: (ctx: RepositoryContext) => Promise<T>, options?: TransactionOptions): Promise<T> {
    if (this.db.isTransaction) {
      const scope = this.systemScope;
      if (scope !== undefined && systemScopeOf(this.db) !== scope)
        return this.#scopedInTransaction(scope, fn);
      const acting = this.#actingFor === undefined ? undefined : this.rlsUserId;
      if (acting === undefined || actingUserOf(this.db) === acting) return fn(this);
      return this.#actingInTransaction(acting, fn);
    }
    return runTransaction(
      this.db,
      (trx: Transaction<CarebaseDatabase>) => fn(this.rebind(trx, this.replica)),
      options,
      this.runtime.config.logger,
      this.rlsUserId,
      this.systemScope,
    );
  }

  /** `fn` (via `atomic`) inside the current transaction with the system scope set to `scope`. */
  async #scopedInTransaction<T>(scope: SystemScope, fn: (ctx: RepositoryContext) => Promise<T>): Promise<T> {
    const trx = this.db as Transaction<CarebaseDatabase>;
    const previous = await setSystemScope(trx, scope);
    let result: T;
    try {
      result = await this.atomic(fn);
    } catch (error) {
      // As for the acting user: a caller that goes on in its transaction must not keep the scope.
      await setSystemScope(trx, previous).catch(() => {});
      throw error;
    }
    await setSystemScope(trx, previous);
    return result;
  }

  /** `fn` inside the current transaction with the row-level security user switched to `userId`. */
  async #actingInTransaction<T>(userId: string, fn: (ctx: RepositoryContext) => Promise<T>): Promise<T> {
    const trx = this.db as Transaction<CarebaseDatabase>;
    const previous = await setActingUser(trx, userId);
    let result: T;
    try {
      result = await fn(this);
    } catch (error) {
      // A caller that catches the error and goes on in its transaction must not keep `userId`'s
      // visibility. When the failure aborted the transaction the restore fails too, harmlessly.
      await setActingUser(trx, previous).catch(() => {});
      throw error;
    }
    await setActingUser(trx, previous);
    return result;
  }
}

/**
 * A system path over every user's rows under row-level security (`carebase.system_scope`):
 * `analytics`, the analytics repository (migration 0047); `chat_usage`, the chat usage rollup
 * refresh and the usage report of a scope without a user (migration 0049).
 */
export type SystemScope = 'analytics' | 'chat_usage';
