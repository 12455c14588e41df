import {
  dropObjectName,
  type NamedRelation,
  type ParsedStatement,
  qualifiedName,
  rangeVar,
} from '../sql-parser.js';

/** What a rule sees besides the statement: its place in the migration. */
export interface LintContext {
  readonly section: 'up' | 'down';
  /** False for migrations marked `-- carebase:no-transaction`. */
  readonly transaction: boolean;
  /** Tables created earlier in the same section: new, empty, locked by nobody else. */
  readonly created: ReadonlySet<string>;
  /** Existing tables that earlier statements of the same transaction locked strongly. */
  readonly locked: ReadonlySet<string>;
  /** How many statements the section has. */
  readonly statements: number;
}

/**
 * A lint rule: an id (used in `-- carebase:lint-ignore ID`), a one-line doc and the safer way.
 *
 * @example
 * ```ts
 * import { LINT_RULES, type LintRule } from 'carebase/migration';
 * const rule: LintRule | undefined = LINT_RULES.find((r) => r.id === 'require-concurrent-index-creation');
 * console.log(`${rule?.id}: ${rule?.summary} Instead: ${rule?.instead}`);
 * ```
 */
export interface LintRule {
  readonly id: string;
  /** What the rule catches and why it hurts, in one line. */
  readonly summary: string;
  /** What to write instead. */
  readonly instead: string;
}

interface RuleCheck extends LintRule {
  /** A finding's message, or undefined when the statement passes. */
  check(statement: ParsedStatement, context: LintContext): string | undefined;
}

type Node = Record<string, unknown>;
interface AlterCmd {
  readonly subtype?: string;
  readonly name?: string;
  readonly def?: Node;
}

const VOLATILE_FUNCTIONS = new Set([
  'random',
  'gen_random_uuid',
  'uuid_generate_v1',
  'uuid_generate_v1mc',
  'uuid_generate_v4',
  'uuidv4',
  'uuidv7',
  'clock_timestamp',
  'timeofday',
  'nextval',
  'txid_current',
  'setseed',
]);
const SERIAL_TYPES = new Set(['serial', 'serial2', 'serial4', 'serial8', 'smallserial', 'bigserial']);

function alterCmds(statement: ParsedStatement): AlterCmd[] {
  if (statement.kind !== 'AlterTableStmt') return [];
  return ((statement.node.cmds as { AlterTableCmd?: AlterCmd }[] | undefined) ?? []).flatMap((cmd) =>
    cmd.AlterTableCmd === undefined ? [] : [cmd.AlterTableCmd],
  );
}

function relationOf(statement: ParsedStatement): NamedRelation | undefined {
  return rangeVar(statement.node.relation);
}

/** True when `relation` was not created earlier in the same section. */
function existing(relation: NamedRelation | undefined, context: LintContext): relation is NamedRelation {
  return relation !== undefined && !context.created.has(relation.name);
}

function display(relation: NamedRelation): string {
  return relation.schema === undefined ? relation.name : `${relation.schema}.${relation.name}`;
}

function constraintsOf(def: Node | undefined): Node[] {
  const column = def?.ColumnDef as { constraints?: { Constraint?: Node }[] } | undefined;
  return (column?.constraints ?? []).flatMap((item) =>
    item.Constraint === undefined ? [] : [item.Constraint],
  );
}

function containsVolatileCall(value: unknown): string | undefined {
  if (Array.isArray(value)) {
    for (const item of value) {
      const found = containsVolatileCall(item);
      if (found !== undefined) return found;
    }
    return undefined;
  }
  if (typeof value !== 'object' || value === null) return undefined;
  const call = (value as Node).FuncCall as { funcname?: { String?: { sval?: string } }[] } | undefined;
  const name = call?.funcname?.at(-1)?.String?.sval;
  if (name !== undefined && VOLATILE_FUNCTIONS.has(name.toLowerCase())) return name;
  for (const child of Object.values(value)) {
    const found = containsVolatileCall(child);
    if (found !== undefined) return found;
  }
  return undefined;
}

