import { MigrationError } from '../errors/errors.js';

/** A node of libpg_query's JSON syntax tree: `{ IndexStmt: { ... } }` and the like. */
export type SqlNode = Readonly<Record<string, unknown>>;

/** One statement of a parsed SQL text, located by line. */
export interface ParsedStatement {
  /** The statement's node type, e.g. `IndexStmt`, `AlterTableStmt`. */
  readonly kind: string;
  /** The statement's fields (the value under `kind`). */
  readonly node: SqlNode;
  /** 1-based line of the statement's first token, and of its last character. */
  readonly startLine: number;
  readonly endLine: number;
  /** The statement's text, without leading comments. */
  readonly text: string;
}

/** A table named by a statement, as written (`schema` only when qualified). */
export interface NamedRelation {
  readonly schema: string | undefined;
  readonly name: string;
}

interface RawStatement {
  readonly stmt?: SqlNode;
  readonly stmt_location?: number;
  readonly stmt_len?: number;
}

type Parse = (text: string) => Promise<{ stmts?: readonly RawStatement[] }>;

let loaded: Promise<Parse> | undefined;

/**
 * PostgreSQL's own parser (libpg_query compiled to WebAssembly, the `libpg-query` package),
 * loaded on first use only: applying migrations never needs it.
 */
function parser(): Promise<Parse> {
  loaded ??= import(/* webpackIgnore: true */ 'libpg-query').then((module) => module.parse as Parse);
  loaded.catch(() => {
    loaded = undefined;
  });
  return loaded;
}

/**
 * Parses `text` with PostgreSQL's parser. Throws `MigrationError` naming `label` and the line of
 * a syntax error (never the SQL itself).
 */
export async function parseSql(text: string, label: string): Promise<ParsedStatement[]> {
  const parse = await parser();
  let result: Awaited<ReturnType<Parse>>;
  try {
    result = await parse(text);
  } catch (error) {
    const position = (error as { sqlDetails?: { cursorPosition?: number } }).sqlDetails?.cursorPosition;
    const bytes = Buffer.from(text, 'utf8');
    const line = position === undefined ? undefined : lineAt(bytes, position);
    throw new MigrationError(
      `${label}: PostgreSQL cannot parse it${line === undefined ? '' : ` (line ${line})`}: ${
        error instanceof Error ? error.message : 'syntax error'
      }`,
      { migration: label },
    );
  }
  const bytes = Buffer.from(text, 'utf8');
  const statements: ParsedStatement[] = [];
  for (const raw of result.stmts ?? []) {
    const stmt = raw.stmt;
    if (stmt === undefined) continue;
    const [kind] = Object.keys(stmt);
    if (kind === undefined) continue;
    const from = skipBlankAndComments(bytes, raw.stmt_location ?? 0);
    const to =
      raw.stmt_len === undefined || raw.stmt_len === 0
        ? bytes.length
        : (raw.stmt_location ?? 0) + raw.stmt_len;
    statements.push({
      kind,
      node: (stmt[kind] ?? {}) as SqlNode,
      startLine: lineAt(bytes, from),
      endLine: lineAt(bytes, Math.max(from, to - 1)),
      text: bytes.subarray(from, to).toString('utf8').trim(),
    });
  }
  return statements;
}

/** 1-based line of a byte offset. */
function lineAt(bytes: Buffer, offset: number): number {
  let line = 1;
  const end = Math.min(offset, bytes.length);
  for (let i = 0; i < end; i++) if (bytes[i] === 0x0a) line++;
  return line;
}

function skipBlankAndComments(bytes: Buffer, start: number): number {
  let i = start;
  while (i < bytes.length) {
    const c = bytes[i];
    if (c === 0x20 || c === 0x09 || c === 0x0a || c === 0x0d) i++;
    else if (c === 0x2d && bytes[i + 1] === 0x2d) {
      while (i < bytes.length && bytes[i] !== 0x0a) i++;
    } else if (c === 0x2f && bytes[i + 1] === 0x2a) {
      const close = bytes.indexOf('*/', i + 2);
      i = close === -1 ? bytes.length : close + 2;
    } else break;
  }
  return i;
}

/** The string values of a `[{ String: { sval } }, ...]` name list. */
export function nameList(value: unknown): string[] {
  if (!Array.isArray(value)) return [];
  return value.map((item) => ((item as SqlNode).String as { sval?: string } | undefined)?.sval ?? '');
}

/** `{ schema, name }` of a `RangeVar` node's fields. */
export function rangeVar(value: unknown): NamedRelation | undefined {
  const node = (value as SqlNode | undefined)?.RangeVar ?? value;
  if (typeof node !== 'object' || node === null) return undefined;
  const { relname, schemaname } = node as { relname?: string; schemaname?: string };
  return relname === undefined ? undefined : { schema: schemaname, name: relname };
}

/** Every table a statement names anywhere in its tree (RangeVars and DROP TABLE name lists). */
export function relationsOf(statement: ParsedStatement): NamedRelation[] {
  const found = new Map<string, NamedRelation>();
  const add = (relation: NamedRelation | undefined): void => {
    if (relation !== undefined) found.set(`${relation.schema ?? ''}.${relation.name}`, relation);
  };
  const walk = (value: unknown): void => {
    if (Array.isArray(value)) {
      for (const item of value) walk(item);
      return;
    }
    if (typeof value !== 'object' || value === null) return;
    // RangeVars appear both wrapped (`{ RangeVar: { relname } }`) and bare (`relation: { relname }`).
    if (typeof (value as { relname?: unknown }).relname === 'string') add(rangeVar(value));
    for (const child of Object.values(value)) walk(child);
  };
  walk(statement.node);
  if (statement.kind === 'DropStmt') {
    const { removeType, objects } = statement.node as { removeType?: string; objects?: unknown[] };
    if (removeType === 'OBJECT_TABLE' || removeType === 'OBJECT_INDEX') {
      for (const object of objects ?? []) add(qualifiedName(dropObjectName(object)));
    }
  }
  return [...found.values()];
}

/** `{ schema, name }` of a possibly qualified name list (`['app', 'notes']` or `['notes']`). */
export function qualifiedName(parts: readonly string[]): NamedRelation | undefined {
  const name = parts.at(-1);
  if (name === undefined || name === '') return undefined;
  return { schema: parts.length > 1 ? parts.at(-2) : undefined, name };
}

/** The name parts of one object of a `DropStmt` (`{ List: { items } }` or a bare `String`). */
export function dropObjectName(object: unknown): string[] {
  const list = (object as SqlNode).List as { items?: unknown } | undefined;
  if (list !== undefined) return nameList(list.items);
  return nameList([object]);
}
