import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { architectureProblems, type ImportGraph, importGraph } from '../../scripts/check-architecture.ts';

const src = fileURLToPath(new URL('../../src', import.meta.url));

describe('architecture of src/', () => {
  it('has no import cycles, no layer back-edges and no cycles between repository areas', () => {
    expect(architectureProblems(importGraph(src))).toEqual([]);
  });

  it('the check reports a file cycle, a back-edge and an area cycle', () => {
    const graph: ImportGraph = new Map([
      ['pool/health.ts', ['repositories/context.ts']],
      ['repositories/context.ts', []],
      ['repositories/users/users-repository.ts', ['repositories/sessions/sessions-repository.ts']],
      ['repositories/sessions/sessions-repository.ts', ['repositories/users/user.ts']],
      ['repositories/users/user.ts', []],
      ['sql/a.ts', ['sql/b.ts']],
      ['sql/b.ts', ['sql/a.ts']],
    ]);
    expect(architectureProblems(graph)).toEqual([
      'import cycle: sql/a.ts <-> sql/b.ts',
      'layer back-edge: pool/health.ts (pool) imports repositories/context.ts (repositories)',
      'repositories area cycle: sessions <-> users',
    ]);
  });

  it('carries no "(issue N)" markers in src/ or test/', () => {
    const marked: string[] = [];
    for (const dir of ['../../src', '../../test']) {
      const root = fileURLToPath(new URL(dir, import.meta.url));
      for (const entry of readdirSync(root, { recursive: true, withFileTypes: true })) {
        if (!entry.isFile() || !entry.name.endsWith('.ts')) continue;
        const file = join(entry.parentPath, entry.name);
        const lines = readFileSync(file, 'utf8').split('\n');
        lines.forEach((line, index) => {
          if (/\(issue \d+\)/i.test(line)) marked.push(`${file}:${index + 1}`);
        });
      }
    }
    expect(marked).toEqual([]);
  });
});
