import { type CompiledQuery, type Kysely, sql } from 'kysely';
import pg from 'pg';
import type { PreparedStatement } from '../../pool/prepared-statements.js';
import type { CarebaseDatabase } from '../../schema/database.js';
import { qualifiedName, quoteIdentifier } from '../../sql/identifier.js';
import type { CarebaseRuntime, RepositoryContext } from '../context.js';

/** The hot statements of the sessions repository, compiled once per carebase instance. */
export interface SessionStatements {
  /**
   * Parameters: token hash, now, idle cutoff. One row: the session joined to its active user;
   * read the rows with {@link SessionStatements.validateRows}.
   */
  readonly validate: PreparedStatement;
  /** The {@link ValidateRow}s of what `validate` returned. */
  readonly validateRows: (rows: readonly unknown[]) => readonly ValidateRow[];
  /**
   * `validate` under row-level security (`rls: true`): the session comes from the owner's
   * `session_lookup(token_hash)` (the token is the credential), same parameters and row.
   */
  readonly validateRls: PreparedStatement;
  /**
   * `validate` for many tokens at once, behind a transaction pooler (`session_validate_json_many`,
   * migration 0051; see `ValidateBatcher`). Parameters: the token hashes, each one's `now` and each
   * one's idle cutoff (arrays of one length); read the rows with
   * {@link SessionStatements.validateManyRows}.
   */
  readonly validateMany: PreparedStatement;
  /** Per token of a `validateMany` call of `count` tokens, in order: its row, if any. */
  readonly validateManyRows: (
    rows: readonly unknown[],
    count: number,
  ) => readonly (ValidateRow | undefined)[];
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
 * Behind a transaction pooler no statement is named, so validate calls the
 * `session_validate_json` PL/pgSQL function (migration 0050) instead: the function keeps its
 * lookup's plan on the server backend, which the pooler keeps open, and only a trivial call is
 * parsed and planned per validation; its one JSON value becomes the same row as the prepared
 * statement's (test/sessions/validate-function.test.ts); concurrent validations share one call of
 * `session_validate_json_many` (migration 0051).
 */
export function sessionStatements(runtime: CarebaseRuntime): SessionStatements {
  const { prepared, db, config } = runtime;
  return {
    validate:
      config.pooler === 'transaction'
        ? prepared.get(
            'sessions.validate-function',
            () => `select ${qualifiedName(config.schema, 'session_validate_json')}($1, $2, $3) as v`,
          )
        : prepared.compiled('sessions.validate', () => validateQuery(db), 3),
    validateRows: config.pooler === 'transaction' ? validateRowsFromJson : (rows) => rows as ValidateRow[],
    validateMany: prepared.get(
      'sessions.validate-many-function',
      () => `select ${qualifiedName(config.schema, 'session_validate_json_many')}($1, $2, $3) as v`,
    ),
    validateManyRows: validateManyRowsFromJson,
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

/** The rows of `session_validate_json` (migration 0050): its row, or none when it found nothing. */
function validateRowsFromJson(rows: readonly unknown[]): readonly ValidateRow[] {
  const row = rowFromJson((rows[0] as { v?: unknown } | undefined)?.v);
  return row === undefined ? [] : [row];
}

/** The rows of `session_validate_json_many` (migration 0051): one JSON array, an element per token. */
function validateManyRowsFromJson(
  rows: readonly unknown[],
  count: number,
): readonly (ValidateRow | undefined)[] {
  const v = (rows[0] as { v?: unknown } | undefined)?.v;
  const elements: readonly unknown[] = Array.isArray(v) ? v : [];
  return Array.from({ length: count }, (_, i) => rowFromJson(elements[i]));
}

/**
 * One row of `session_validate_json` (migration 0050): a JSON array in the column order of
 * {@link ValidateRow}, timestamps as their text, parsed here by pg's own timestamptz parser (as a
 * column would be); `undefined` when the function found nothing (null).
 */
function rowFromJson(v: unknown): ValidateRow | undefined {
  if (!Array.isArray(v)) return undefined;
  const parse = pg.types.getTypeParser(pg.types.builtins.TIMESTAMPTZ, 'text') as (text: string) => Date;
  const at = (value: unknown): Date | null => (typeof value === 'string' ? parse(value) : null);
  return {
    id: v[0],
    user_id: v[1],
    ip: v[2],
    user_agent: v[3],
    created_at: at(v[4]) as Date,
    last_seen_at: at(v[5]) as Date,
    expires_at: at(v[6]) as Date,
    username: v[7],
    email: v[8],
    display_name: v[9],
    role: v[10],
    status: v[11],
    failed_login_count: v[12],
    locked_until: at(v[13]),
    last_login_at: at(v[14]),
    password_changed_at: at(v[15]) as Date,
    user_created_at: at(v[16]) as Date,
    user_updated_at: at(v[17]) as Date,
    approved_at: at(v[18]),
    rejected_at: at(v[19]),
    email_verified_at: at(v[20]),
    authenticated_at: at(v[21]),
    mfa_at: at(v[22]),
  };
}
