import { type CompiledQuery, sql } from 'kysely';
import type { CarebaseRuntime } from '../context.js';

/** A precompiled statement: the SQL text is registered to run as a named prepared statement. */
type Precompiled = Omit<CompiledQuery, 'parameters'>;

/** The hot statements of the sessions repository, compiled once per carebase instance. */
export interface SessionStatements {
  /** Parameters: token hash, now, idle cutoff. One row: the session joined to its active user. */
  readonly validate: Precompiled;
  /** Parameters: now, user id, session id, touch cutoff. */
  readonly touch: Precompiled;
}

/** A row of {@link SessionStatements.validate}. */
export interface ValidateRow {
  readonly id: string;
  readonly user_id: string;
  readonly ip: string | null;
  readonly user_agent: string | null;
  readonly created_at: Date;
  readonly last_seen_at: Date;
  readonly expires_at: Date;
  readonly username: string;
  readonly email: string;
  readonly display_name: string | null;
  readonly role: string;
  readonly status: 'active' | 'disabled';
  readonly failed_login_count: number;
  readonly locked_until: Date | null;
  readonly last_login_at: Date | null;
  readonly password_changed_at: Date;
  readonly user_created_at: Date;
  readonly user_updated_at: Date;
}

const cache = new WeakMap<CarebaseRuntime, SessionStatements>();

function precompile(runtime: CarebaseRuntime, compiled: CompiledQuery, parameterCount: number): Precompiled {
  if (compiled.parameters.length !== parameterCount) {
    throw new Error(`carebase: precompiled statement expects ${parameterCount} parameters`);
  }
  runtime.prepared.register(compiled.sql);
  return { sql: compiled.sql, query: compiled.query, queryId: compiled.queryId };
}

/**
 * The precompiled validate and touch statements for `runtime` (its schema), registered as named
 * prepared statements: the server parses and plans them once per connection, and no query is
 * built or compiled per call.
 */
export function sessionStatements(runtime: CarebaseRuntime): SessionStatements {
  let statements = cache.get(runtime);
  if (statements !== undefined) return statements;
  const db = runtime.db;
  const placeholderDate = new Date(0);
  const validate = db
    .selectFrom('sessions as s')
    .innerJoin('users as u', 'u.id', 's.user_id')
    .select([
      's.id',
      's.user_id',
      's.ip',
      's.user_agent',
      's.created_at',
      's.last_seen_at',
      's.expires_at',
      'u.username',
      'u.email',
      'u.display_name',
      'u.role',
      'u.status',
      'u.failed_login_count',
      'u.locked_until',
      'u.last_login_at',
      'u.password_changed_at',
      'u.created_at as user_created_at',
      'u.updated_at as user_updated_at',
    ])
    .where('s.token_hash', '=', Buffer.alloc(32))
    .where('s.revoked_at', 'is', null)
    .where('s.expires_at', '>', placeholderDate)
    .where('s.last_seen_at', '>', placeholderDate)
    .where('u.status', '=', sql.lit('active'))
    .compile();
  const touch = db
    .updateTable('sessions')
    .set({ last_seen_at: placeholderDate })
    .where('user_id', '=', '')
    .where('id', '=', '')
    .where('last_seen_at', '<=', placeholderDate)
    .compile();
  statements = {
    validate: precompile(runtime, validate, 3),
    touch: precompile(runtime, touch, 4),
  };
  cache.set(runtime, statements);
  return statements;
}
