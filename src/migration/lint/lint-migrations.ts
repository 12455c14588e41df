import { readdir, readFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { MigrationError } from '../../errors/errors.js';
import { parseSql } from '../sql-parser.js';
import { RULE_CHECKS, stronglyLocked } from './lint-rules.js';

/**
 * One hazard `lintMigrations` found.
 *
 * @example
 * ```ts
 * import { type LintFinding, lintMigrations } from 'carebase/migration';
 * const { findings } = await lintMigrations('./migrations');
 * const byFile = new Map<string, LintFinding[]>();
 * for (const f of findings) byFile.set(f.migration, [...(byFile.get(f.migration) ?? []), f]);
 * for (const [migration, list] of byFile) console.log(migration, list.length);
 * ```
 */
export interface LintFinding {
  /** The migration's name (its file name without extension). */
  readonly migration: string;
  readonly section: 'up' | 'down';
  /** 1-based line in the file of the statement's first token. */
  readonly line: number;
  /** The rule's id, e.g. `require-concurrent-index-creation`. */
  readonly rule: string;
  readonly message: string;
}

/**
 * What `lintMigrations` found.
 *
 * @example
 * ```ts
 * import { lintMigrations, type LintReport } from 'carebase/migration';
 * const report: LintReport = await lintMigrations('./migrations');
 * if (!report.ok) process.exitCode = 1;
 * console.log(`${report.checked} migrations, ${report.findings.length} findings, ${report.ignored} ignored`);
 * ```
 */
export interface LintReport {
  /** True when nothing was found. */
  readonly ok: boolean;
  readonly findings: readonly LintFinding[];
  /** SQL migrations read. */
  readonly checked: number;
  /** Code migrations (`.ts`, `.js`, ...), which cannot be read and are skipped. */
  readonly skipped: readonly string[];
  /** Findings silenced by `-- carebase:lint-ignore`. */
  readonly ignored: number;
}

const DIRECTIVE = /--\s*carebase:lint-ignore(-file)?\s+([a-z0-9-]+(?:\s*,\s*[a-z0-9-]+)*)/;
const NO_TRANSACTION = /^--\s*carebase:no-transaction\s*$/;
const DOWN_MARKER = /^--\s*carebase:down\s*$/;
const CODE_FILE = /^\d.*\.(?:m?js|m?ts)$/;

interface Directive {
  readonly line: number;
  readonly rules: readonly string[];
  /** True when code precedes the comment on its line: it covers that line's statement. */
  readonly trailing: boolean;
  /** `-- carebase:lint-ignore-file`: covers every statement of the file. */
  readonly file: boolean;
}

/**
 * Checks migration SQL for lock hazards with PostgreSQL's own parser (libpg_query): the rules of
 * `LINT_RULES`, in the spirit of squawk. `dir` is a folder of migrations (`*.sql`, read like
 * `fileMigrations`; numbered code migrations are listed as skipped). Up and down sections are
 * both read; a table created earlier in the same section counts as new (empty, unused).
 *
 * A finding is silenced by a comment `-- carebase:lint-ignore RULE[, RULE...] [reason]` on the
 * statement's line (after it) or on its own line right before the statement, and in a whole file
 * by `-- carebase:lint-ignore-file RULE[, RULE...] [reason]`. Such comments do not change the
 * migration's checksum, so they may be added to applied migrations.
 *
 * Reads only files; connects to nothing. Throws `MigrationError` when the folder cannot be read,
 * a directive names an unknown rule, or a file does not parse (naming the file and line).
 *
 * @example
 * ```ts
 * import { lintMigrations } from 'carebase/migration';
 * const report = await lintMigrations('./db/migrations');
 * for (const f of report.findings) console.error(`${f.migration}:${f.line} ${f.rule}: ${f.message}`);
 * ```
 */
export async function lintMigrations(dir: string): Promise<LintReport> {
  const folder = resolve(dir);
  let entries: string[];
  try {
    entries = (await readdir(folder)).sort();
  } catch (error) {
    throw new MigrationError(`cannot read the migrations folder ${dir}`, {}, { cause: error });
  }
  const findings: LintFinding[] = [];
  const skipped: string[] = [];
  let checked = 0;
  let ignored = 0;
  for (const file of entries) {
    if (CODE_FILE.test(file) && !/\.d\.m?ts$/.test(file)) {
      skipped.push(file);
      continue;
    }
    if (!file.endsWith('.sql')) continue;
    const result = await lintMigrationText(
      file.slice(0, -'.sql'.length),
      await readFile(join(folder, file), 'utf8'),
    );
    findings.push(...result.findings);
    ignored += result.ignored;
    checked++;
  }
  return { ok: findings.length === 0, findings, checked, skipped, ignored };
}

/**
 * Lints one migration's text (both sections). See {@link lintMigrations}.
 *
 * @example
 * ```ts
 * import { lintMigrationText } from 'carebase/migration';
 * const { findings } = await lintMigrationText('0009_index', 'create index notes_body on notes (body);');
 * console.log(findings.map((f) => f.rule)); // ['require-concurrent-index-creation']
 * ```
 */
export async function lintMigrationText(
  name: string,
  text: string,
): Promise<{ findings: LintFinding[]; ignored: number }> {
  const lines = text
    .replace(/^\uFEFF/, '')
    .replace(/\r\n?/g, '\n')
    .split('\n');
  const firstCode = lines.find((line) => line.trim() !== '') ?? '';
  const transaction = !NO_TRANSACTION.test(firstCode.trim());
  const marker = lines.findIndex((line) => DOWN_MARKER.test(line.trim()));
  const directives = readDirectives(name, lines);
  const sections: { section: 'up' | 'down'; offset: number; text: string }[] = [
    { section: 'up', offset: 0, text: (marker === -1 ? lines : lines.slice(0, marker)).join('\n') },
  ];
  if (marker !== -1)
    sections.push({ section: 'down', offset: marker + 1, text: lines.slice(marker + 1).join('\n') });
  const findings: LintFinding[] = [];
  let ignored = 0;
  for (const { section, offset, text: sectionText } of sections) {
    const statements = await parseSql(sectionText, name);
    const created = new Set<string>();
    const locked = new Set<string>();
    for (const [index, parsed] of statements.entries()) {
      const statement = { ...parsed, startLine: parsed.startLine + offset, endLine: parsed.endLine + offset };
      const context = { section, transaction, created, locked, statements: statements.length };
      const silenced = silencedRules(directives, statements, index, offset);
      for (const rule of RULE_CHECKS) {
        const message = rule.check(statement, context);
        if (message === undefined) continue;
        if (silenced.has(rule.id)) {
          ignored++;
          continue;
        }
        findings.push({ migration: name, section, line: statement.startLine, rule: rule.id, message });
      }
      if (transaction) for (const table of stronglyLocked(statement, context)) locked.add(table.name);
      const createdName =
        statement.kind === 'CreateStmt'
          ? (statement.node.relation as { relname?: string } | undefined)?.relname
          : statement.kind === 'CreateTableAsStmt'
            ? (statement.node.into as { rel?: { relname?: string } } | undefined)?.rel?.relname
            : undefined;
      if (createdName !== undefined) created.add(createdName);
    }
  }
  return { findings, ignored };
}

function readDirectives(name: string, lines: readonly string[]): Directive[] {
  const known = new Set(RULE_CHECKS.map((rule) => rule.id));
  const directives: Directive[] = [];
  for (const [index, line] of lines.entries()) {
    const match = DIRECTIVE.exec(line);
    if (match === null) continue;
    const rules = (match[2] ?? '').split(',').map((rule) => rule.trim());
    const unknown = rules.find((rule) => !known.has(rule));
    if (unknown !== undefined) {
      throw new MigrationError(
        `${name}, line ${index + 1}: carebase:lint-ignore names an unknown rule: ${unknown}`,
        {
          migration: name,
        },
      );
    }
    directives.push({
      line: index + 1,
      rules,
      trailing: line.slice(0, match.index).trim() !== '',
      file: match[1] !== undefined,
    });
  }
  return directives;
}

/** The rules silenced for statement `index`: trailing directives on its lines, or a directive line just before it. */
function silencedRules(
  directives: readonly Directive[],
  statements: readonly { startLine: number; endLine: number }[],
  index: number,
  offset: number,
): Set<string> {
  const statement = statements[index];
  const silenced = new Set<string>();
  if (statement === undefined) return silenced;
  const start = statement.startLine + offset;
  const end = statement.endLine + offset;
  const previousEnd = (statements[index - 1]?.endLine ?? 0) + offset;
  for (const directive of directives) {
    const covers = directive.file
      ? true
      : directive.trailing
        ? directive.line >= start && directive.line <= end && directive.line > previousEnd
        : directive.line < start && directive.line > previousEnd;
    if (covers) for (const rule of directive.rules) silenced.add(rule);
  }
  return silenced;
}
