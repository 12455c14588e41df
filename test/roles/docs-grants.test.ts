import { readFileSync } from 'node:fs';
import { APP_ROLE_FUNCTIONS, APP_ROLE_TABLE_PRIVILEGES } from 'carebase/migration';
import { expect, it } from 'vitest';

// docs/security.md is the one place the app role's grants are written down: it must say exactly
// what grantAppRole() grants.
it("docs/security.md lists exactly the app role's table privileges and functions", () => {
  const text = readFileSync(new URL('../../docs/security.md', import.meta.url), 'utf8');
  const rows = text
    .split('\n')
    .map((line) => /^\| `([a-z_]+(?:\([^)]*\))?)`\s*\|\s*([A-Z, ]+?)\s*\|/.exec(line))
    .filter((match): match is RegExpExecArray => match !== null)
    .map((match) => [match[1] as string, (match[2] as string).split(', ').sort().join(', ')] as const);
  const tables = Object.fromEntries(rows.filter(([name]) => !name.includes('(')));
  const functions = rows
    .filter(([name]) => name.includes('('))
    .map(([name, privileges]) => [name, privileges]);
  expect(tables).toEqual(
    Object.fromEntries(
      Object.entries(APP_ROLE_TABLE_PRIVILEGES).map(([table, privileges]) => [
        table,
        [...privileges].sort().join(', '),
      ]),
    ),
  );
  expect(functions).toEqual(APP_ROLE_FUNCTIONS.map((fn) => [fn, 'EXECUTE']));
});
