import pg from 'pg';

/** One column of a table in the carebase schema, as the database describes it. */
export interface IntrospectedColumn {
  readonly table: string;
  readonly column: string;
  readonly nullable: boolean;
  /** The TypeScript type pg returns for it (without `| null`), or `undefined` when unmapped. */
  readonly tsType: string | undefined;
  readonly pgType: string;
  /** `json`: any non-`any` type of the right nullability is accepted (repositories narrow JSON). */
  readonly flexible: 'json' | undefined;
  /** A single-column `CHECK (col IN (...))`: the literal union, also accepted instead of `string`. */
  readonly literals: readonly string[] | undefined;
  readonly identity: boolean;
  readonly generated: boolean;
}

/** pg's default parsers (node-postgres type parsers) decide what a SELECT returns. */
const TS_TYPES: Readonly<Record<string, string>> = {
  uuid: 'string',
  text: 'string',
  varchar: 'string',
  bpchar: 'string',
  name: 'string',
  citext: 'string',
  inet: 'string',
  cidr: 'string',
  macaddr: 'string',
  tsvector: 'string',
  regconfig: 'string',
  bit: 'string',
  varbit: 'string',
  tsquery: 'string',
  time: 'string',
  timetz: 'string',
  int2: 'number',
  int4: 'number',
  oid: 'number',
  float4: 'number',
  float8: 'number',
  int8: 'string',
  numeric: 'string',
  money: 'string',
  bool: 'boolean',
  timestamptz: 'Date',
  timestamp: 'Date',
  date: 'Date',
  json: 'Json',
  jsonb: 'Json',
  bytea: 'Buffer',
};

/**
 * Reads every column of every ordinary and partitioned table in `schema`, leaving out
 * partitions (children such as `audit_log_p202611`): their columns are their parent's.
 */
export async function introspect(url: string, schema: string): Promise<IntrospectedColumn[]> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    const { rows } = await client.query<{
      table: string;
      column: string;
      is_nullable: string;
      data_type: string;
      udt_name: string;
      attidentity: string;
      attgenerated: string;
      enum_labels: string[] | null;
      elem_labels: string[] | null;
      checks: string[] | null;
    }>(
      `select c.table_name as table, c.column_name as column, c.is_nullable, c.data_type, c.udt_name,
              a.attidentity, a.attgenerated,
              (select array_agg(e.enumlabel::text order by e.enumsortorder) from pg_enum e
                where e.enumtypid = a.atttypid) as enum_labels,
              (select array_agg(e.enumlabel::text order by e.enumsortorder) from pg_type t join pg_enum e
                on e.enumtypid = t.typelem where t.oid = a.atttypid) as elem_labels,
              (select array_agg(pg_get_constraintdef(k.oid)) from pg_constraint k
                where k.conrelid = cl.oid and k.contype = 'c' and k.conkey = array[a.attnum]) as checks
         from information_schema.columns c
         join pg_namespace n on n.nspname = c.table_schema
         join pg_class cl on cl.relnamespace = n.oid and cl.relname = c.table_name
         join pg_attribute a on a.attrelid = cl.oid and a.attname = c.column_name
        where c.table_schema = $1 and cl.relkind in ('r', 'p') and not cl.relispartition
        order by c.table_name, c.ordinal_position`,
      [schema],
    );
    return rows.map((row) => {
      const isArray = row.data_type === 'ARRAY';
      const base = isArray ? row.udt_name.replace(/^_/, '') : row.udt_name;
      const labels = isArray ? row.elem_labels : row.enum_labels;
      let tsType = labels !== null ? labels.map(literal).join(' | ') : TS_TYPES[base];
      if (tsType !== undefined && isArray) tsType = `(${tsType})[]`;
      return {
        table: row.table,
        column: row.column,
        nullable: row.is_nullable === 'YES',
        tsType,
        pgType: isArray ? `${base}[]` : base,
        flexible: base === 'json' || base === 'jsonb' ? 'json' : undefined,
        literals: tsType === 'string' ? checkLiterals(row.column, row.checks ?? []) : undefined,
        identity: row.attidentity !== '',
        generated: row.attgenerated !== '',
      };
    });
  } finally {
    await client.end();
  }
}

/**
 * The values of a `CHECK (col IN ('a', 'b'))` (rendered `col = ANY (ARRAY['a'::text, ...])`),
 * validated or added `NOT VALID` (a check that replaced a stricter one).
 */
function checkLiterals(column: string, checks: readonly string[]): string[] | undefined {
  for (const check of checks) {
    const shape = new RegExp(
      `^CHECK \\(\\(\\(?${column}\\)?(?:::text)? = ANY \\(\\(?ARRAY\\[(.*)\\]\\)?(?:::text\\[\\])?\\)\\)\\)(?: NOT VALID)?$`,
    );
    const match = shape.exec(check);
    if (match === null) continue;
    const values = [...(match[1] ?? '').matchAll(/'((?:[^']|'')*)'::[a-z ]+/g)].map((m) =>
      (m[1] ?? '').replaceAll("''", "'"),
    );
    if (values.length > 0) return values;
  }
  return undefined;
}

