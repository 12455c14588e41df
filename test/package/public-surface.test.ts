import { readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';
import { describe, expect, it } from 'vitest';

// The public surface, pinned: every name each entry point exports (values and types), compared
// with the committed list in public-surface.json. Adding, renaming or removing an export fails
// here until the list is updated on purpose (UPDATE_PUBLIC_SURFACE=1 rewrites it), and the
// changeset says so. Also: what the runtime modules export is exactly the value part of the list,
// and no type a host reads from the main entry shows a zod type.
const root = fileURLToPath(new URL('../..', import.meta.url));
const snapshot = fileURLToPath(new URL('./public-surface.json', import.meta.url));

const ENTRIES: Record<string, string> = {
  carebase: 'src/index.ts',
  'carebase/schemas': 'src/schemas.ts',
  'carebase/migration': 'src/migration/index.ts',
  'carebase/backup': 'src/backup/index.ts',
  'carebase/testing': 'src/testing/index.ts',
};

interface Surface {
  readonly values: string[];
  readonly types: string[];
}

function surfaces(): { program: ts.Program; checker: ts.TypeChecker; byEntry: Record<string, Surface> } {
  const files = Object.values(ENTRIES).map((file) => `${root}${file}`);
  const config = ts.getParsedCommandLineOfConfigFile(
    `${root}tsconfig.json`,
    {},
    {
      ...ts.sys,
      onUnRecoverableConfigFileDiagnostic: () => {},
    },
  );
  const program = ts.createProgram(files, config?.options ?? {});
  const checker = program.getTypeChecker();
  const byEntry: Record<string, Surface> = {};
  for (const [entry, file] of Object.entries(ENTRIES)) {
    const source = program.getSourceFile(`${root}${file}`);
    const module = source === undefined ? undefined : checker.getSymbolAtLocation(source);
    const values: string[] = [];
    const types: string[] = [];
    for (const symbol of module === undefined ? [] : checker.getExportsOfModule(module)) {
      const target = symbol.flags & ts.SymbolFlags.Alias ? checker.getAliasedSymbol(symbol) : symbol;
      (target.flags & ts.SymbolFlags.Value ? values : types).push(symbol.name);
    }
    byEntry[entry] = { values: values.sort(), types: types.sort() };
  }
  return { program, checker, byEntry };
}

const { program, checker, byEntry } = surfaces();

describe('the public surface', () => {
  it('is the committed list (update public-surface.json deliberately)', () => {
    if (process.env.UPDATE_PUBLIC_SURFACE === '1')
      writeFileSync(snapshot, `${JSON.stringify(byEntry, null, 2)}\n`);
    expect(byEntry).toEqual(JSON.parse(readFileSync(snapshot, 'utf8')));
  });

  it('exports at run time exactly the values of the list', async () => {
    for (const entry of Object.keys(ENTRIES)) {
      const module = (await import(entry)) as Record<string, unknown>;
      expect(Object.keys(module).sort(), entry).toEqual(byEntry[entry]?.values);
    }
  });

  it('has no zod schema in the main entry, and no zod type in the types it exports', () => {
    const main = byEntry.carebase as Surface;
    expect(main.values.filter((name) => name.endsWith('Schema'))).toEqual([]);
    const source = program.getSourceFile(`${root}src/index.ts`) as ts.SourceFile;
    const module = checker.getSymbolAtLocation(source) as ts.Symbol;
    const zodShaped: string[] = [];
    for (const symbol of checker.getExportsOfModule(module)) {
      const target = symbol.flags & ts.SymbolFlags.Alias ? checker.getAliasedSymbol(symbol) : symbol;
      if (!(target.flags & (ts.SymbolFlags.Interface | ts.SymbolFlags.TypeAlias))) continue;
      const declaration = target.declarations?.[0];
      if (declaration === undefined) continue;
      // What a hover shows: the declaration as written, and each property's type.
      const written = declaration.getText();
      const type = checker.getDeclaredTypeOfSymbol(target);
      const properties = type
        .getProperties()
        .map((property) => checker.typeToString(checker.getTypeOfSymbolAtLocation(property, declaration)));
      if (/\bz\.|Zod/.test(written) || properties.some((text) => /Zod/.test(text)))
        zodShaped.push(symbol.name);
    }
    expect(zodShaped).toEqual([]);
  });
});
