/** What telemetry says about one SQL text: its command and first table, never its values. */
export interface SqlDescription {
  /** The statement's command in upper case (`SELECT`, `INSERT`, `BEGIN`, `COPY`...). */
  readonly operation: string | undefined;
  /** The first table the statement names after FROM, INTO, UPDATE or COPY, unquoted (`carebase.users`). */
  readonly table: string | undefined;
}

const CACHE_LIMIT = 2000;
const cache = new Map<string, SqlDescription>();

const NAME = String.raw`(?:"(?:[^"]|"")+"|[A-Za-z_][\w$]*)`;
// A name after FROM/INTO/UPDATE/COPY/JOIN that is not a function call (`from unnest($1)`; an
// INSERT's column list follows a space: `into "t" (a, b)`).
const TABLE = new RegExp(
  String.raw`\b(?:from|into|update|copy|join)\s+(${NAME}(?:\s*\.\s*${NAME})?)(?![\w$".(])`,
  'i',
);
const DML = /\b(select|insert|update|delete|merge)\b/gi;

/**
 * Describes `sql` for spans and query events: the command, and for a WITH statement the command at
 * parenthesis depth 0 after its common table expressions; the first table named (not a function
 * such as `unnest`). Parsed from the
 * text (placeholders `$1`, never values), cached per text: carebase sends a small set of texts.
 */
export function describeSql(sql: string): SqlDescription {
  let description = cache.get(sql);
  if (description === undefined) {
    description = parse(sql);
    if (cache.size >= CACHE_LIMIT) cache.clear();
    cache.set(sql, description);
  }
  return description;
}

function parse(sql: string): SqlDescription {
  const text = sql.replace(/^(?:\s|--[^\n]*\n|\/\*[\s\S]*?\*\/)+/, '');
  const first = /^[A-Za-z]+/.exec(text)?.[0]?.toUpperCase();
  const operation = first === 'WITH' ? (topLevelCommand(text) ?? first) : first;
  // As OpenTelemetry's conventions ask: the first table the text names, CTEs included.
  const match = TABLE.exec(text);
  const table = match?.[1]
    ?.split(/\s*\.\s*/)
    .map((part) => (part.startsWith('"') ? part.slice(1, -1).replaceAll('""', '"') : part.toLowerCase()))
    .join('.');
  return { operation, table };
}

/** The first SELECT/INSERT/UPDATE/DELETE/MERGE outside parentheses (string literals ignored). */
function topLevelCommand(text: string): string | undefined {
  const depthAt: number[] = [];
  let depth = 0;
  let quoted = false;
  for (let i = 0; i < text.length; i++) {
    const char = text[i];
    if (char === "'") quoted = !quoted;
    else if (!quoted && char === '(') depth++;
    else if (!quoted && char === ')') depth--;
    depthAt[i] = quoted ? -1 : depth;
  }
  for (const match of text.matchAll(DML)) {
    if (depthAt[match.index] === 0) return (match[1] ?? '').toUpperCase();
  }
  return undefined;
}
