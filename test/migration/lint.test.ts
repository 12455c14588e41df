import { fileURLToPath } from 'node:url';
import { MigrationError } from 'carebase';
import {
  carebaseMigrations,
  LINT_RULES,
  lintMigrations,
  lintMigrationText,
  migrationChecksum,
} from 'carebase/migration';
import { describe, expect, it } from 'vitest';
import { built, carebase } from '../cli/bin.js';

const root = fileURLToPath(new URL('../..', import.meta.url));
const hazards = fileURLToPath(new URL('./fixtures/hazards', import.meta.url));

describe('migration lint (PostgreSQL parser)', () => {
  it("passes on carebase's own migrations", async () => {
    const report = await lintMigrations(`${root}/migrations`);
    expect(report.findings).toEqual([]);
    expect(report).toMatchObject({ ok: true, checked: (await carebaseMigrations.load()).length });
  });

  it('has at least 12 rules, each with an id, a doc line and a safer way', () => {
    expect(LINT_RULES.length).toBeGreaterThanOrEqual(12);
    for (const rule of LINT_RULES) {
      expect(rule.id).toMatch(/^[a-z][a-z-]+$/);
      expect(rule.summary.length).toBeGreaterThan(20);
      expect(rule.instead.length).toBeGreaterThan(10);
    }
  });

  it('finds every rule in a folder of hazardous migrations, at the right line', async () => {
    const report = await lintMigrations(hazards);
    expect(report.ok).toBe(false);
    const found = new Set(report.findings.map((finding) => finding.rule));
    expect([...found].sort()).toEqual(LINT_RULES.map((rule) => rule.id).sort());
    const where = (migration: string) =>
      report.findings.filter((f) => f.migration === migration).map((f) => [f.rule, f.line]);
    expect(where('0001_base')).toEqual([]);
    expect(where('0002_index')).toEqual([['require-concurrent-index-creation', 1]]);
    expect(where('0014_two_tables')).toEqual([['multiple-lock-statements', 2]]);
    expect(where('0018_no_transaction')).toEqual([
      ['no-transaction-multiple-statements', 2],
      ['no-transaction-multiple-statements', 3],
    ]);
    expect(report.findings.find((f) => f.migration === '0019_down')).toMatchObject({
      rule: 'drop-without-if-exists',
      section: 'down',
      line: 3,
    });
    // Silenced inline (trailing, and on the line before a multi-line statement).
    expect(where('0020_ignored')).toEqual([]);
    expect(report.ignored).toBe(2);
  });

  it('refuses a directive naming an unknown rule, and a file that does not parse', async () => {
    await expect(
      lintMigrationText('0001_x', 'select 1; -- carebase:lint-ignore no-such-rule'),
    ).rejects.toBeInstanceOf(MigrationError);
    const error = await lintMigrationText(
      '0002_y',
      'create table ok (id int);\ncreate tabel broken (id int);',
    ).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(MigrationError);
    expect((error as MigrationError).message).toContain('0002_y: PostgreSQL cannot parse it (line 2)');
  });

  it('lint-ignore comments do not change a migration checksum (no drift when added to an applied migration)', () => {
    const text = 'create table t (id int);\ncreate index t_id on t (id);\n-- carebase:down\ndrop table t;\n';
    const silenced =
      'create table t (id int);\n-- carebase:lint-ignore require-concurrent-index-creation: new table\ncreate index t_id on t (id); -- carebase:lint-ignore require-concurrent-index-creation\n-- carebase:down\n-- carebase:lint-ignore-file drop-without-if-exists\ndrop table t;\n';
    expect(migrationChecksum(silenced)).toBe(migrationChecksum(text));
    expect(migrationChecksum(`${text}-- an ordinary comment\n`)).not.toBe(migrationChecksum(text));
  });

  it.skipIf(!built)(
    "carebase migrate lint: exit 1 and file:line per finding; exit 0 on carebase's own",
    async () => {
      const bad = await carebase(['migrate', 'lint', '--dir', hazards]);
      expect(bad.code).toBe(1);
      expect(bad.stdout).toMatch(
        /0002_index\.sql:1 require-concurrent-index-creation \(up\): index on existing table orders/,
      );
      expect(bad.stdout).toContain('instead: CREATE INDEX CONCURRENTLY');
      const good = await carebase(['migrate', 'lint', '--dir', 'migrations'], { cwd: root });
      expect(good.code, good.stderr).toBe(0);
    },
  );
});
