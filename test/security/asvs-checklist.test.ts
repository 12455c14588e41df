import { existsSync, readFileSync } from 'node:fs';
import { expect, it } from 'vitest';

const root = new URL('../../', import.meta.url);

// docs/security.md names a test for each ASVS requirement carebase meets (`file › test name`):
// every named file must exist and hold a test of exactly that name, so the checklist cannot
// point at a test that was renamed or removed.
it('every test docs/security.md names for an ASVS requirement exists', () => {
  const text = readFileSync(new URL('docs/security.md', root), 'utf8');
  const section = text.slice(text.indexOf('## OWASP ASVS 5.0'));
  const named = [...section.matchAll(/(test\/[\w/.-]+\.test\.ts) › ([^|\n]+?)(?:\s*\||\.?\s*$)/gm)].map(
    (match) => ({ file: match[1] as string, name: (match[2] as string).trim() }),
  );
  expect(named.length).toBeGreaterThan(30);
  const missing = named.filter(({ file, name }) => {
    const path = new URL(file, root);
    if (!existsSync(path)) return true;
    const source = readFileSync(path, 'utf8');
    // The name as a test title: a quoted string literal right after `it(` (any quote style).
    return !["'", '"', '`'].some((quote) => source.includes(`it(${quote}${name}${quote}`));
  });
  expect(missing).toEqual([]);
});