function isConcurrent(statement: ParsedStatement): boolean {
  if (statement.node.concurrent === true) return true;
  if (statement.kind === 'ReindexStmt') {
    return ((statement.node.params as { DefElem?: { defname?: string } }[] | undefined) ?? []).some(
      (param) => param.DefElem?.defname === 'concurrently',
    );
  }
  return false;
}

/**
 * The existing tables a statement locks in a mode that blocks writes or reads (SHARE or
 * stronger), for `multiple-lock-statements`. `VALIDATE CONSTRAINT` takes a weaker lock.
 */
export function stronglyLocked(statement: ParsedStatement, context: LintContext): NamedRelation[] {
  const tables: (NamedRelation | undefined)[] = [];
  switch (statement.kind) {
    case 'AlterTableStmt': {
      const cmds = alterCmds(statement);
      if (cmds.length > 0 && cmds.every((cmd) => cmd.subtype === 'AT_ValidateConstraint')) break;
      tables.push(relationOf(statement));
      for (const cmd of cmds) {
        const fk = [...constraintsOf(cmd.def), (cmd.def?.Constraint as Node | undefined) ?? {}].find(
          (constraint) => constraint.contype === 'CONSTR_FOREIGN',
        );
        if (fk !== undefined) tables.push(rangeVar(fk.pktable));
      }
      break;
    }
    case 'IndexStmt':
      if (!isConcurrent(statement)) tables.push(relationOf(statement));
      break;
    case 'RenameStmt':
    case 'ClusterStmt':
    case 'CreateTrigStmt':
      tables.push(relationOf(statement));
      break;
    case 'TruncateStmt':
    case 'LockStmt':
      for (const relation of (statement.node.relations as unknown[] | undefined) ?? [])
        tables.push(rangeVar(relation));
      break;
    case 'DropStmt':
      if (statement.node.removeType === 'OBJECT_TABLE') {
        for (const object of (statement.node.objects as unknown[] | undefined) ?? []) {
          tables.push(qualifiedName(dropObjectName(object)));
        }
      }
      break;
  }
  return tables.filter((table): table is NamedRelation => existing(table, context));
}

