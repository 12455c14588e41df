import { type CompiledQuery, type Kysely, sql } from 'kysely';
import type { PreparedStatement } from '../../pool/prepared-statements.js';
import type { CarebaseDatabase } from '../../schema/database.js';
import { qualifiedName, quoteIdentifier } from '../../sql/identifier.js';
import type { CarebaseRuntime, RepositoryContext } from '../context.js';

/** The hot statements of the sessions repository, compiled once per carebase instance. */
export interface SessionStatements {
  /** Parameters: token hash, now, idle cutoff. One row: the session joined to its active user. */
  readonly validate: PreparedStatement;
  /**
   * `validate` under row-level security (`rls: true`): the session comes from the owner's
   * `session_lookup(token_hash)` (the token is the credential), same parameters and row.
   */
  readonly validateRls: PreparedStatement;
  /** Parameters: now, user id, session id, touch cutoff. */
  readonly touch: PreparedStatement;
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
  readonly username: string | null;
  readonly email: string;
  readonly display_name: string | null;
  readonly role: string;
  readonly status: 'pending' | 'active' | 'disabled';
  readonly failed_login_count: number;
  readonly locked_until: Date | null;
  readonly last_login_at: Date | null;
  readonly password_changed_at: Date;
  readonly user_created_at: Date;
  readonly user_updated_at: Date;
  readonly approved_at: Date | null;
  readonly rejected_at: Date | null;
  readonly email_verified_at: Date | null;
  readonly authenticated_at: Date | null;
  readonly mfa_at: Date | null;
}

/** Runs a precompiled statement (see `RepositoryContext.runPrepared`) and returns its rows. */
export function runPrepared<R>(
  ctx: RepositoryContext,
  statement: PreparedStatement,
  parameters: readonly unknown[],
): Promise<readonly R[]> {
  return ctx.runPrepared<R>({ sql: statement.sql, parameters });
}

/**
 * The precompiled validate and touch statements of `runtime` (its schema), from the instance's
 * prepared-statement cache: built once, run as named prepared statements, so the server parses and
 * plans them once per connection and no query is built or compiled per call.
 *
 * Behind a transaction pooler no statement is named, so validate calls the `session_validate`
 * PL/pgSQL function (migration 0045) instead: the function keeps its lookup's plan on the server
 * backend, which the pooler keeps open, and only a trivial call is parsed per validation. Both
 * forms return the same columns (test/sessions/validate-function.test.ts).
 */
export function sessionStatements(runtime: CarebaseRuntime): SessionStatements {
  const { prepared, db, config } = runtime;
  return {
    validate:
      config.pooler === 'transaction'
        ? prepared.get(
            'sessions.validate-function',
            () => `select * from ${qualifiedName(config.schema, 'session_validate')}($1, $2, $3)`,
          )
        : prepared.compiled('sessions.validate', () => validateQuery(db), 3),
    validateRls: prepared.compiled(
      'sessions.validate_rls',
      () => validateRlsQuery(db, runtime.config.schema),
      3,
    ),
    touch: prepared.compiled('sessions.touch', () => touchQuery(db), 4),
  };
}

function validateQuery(db: Kysely<CarebaseDatabase>): CompiledQuery {
  const placeholderDate = new Date(0);
  return db
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
      'u.approved_at',
      'u.rejected_at',
      'u.email_verified_at',
      's.authenticated_at',
      's.mfa_at',
    ])
    .where('s.token_hash', '=', Buffer.alloc(32))
    .where('s.revoked_at', 'is', null)
    .where('s.expires_at', '>', placeholderDate)
    .where('s.last_seen_at', '>', placeholderDate)
    .where('u.status', '=', sql.lit('active'))
    .compile();
}

/** {@link validateQuery} reading the session through `session_lookup($1)` instead of the table. */
function validateRlsQuery(db: Kysely<CarebaseDatabase>, schema: string): CompiledQuery {
  const compiled = validateQuery(db);
  const table = `from ${quoteIdentifier(schema)}.${quoteIdentifier('sessions')} as ${quoteIdentifier('s')}`;
  const filter = `${quoteIdentifier('s')}.${quoteIdentifier('token_hash')} = $1 and `;
  if (!compiled.sql.includes(table) || !compiled.sql.includes(filter)) {
    throw new Error('carebase: unexpected sessions.validate statement');
  }
  const sqlText = compiled.sql
    .replace(table, `from ${quoteIdentifier(schema)}.session_lookup($1) as ${quoteIdentifier('s')}`)
    .replace(filter, '');
  return { ...compiled, sql: sqlText };
}

function touchQuery(db: Kysely<CarebaseDatabase>): CompiledQuery {
  const placeholderDate = new Date(0);
  return db
    .updateTable('sessions')
    .set({ last_seen_at: placeholderDate })
    .where('user_id', '=', '')
    .where('id', '=', '')
    .where('last_seen_at', '<=', placeholderDate)
    .compile();
}