function literal(value: string): string {
  return JSON.stringify(value);
}

function pascal(name: string): string {
  return name.replace(/(^|_)([a-z0-9])/g, (_, __, ch: string) => ch.toUpperCase());
}

/**
 * Generates a TypeScript module that declares one interface per table (what a SELECT returns)
 * and fails to compile when `Selectable<CarebaseDatabase[T]>` differs from it for any table,
 * or when a table exists on one side only. Each assertion is named `<table>__<column>` so a
 * compiler diagnostic says where the difference is.
 */
export function generateTypeCheck(columns: readonly IntrospectedColumn[], databaseImport: string): string {
  const tables = new Map<string, IntrospectedColumn[]>();
  for (const column of columns) tables.set(column.table, [...(tables.get(column.table) ?? []), column]);
  const out: string[] = [
    '// Generated by test/schema/types-match.test.ts from a freshly migrated database. Do not edit.',
    "import type { Selectable } from 'kysely';",
    `import type { CarebaseDatabase } from '${databaseImport}';`,
    '',
    'type Json = string | number | boolean | null | Json[] | { [key: string]: Json };',
    'type Equals<A, B> = (<T>() => T extends A ? 1 : 2) extends <T>() => T extends B ? 1 : 2 ? true : false;',
    'type Expect<T extends true> = T;',
    'type IsAny<T> = 0 extends 1 & T ? true : false;',
    'type IsNullable<T> = null extends T ? true : false;',
    'type Row<T extends keyof CarebaseDatabase> = Selectable<CarebaseDatabase[T]>;',
    '',
    `export type __tables = Expect<Equals<keyof CarebaseDatabase, ${[...tables.keys()].map(literal).join(' | ') || 'never'}>>;`,
  ];
  for (const [table, tableColumns] of tables) {
    const name = pascal(table);
    const nullable = (column: IntrospectedColumn, type: string): string =>
      column.nullable ? `${type} | null` : type;
    out.push('', `/** ${table} */`, `export interface ${name} {`);
    for (const column of tableColumns) {
      const notes = [column.pgType, column.identity ? 'identity' : '', column.generated ? 'generated' : '']
        .filter(Boolean)
        .join(', ');
      out.push(`  ${column.column}: ${nullable(column, column.tsType ?? 'unknown')}; // ${notes}`);
    }
    out.push('}');
    out.push(
      `export type ${table}__columns = Expect<Equals<keyof Row<${literal(table)}>, ${tableColumns.map((column) => literal(column.column)).join(' | ')}>>;`,
    );
    const flexible: string[] = [];
    for (const column of tableColumns) {
      const selected = `Row<${literal(table)}>[${literal(column.column)}]`;
      const id = `${table}__${column.column}`;
      if (column.tsType === undefined) {
        out.push(`export type ${id} = Expect<false>; // no TypeScript mapping for pg type ${column.pgType}`);
        continue;
      }
      if (column.flexible === 'json') {
        flexible.push(column.column);
        out.push(
          `export type ${id} = Expect<Equals<[IsAny<${selected}>, unknown extends ${selected} ? true : false, IsNullable<${selected}>], [false, false, ${column.nullable}]>>;`,
        );
      } else if (column.literals !== undefined) {
        flexible.push(column.column);
        const union = column.literals.map(literal).join(' | ');
        out.push(
          `export type ${id} = Expect<Equals<${selected}, ${nullable(column, 'string')}> extends true ? true : Equals<${selected}, ${nullable(column, `(${union})`)}>>;`,
        );
      } else if (column.generated && column.nullable) {
        // A stored generated column is nullable in the catalog even when its expression never
        // yields null (e.g. to_tsvector of a NOT NULL column): accept T and T | null.
        flexible.push(column.column);
        out.push(
          `export type ${id} = Expect<Equals<${selected}, ${column.tsType}> extends true ? true : Equals<${selected}, ${column.tsType} | null>>;`,
        );
      } else {
        out.push(`export type ${id} = Expect<Equals<${selected}, ${nullable(column, column.tsType)}>>;`);
      }
    }
    const omit = flexible.length === 0 ? '' : flexible.map(literal).join(' | ');
    out.push(
      omit === ''
        ? `export type ${table}__row = Expect<Equals<Row<${literal(table)}>, ${name}>>;`
        : `export type ${table}__row = Expect<Equals<Omit<Row<${literal(table)}>, ${omit}>, Omit<${name}, ${omit}>>>;`,
    );
  }
  return `${out.join('\n')}\n`;
}
