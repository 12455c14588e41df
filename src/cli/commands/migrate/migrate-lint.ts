import { resolve } from 'node:path';
import { lintMigrations } from '../../../migration/lint/lint-migrations.js';
import { LINT_RULES } from '../../../migration/lint/lint-rules.js';
import { type CliCommand, ok, problem } from '../../command.js';
import { stringFlag } from '../../flags.js';

/** `carebase migrate lint`: lock hazards in migration SQL, read with PostgreSQL's parser. */
export const migrateLintCommand: CliCommand = {
  path: ['migrate', 'lint'],
  summary: "check migration SQL for lock hazards with PostgreSQL's parser (exit 1 on findings)",
  positionals: { min: 0, max: 0 },
  database: 'none',
  flags: { dir: { type: 'string', value: 'DIR', description: 'the migration folder (default: migrations)' } },
  details: `Rules (silence one with a comment "-- carebase:lint-ignore RULE reason" on the statement's line or the
line before it; "-- carebase:lint-ignore-file RULE reason" for a whole file):
${LINT_RULES.map((rule) => `  ${rule.id}\n      ${rule.summary}`).join('\n')}`,
  async run(context) {
    const dir = stringFlag(context.values, 'dir') ?? 'migrations';
    const report = await lintMigrations(resolve(context.io.cwd, dir));
    const lines = report.findings.map(
      (finding) =>
        `${dir}/${finding.migration}.sql:${finding.line} ${finding.rule} (${finding.section}): ${finding.message}`,
    );
    const hit = [...new Set(report.findings.map((finding) => finding.rule))];
    const advice = hit.map((id) => {
      const rule = LINT_RULES.find((candidate) => candidate.id === id);
      return `  ${id}: ${rule?.summary ?? ''}\n    instead: ${rule?.instead ?? ''}`;
    });
    const summary = `${report.checked} migration${report.checked === 1 ? '' : 's'} checked, ${report.findings.length} finding${
      report.findings.length === 1 ? '' : 's'
    }, ${report.ignored} ignored${report.skipped.length === 0 ? '' : `, ${report.skipped.length} code migrations skipped`}`;
    const text = [
      ...lines,
      ...(advice.length === 0 ? [] : ['', ...advice]),
      ...(lines.length === 0 ? [] : ['']),
      summary,
    ].join('\n');
    const json = { dir, ...report };
    return report.ok ? ok(json, text) : problem(json, text);
  },
};
