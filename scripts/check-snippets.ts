/**
 * Compiles every TypeScript example a reader can copy: the ```ts blocks of README.md, docs/*.md
 * and examples/*\/README.md, and the `@example` blocks of the TSDoc in src/. Each becomes a module
 * in .snippets/ that imports carebase the way a user does (package self-reference to the built
 * dist/, so run `npm run build` first) and is type-checked with the project's strictness.
 *
 * A snippet compiles as written: every carebase name it uses must be imported in the snippet, as a
 * reader would have to. Only a few host values are declared for every snippet (`cb`, `userId`,
 * `req`, ...: .snippets/globals.d.ts, typed with `import('carebase').X` so no carebase name comes
 * into scope); a snippet's own import or declaration of the same name shadows them.
 *
 * A snippet declares any other free variable in a hidden preamble: an HTML comment on the line(s)
 * right before its fence, in Markdown and in an `@example` alike (hidden on GitHub, in typedoc's
 * pages and in editor hovers):
 *
 *   <!-- snippet-preamble: declare const orders: readonly { id: string }[]; -->
 *
 * A preamble holds declarations only: an `import` there would hide the import a reader needs, so
 * it is an error (use `import('carebase').Name` in a declared type instead).
 *
 * Every public export (value or type) must carry an `@example` on its declaration in src/.
 *
 *   node scripts/check-snippets.ts            # exits 1 and lists each failing block or export
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import ts from 'typescript';

const root = join(import.meta.dirname, '..');
const out = join(root, '.snippets');

interface Snippet {
  readonly source: string;
  readonly line: number;
  readonly code: string;
  /** Declarations from a `<!-- snippet-preamble: ... -->` comment before the fence. */
  readonly preamble: string;
}

// The last comment before the fence: its text may not contain `-->` (else the match would start at
// an earlier preamble of the same file and swallow the code between).
const PREAMBLE = /<!--\s*snippet-preamble:((?:(?!-->)[\s\S])*?)-->\s*$/;

/** The preamble of a comment that ends right before a fence (`before` is the text up to it). */
function preambleBefore(before: string): string {
  return PREAMBLE.exec(before)?.[1]?.trim() ?? '';
}

function files(dir: string, keep: (name: string) => boolean): string[] {
  return readdirSync(join(root, dir), { recursive: true, withFileTypes: true })
    .filter((entry) => entry.isFile() && keep(entry.name))
    .map((entry) => relative(root, join(entry.parentPath, entry.name)))
    .sort();
}

/** ```ts / ```typescript fences in a Markdown file. */
function markdownSnippets(source: string): Snippet[] {
  const lines = readFileSync(join(root, source), 'utf8').split('\n');
  const snippets: Snippet[] = [];
  for (let i = 0; i < lines.length; i++) {
    if (!/^\s*```(ts|typescript)\s*$/.test(lines[i] ?? '')) continue;
    const start = i + 1;
    while (i + 1 < lines.length && !/^\s*```\s*$/.test(lines[i + 1] ?? '')) i++;
    const preamble = preambleBefore(lines.slice(0, start - 1).join('\n'));
    snippets.push({ source, line: start + 1, code: lines.slice(start, i + 1).join('\n'), preamble });
    i++;
  }
  return snippets;
}

/**
 * ```ts fences inside the `@example` tags of the TSDoc on public API: declarations whose top-level
 * statement exports a name the package exports. Internal helpers' examples are for maintainers
 * and may use internal names; they are counted, not compiled.
 */