/** Every rule `lintMigrations` applies, in the order findings are reported for one statement. */
export const RULE_CHECKS: readonly RuleCheck[] = [
  {
    id: 'require-concurrent-index-creation',
    summary:
      'CREATE INDEX without CONCURRENTLY on an existing table blocks every write to it for the whole build.',
    instead:
      'CREATE INDEX CONCURRENTLY IF NOT EXISTS, alone in a migration marked -- carebase:no-transaction.',
    check(statement, context) {
      if (statement.kind !== 'IndexStmt' || isConcurrent(statement)) return undefined;
      const table = relationOf(statement);
      return existing(table, context)
        ? `index on existing table ${display(table)} built without CONCURRENTLY`
        : undefined;
    },
  },
  {
    id: 'require-concurrent-index-deletion',
    summary: 'DROP INDEX without CONCURRENTLY takes an ACCESS EXCLUSIVE lock on the table: reads wait.',
    instead: 'DROP INDEX CONCURRENTLY IF EXISTS, in a migration marked -- carebase:no-transaction.',
    check(statement, context) {
      if (statement.kind !== 'DropStmt' || statement.node.removeType !== 'OBJECT_INDEX') return undefined;
      if (isConcurrent(statement) || context.section === 'down') return undefined;
      return 'index dropped without CONCURRENTLY';
    },
  },
  {
    id: 'concurrently-in-transaction',
    summary: 'CONCURRENTLY cannot run inside a transaction: the migration fails when it is applied.',
    instead: 'Make -- carebase:no-transaction the first line of the migration.',
    check(statement, context) {
      if (!context.transaction || !isConcurrent(statement)) return undefined;
      return `${statement.kind.replace(/Stmt$/, '')} CONCURRENTLY in a transactional migration`;
    },
  },
  {
    id: 'adding-field-with-volatile-default',
    summary:
      'ADD COLUMN with a volatile default (random(), gen_random_uuid(), clock_timestamp(), serial, identity, stored generated) rewrites the table under an ACCESS EXCLUSIVE lock.',
    instead:
      'Add the column without a default (or with a constant one), backfill in batches, then set the default.',
    check(statement, context) {
      const table = relationOf(statement);
      if (!existing(table, context)) return undefined;
      for (const cmd of alterCmds(statement)) {
        if (cmd.subtype !== 'AT_AddColumn') continue;
        const column = cmd.def?.ColumnDef as
          | { colname?: string; typeName?: { names?: unknown[] } }
          | undefined;
        const type = ((column?.typeName?.names ?? []).at(-1) as { String?: { sval?: string } } | undefined)
          ?.String?.sval;
        if (type !== undefined && SERIAL_TYPES.has(type))
          return `column ${column?.colname} of ${display(table)} is ${type}`;
        for (const constraint of constraintsOf(cmd.def)) {
          if (constraint.contype === 'CONSTR_IDENTITY')
            return `identity column ${column?.colname} added to ${display(table)}`;
          if (constraint.contype === 'CONSTR_GENERATED')
            return `stored generated column ${column?.colname} added to ${display(table)}`;
          const volatile =
            constraint.contype === 'CONSTR_DEFAULT' ? containsVolatileCall(constraint.raw_expr) : undefined;
          if (volatile !== undefined)
            return `column ${column?.colname} of ${display(table)} defaults to ${volatile}()`;
        }
      }
      return undefined;
    },
  },
  {
    id: 'adding-required-field',
    summary: 'ADD COLUMN ... NOT NULL without a default fails on a table that has rows.',
    instead: 'Add it nullable (or with a constant default), backfill, then add the NOT NULL the safe way.',
    check(statement, context) {
      const table = relationOf(statement);
      if (!existing(table, context)) return undefined;
      for (const cmd of alterCmds(statement)) {
        if (cmd.subtype !== 'AT_AddColumn') continue;
        const kinds = constraintsOf(cmd.def).map((constraint) => constraint.contype);
        if (
          kinds.includes('CONSTR_NOTNULL') &&
          !kinds.some(
            (kind) => kind === 'CONSTR_DEFAULT' || kind === 'CONSTR_IDENTITY' || kind === 'CONSTR_GENERATED',
          )
        ) {
          const name = (cmd.def?.ColumnDef as { colname?: string } | undefined)?.colname;
          return `NOT NULL column ${name} added to ${display(table)} without a default`;
        }
      }
      return undefined;
    },
  },
  {
    id: 'changing-column-type',
    summary: 'ALTER COLUMN ... TYPE rewrites the table and its indexes under an ACCESS EXCLUSIVE lock.',
    instead: 'Add a new column, backfill it in batches, switch the code over, then drop the old one.',
    check(statement, context) {
      const table = relationOf(statement);
      if (!existing(table, context)) return undefined;
      const cmd = alterCmds(statement).find((item) => item.subtype === 'AT_AlterColumnType');
      return cmd === undefined ? undefined : `type of ${display(table)}.${cmd.name} changed`;
    },
  },
  {
    id: 'setting-not-null',
    summary:
      'SET NOT NULL scans the whole table under an ACCESS EXCLUSIVE lock unless a validated CHECK proves it.',
    instead:
      'ADD CONSTRAINT c CHECK (col IS NOT NULL) NOT VALID; VALIDATE CONSTRAINT c in a later migration; then SET NOT NULL (ignore this rule there).',
    check(statement, context) {
      const table = relationOf(statement);
      if (!existing(table, context)) return undefined;
      const cmd = alterCmds(statement).find((item) => item.subtype === 'AT_SetNotNull');
      return cmd === undefined ? undefined : `SET NOT NULL on ${display(table)}.${cmd.name}`;
    },
  },
  {
    id: 'adding-foreign-key-constraint',
    summary:
      'A foreign key added without NOT VALID scans the table while holding locks that block writes to both tables.',
    instead: 'ADD CONSTRAINT ... FOREIGN KEY ... NOT VALID, then VALIDATE CONSTRAINT in a later migration.',
    check(statement, context) {
      const table = relationOf(statement);
      if (!existing(table, context)) return undefined;
      for (const cmd of alterCmds(statement)) {
        const constraints = [
          ...constraintsOf(cmd.def),
          ...(cmd.def?.Constraint === undefined ? [] : [cmd.def.Constraint as Node]),
        ];
        if (constraints.some((c) => c.contype === 'CONSTR_FOREIGN' && c.skip_validation !== true)) {
          return `foreign key added to ${display(table)} without NOT VALID`;
        }
      }
      return undefined;
    },
  },
  {
    id: 'constraint-missing-not-valid',
    summary:
      'A CHECK constraint added without NOT VALID scans the whole table under an ACCESS EXCLUSIVE lock.',
    instead: 'ADD CONSTRAINT ... CHECK (...) NOT VALID, then VALIDATE CONSTRAINT in a later migration.',
    check(statement, context) {
      const table = relationOf(statement);
      if (!existing(table, context)) return undefined;
      for (const cmd of alterCmds(statement)) {
        const constraint = cmd.def?.Constraint as Node | undefined;
        if (
          cmd.subtype === 'AT_AddConstraint' &&
          constraint?.contype === 'CONSTR_CHECK' &&
          constraint.skip_validation !== true
        ) {
          return `CHECK constraint added to ${display(table)} without NOT VALID`;
        }
      }
      return undefined;
    },
  },
  {
    id: 'disallowed-unique-constraint',
    summary:
      'ADD UNIQUE / PRIMARY KEY / EXCLUDE builds its index under an ACCESS EXCLUSIVE lock: reads and writes wait.',
    instead: 'CREATE UNIQUE INDEX CONCURRENTLY first, then ADD CONSTRAINT ... UNIQUE USING INDEX.',
    check(statement, context) {
      const table = relationOf(statement);
      if (!existing(table, context)) return undefined;
      for (const cmd of alterCmds(statement)) {
        const constraint = cmd.def?.Constraint as Node | undefined;
        const kind = constraint?.contype;
        if (
          cmd.subtype === 'AT_AddConstraint' &&
          (kind === 'CONSTR_UNIQUE' || kind === 'CONSTR_PRIMARY' || kind === 'CONSTR_EXCLUSION') &&
          constraint?.indexname === undefined
        ) {
          return `${String(kind).replace('CONSTR_', '').toLowerCase()} constraint on ${display(table)} builds an index`;
        }
      }
      return undefined;
    },
  },
  {
    id: 'renaming-column',
    summary: 'Renaming a column breaks every running instance of the app that still uses the old name.',
    instead: 'Add the new column, write both, move readers, then drop the old one (or use a view).',
    check(statement, context) {
      if (statement.kind !== 'RenameStmt' || statement.node.renameType !== 'OBJECT_COLUMN') return undefined;
      const table = relationOf(statement);
      return existing(table, context)
        ? `column ${display(table)}.${statement.node.subname} renamed`
        : undefined;
    },
  },
  {
    id: 'renaming-table',
    summary: 'Renaming a table breaks every running instance of the app that still uses the old name.',
    instead: 'Create the new table (or a view with the new name) and move the code over first.',
    check(statement, context) {
      if (statement.kind !== 'RenameStmt' || statement.node.renameType !== 'OBJECT_TABLE') return undefined;
      const table = relationOf(statement);
      return existing(table, context) ? `table ${display(table)} renamed` : undefined;
    },
  },
  {
    id: 'ban-drop-column',
    summary: 'Dropping a column loses its data and breaks running code that still reads it.',
    instead:
      'Stop using the column in the code first; drop it in a later release (and ignore this rule there).',
    check(statement, context) {
      if (context.section !== 'up') return undefined;
      const table = relationOf(statement);
      const cmd = alterCmds(statement).find((item) => item.subtype === 'AT_DropColumn');
      return cmd !== undefined && existing(table, context)
        ? `column ${display(table)}.${cmd.name} dropped`
        : undefined;
    },
  },
  {
    id: 'ban-drop-table',
    summary: 'Dropping a table in an up migration loses its data and breaks running code that still uses it.',
    instead: 'Stop using the table first; drop it in a later release (and ignore this rule there).',
    check(statement, context) {
      if (
        context.section !== 'up' ||
        statement.kind !== 'DropStmt' ||
        statement.node.removeType !== 'OBJECT_TABLE'
      ) {
        return undefined;
      }
      return 'table dropped in an up migration';
    },
  },
  {
    id: 'drop-without-if-exists',
    summary:
      'A DROP without IF EXISTS in a down section fails when the object is already gone, leaving a half-rolled-back schema.',
    instead: 'DROP ... IF EXISTS in down sections.',
    check(statement, context) {
      if (context.section !== 'down' || statement.kind !== 'DropStmt' || statement.node.missing_ok === true)
        return undefined;
      const what = String(statement.node.removeType ?? 'OBJECT')
        .replace('OBJECT_', '')
        .toLowerCase();
      return `DROP ${what} without IF EXISTS in a down section`;
    },
  },
  {
    id: 'multiple-lock-statements',
    summary:
      'Strong locks on several existing tables in one transaction: each is held while the next is waited for, blocking the first table meanwhile (and risking deadlocks).',
    instead: 'One table per migration, or order the statements and keep the transaction short.',
    check(statement, context) {
      // Dropping a table the app no longer uses is flagged by ban-drop-table, not here.
      if (!context.transaction || statement.kind === 'DropStmt') return undefined;
      const fresh = stronglyLocked(statement, context).filter((table) => !context.locked.has(table.name));
      if (context.locked.size === 0 && fresh.length < 2) return undefined;
      if (fresh.length === 0) return undefined;
      return `locks ${fresh.map(display).join(', ')} while already holding locks on ${
        [...context.locked].join(', ') || display(fresh[0] as NamedRelation)
      }`;
    },
  },
  {
    id: 'ban-exclusive-maintenance',
    summary:
      'VACUUM FULL, CLUSTER, REINDEX without CONCURRENTLY and LOCK TABLE hold table-wide locks for their whole run.',
    instead: 'REINDEX ... CONCURRENTLY; pg_repack for rewrites; no explicit LOCK TABLE in migrations.',
    check(statement) {
      if (statement.kind === 'ClusterStmt')
        return 'CLUSTER rewrites the table under an ACCESS EXCLUSIVE lock';
      if (statement.kind === 'LockStmt') return 'explicit LOCK TABLE';
      if (statement.kind === 'ReindexStmt' && !isConcurrent(statement)) return 'REINDEX without CONCURRENTLY';
      if (
        statement.kind === 'VacuumStmt' &&
        ((statement.node.options as { DefElem?: { defname?: string } }[] | undefined) ?? []).some(
          (option) => option.DefElem?.defname === 'full',
        )
      ) {
        return 'VACUUM FULL rewrites the table under an ACCESS EXCLUSIVE lock';
      }
      return undefined;
    },
  },
  {
    id: 'no-transaction-multiple-statements',
    summary:
      'A -- carebase:no-transaction migration with several statements stays half applied when one fails (nothing is recorded).',
    instead:
      'One statement per no-transaction migration, or make every statement idempotent (IF NOT EXISTS).',
    check(statement, context) {
      if (context.transaction || context.statements < 2) return undefined;
      const text = statement.text.toLowerCase();
      return /\bif\s+(not\s+)?exists\b/.test(text)
        ? undefined
        : 'statement is not idempotent (no IF [NOT] EXISTS)';
    },
  },
];

/**
 * The rules of `lintMigrations`, each with its id (for `-- carebase:lint-ignore ID`), a one-line
 * doc and what to write instead.
 *
 * @example
 * ```ts
 * import { LINT_RULES } from 'carebase/migration';
 * for (const rule of LINT_RULES) console.log(`${rule.id.padEnd(40)} ${rule.summary}`);
 * ```
 */
export const LINT_RULES: readonly LintRule[] = Object.freeze(
  RULE_CHECKS.map(({ id, summary, instead }) => Object.freeze({ id, summary, instead })),
);
