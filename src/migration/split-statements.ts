/**
 * Splits SQL text into top-level statements at `;`, respecting single-quoted strings (with `''`
 * and, for `E'...'`, backslash escapes), double-quoted identifiers, dollar-quoted bodies
 * (`$$...$$`, `$tag$...$tag$`), `--` line comments and nested `/* *\/` block comments.
 *
 * Used for migrations marked `-- carebase:no-transaction`: PostgreSQL runs a multi-statement
 * query string as one implicit transaction, in which `CREATE INDEX CONCURRENTLY` is refused, so
 * such a migration is sent one statement at a time. SQL-standard function bodies
 * (`BEGIN ATOMIC ... END`) are not understood; put them in a transactional migration.
 *
 * Statements that hold only comments and whitespace are dropped.
 */
export function splitStatements(sql: string): string[] {
  const statements: string[] = [];
  let start = 0;
  let i = 0;
  let meaningful = false;
  const push = (end: number): void => {
    const text = sql.slice(start, end).trim();
    if (meaningful && text !== '') statements.push(text);
    meaningful = false;
  };
  while (i < sql.length) {
    const ch = sql[i];
    const next = sql[i + 1];
    if (ch === '-' && next === '-') {
      const end = sql.indexOf('\n', i);
      i = end === -1 ? sql.length : end + 1;
      continue;
    }
    if (ch === '/' && next === '*') {
      let depth = 1;
      i += 2;
      while (i < sql.length && depth > 0) {
        if (sql[i] === '/' && sql[i + 1] === '*') {
          depth++;
          i += 2;
        } else if (sql[i] === '*' && sql[i + 1] === '/') {
          depth--;
          i += 2;
        } else i++;
      }
      continue;
    }
    if (ch === ';') {
      push(i + 1);
      i++;
      start = i;
      continue;
    }
    if (ch !== undefined && !/\s/.test(ch)) meaningful = true;
    if (ch === "'") {
      const escapes = i > 0 && /[eE]/.test(sql[i - 1] ?? '') && !/[\w$]/.test(sql[i - 2] ?? '');
      i = skipQuoted(sql, i, "'", escapes);
      continue;
    }
    if (ch === '"') {
      i = skipQuoted(sql, i, '"', false);
      continue;
    }
    if (ch === '$') {
      const tag = /^\$(?:[A-Za-z_\u0080-\uffff][\w\u0080-\uffff]*)?\$/.exec(sql.slice(i));
      // A `$` inside an identifier (e.g. `a$1`) or a parameter (`$1`) opens nothing.
      if (tag !== null && !/[\w$]/.test(sql[i - 1] ?? '')) {
        const close = sql.indexOf(tag[0], i + tag[0].length);
        i = close === -1 ? sql.length : close + tag[0].length;
        continue;
      }
    }
    i++;
  }
  push(sql.length);
  return statements;
}

function skipQuoted(sql: string, open: number, quote: string, backslashEscapes: boolean): number {
  let i = open + 1;
  while (i < sql.length) {
    const ch = sql[i];
    if (backslashEscapes && ch === '\\') {
      i += 2;
      continue;
    }
    if (ch === quote) {
      if (sql[i + 1] === quote) {
        i += 2;
        continue;
      }
      return i + 1;
    }
    i++;
  }
  return i;
}