function tsdocSnippets(source: string, publicNames: ReadonlySet<string>): Snippet[] {
  const text = readFileSync(join(root, source), 'utf8');
  const file = ts.createSourceFile(source, text, ts.ScriptTarget.Latest, true);
  const snippets: Snippet[] = [];
  const visit = (node: ts.Node, statement: ts.Statement | undefined): void => {
    for (const tag of ts.getJSDocTags(node)) {
      if (tag.tagName.text !== 'example' || tag.parent.parent !== node) continue;
      const names = statement === undefined ? [] : declaredNames(statement);
      if (node === statement) for (const name of names) documented.add(name);
      if (!names.some((name) => publicNames.has(name))) {
        internalExamples++;
        continue;
      }
      const raw = text.slice(tag.getStart(file), tag.getEnd());
      const fence = /```(?:ts|typescript)[ \t]*\r?\n([\s\S]*?)```/.exec(raw);
      if (fence === null) continue;
      const uncomment = (text: string) => text.split('\n').map((line) => line.replace(/^\s*\*\s?/, ''));
      const body = uncomment(fence[1] ?? '');
      const preamble = preambleBefore(uncomment(raw.slice(0, fence.index)).join('\n'));
      const line = file.getLineAndCharacterOfPosition(tag.getStart(file) + fence.index).line + 2;
      snippets.push({ source, line, code: body.join('\n'), preamble });
    }
    ts.forEachChild(node, (child) =>
      visit(child, statement ?? (ts.isSourceFile(node) ? (child as ts.Statement) : undefined)),
    );
  };
  visit(file, undefined);
  return snippets;
}

function declaredNames(statement: ts.Statement): string[] {
  if (ts.isVariableStatement(statement))
    return statement.declarationList.declarations.map((d) => d.name.getText());
  const name = (statement as { name?: ts.Node }).name;
  return name === undefined ? [] : [name.getText()];
}

let internalExamples = 0;
/** Names declared by a top-level statement that carries an `@example` itself (not on a member). */
const documented = new Set<string>();

/** The package's entry points and the declaration file each resolves to in dist/. */
const entries = [
  ['carebase', 'dist/index.d.ts'],
  ['carebase/migration', 'dist/migration.d.ts'],
  ['carebase/backup', 'dist/backup.d.ts'],
  ['carebase/testing', 'dist/testing.d.ts'],
  ['carebase/schemas', 'dist/schemas.d.ts'],
] as const;

/** The names every entry point exports (values and types), read from the built declarations. */
function publicExports(): { names: Set<string>; values: Set<string> } {
  const files = entries.map(([, declarations]) => join(root, declarations));
  const program = ts.createProgram(files, {
    module: ts.ModuleKind.NodeNext,
    moduleResolution: ts.ModuleResolutionKind.NodeNext,
  });
  const checker = program.getTypeChecker();
  const names = new Set<string>();
  const values = new Set<string>();
  for (const file of files) {
    const source = program.getSourceFile(file);
    const moduleSymbol = source === undefined ? undefined : checker.getSymbolAtLocation(source);
    if (moduleSymbol === undefined) throw new Error(`cannot read ${file}: run npm run build first`);
    for (const symbol of checker.getExportsOfModule(moduleSymbol)) {
      const name = symbol.getName();
      names.add(name);
      const target = symbol.flags & ts.SymbolFlags.Alias ? checker.getAliasedSymbol(symbol) : symbol;
      if (target.flags & ts.SymbolFlags.Value) values.add(name);
    }
  }
  return { names, values };
}

const exported = publicExports();

const globals = `// Host values the examples use without declaring them, typed without bringing any carebase
// name into scope. A snippet's own import or declaration of the same name shadows these.
type Carebase = import('carebase').Carebase;
declare global {
  // A carebase instance and the values a host has at hand.
  const cb: Carebase;
  const from: Date;
  const to: Date;
  const user: import('carebase').User;
  const id: string;
  const userId: string;
  const sessionId: string;
  const conversationId: string;
  const resourceId: string;
  const requestId: string;
  const ip: string;
  const userAgent: string;
  const token: string;
  const login: string;
  const password: string;
  const question: string;
  const answer: string;
  const connectionString: string;
  const path: string;
  const events: import('carebase').AnalyticsEventInput[];
  const logger: import('carebase').Logger;
  // An Express host (express 5 is what examples/express uses); \`req.user\` set by its auth middleware.
  const app: import('express').Express;
  const req: import('express').Request & { user: import('carebase').User };
  const res: import('express').Response;
}
export {};
`;

const snippets = [
  ...[
    'README.md',
    ...files('docs', (name) => name.endsWith('.md')),
    ...files('examples', (name) => name === 'README.md'),
  ]
    .filter((file) => !file.startsWith('docs/api/'))
    .flatMap(markdownSnippets),
];
snippets.push(
  ...files('src', (name) => name.endsWith('.ts')).flatMap((file) => tsdocSnippets(file, exported.names)),
);

rmSync(out, { recursive: true, force: true });
mkdirSync(out);
writeFileSync(join(out, 'globals.d.ts'), globals);
const origin = new Map<string, Snippet>();
const badPreambles: string[] = [];
snippets.forEach((snippet, index) => {
  const name = `s${String(index).padStart(4, '0')}.ts`;
  origin.set(name, snippet);
  if (/^\s*import\s/m.test(snippet.preamble)) badPreambles.push(`${snippet.source}:${snippet.line}`);
  // The preamble goes after the code (declarations hoist), so error lines map to the snippet's.
  const preamble = snippet.preamble === '' ? '' : `\n// snippet-preamble\n${snippet.preamble}\n`;
  writeFileSync(join(out, name), `${snippet.code}\n${preamble}export {};\n`);
});
for (const where of badPreambles) {
  console.error(
    `${where}\n  a snippet-preamble may only declare: import what the snippet uses in the snippet itself`,
  );
}
writeFileSync(
  join(out, 'tsconfig.json'),
  JSON.stringify({
    compilerOptions: {
      target: 'ES2023',
      lib: ['ES2023', 'ESNext.Disposable', 'DOM'],
      module: 'nodenext',
      moduleResolution: 'nodenext',
      types: ['node'],
      strict: true,
      noUncheckedIndexedAccess: true,
      exactOptionalPropertyTypes: true,
      skipLibCheck: true,
      noEmit: true,
      noUnusedLocals: false,
      allowUnreachableCode: true,
    },
    include: ['*.ts'],
  }),
);

let output = '';
try {
  execFileSync(join(root, 'node_modules/.bin/tsc'), ['-p', join(out, 'tsconfig.json'), '--pretty', 'false'], {
    cwd: root,
    encoding: 'utf8',
    stdio: 'pipe',
  });
} catch (error) {
  output = String((error as { stdout?: string }).stdout ?? error);
}

const failures = new Map<string, string[]>();
for (const line of output.split('\n')) {
  const match = /^\.snippets\/(s\d+\.ts)\((\d+),\d+\): (.*)$/.exec(line);
  if (match === null) {
    if (line.trim() !== '') failures.set(line, []);
    continue;
  }
  const [, file = '', row = '0', message = ''] = match;
  const snippet = origin.get(file);
  const where = snippet === undefined ? file : `${snippet.source}:${snippet.line + Number(row) - 1}`;
  failures.set(where, [...(failures.get(where) ?? []), message]);
}
for (const [where, messages] of failures) console.error(`${where}\n  ${messages.join('\n  ')}`);
if (failures.size > 0)
  console.error(`\n${failures.size} place(s) in ${snippets.length} examples do not compile.`);

const undocumented = [...exported.names].filter((name) => !documented.has(name)).sort();
for (const [kind, names] of [
  ['value', undocumented.filter((name) => exported.values.has(name))],
  ['type', undocumented.filter((name) => !exported.values.has(name))],
] as const) {
  if (names.length > 0)
    console.error(`\n${names.length} public ${kind} export(s) without an @example: ${names.join(', ')}`);
}
if (failures.size > 0 || undocumented.length > 0 || badPreambles.length > 0) process.exit(1);
console.log(
  `${snippets.length} TypeScript examples compile against the built package ` +
    `(${internalExamples} on internal helpers not checked); all ${exported.names.size} public exports have one.`,
);
