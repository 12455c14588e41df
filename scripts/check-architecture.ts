/**
 * Checks the import graph of src/ (every `import`, `import type`, `export ... from` and `import()`
 * between its files, found by the TypeScript compiler's pre-processor):
 *
 * 1. no import cycles between files;
 * 2. no back-edges between layers: a folder of src/ imports only folders of a lower layer
 *    (errors, logging -> validation, telemetry -> config, sql, schema -> pool -> repositories, migration, backup -> carebase
 *    -> entry points: index, schemas, testing, cli), or itself;
 * 3. no cycles between the areas of src/repositories/ (users, sessions, chat, audit, analytics),
 *    and its shared files (context.ts, user.ts) import no area.
 *
 *   node scripts/check-architecture.ts [SRC_DIR]    # exits 1 and lists each problem
 */
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import ts from 'typescript';

/** Layers of src/, lowest first: a folder may import its own layer's folder or a lower layer. */
export const LAYERS: readonly (readonly string[])[] = [
  ['errors', 'logging', 'types'],
  ['validation', 'security', 'telemetry'],
  ['config', 'sql', 'schema', 'postgres-install'],
  ['pool'],
  ['repositories', 'migration', 'backup'],
  ['carebase'],
  ['index', 'schemas', 'testing', 'cli'],
];

/** src/-relative file -> the src/-relative files it imports. */
export type ImportGraph = ReadonlyMap<string, readonly string[]>;

/** The import graph of the .ts files under `srcDir`. */
export function importGraph(srcDir: string): ImportGraph {
  const files = readdirSync(srcDir, { recursive: true, withFileTypes: true })
    .filter((entry) => entry.isFile() && entry.name.endsWith('.ts') && !entry.name.endsWith('.d.ts'))
    .map((entry) => relative(srcDir, join(entry.parentPath, entry.name)))
    .sort();
  const known = new Set(files);
  const graph = new Map<string, string[]>();
  for (const file of files) {
    const info = ts.preProcessFile(readFileSync(join(srcDir, file), 'utf8'), true, true);
    const targets = info.importedFiles
      .map((imported) => imported.fileName)
      .filter((specifier) => specifier.startsWith('.'))
      .map((specifier) => relative(srcDir, resolve(srcDir, dirname(file), specifier.replace(/\.js$/, '.ts'))))
      .filter((target) => known.has(target));
    graph.set(file, [...new Set(targets)]);
  }
  return graph;
}

/** Strongly connected components with more than one member (or a self-import): the cycles. */
export function cycles(graph: ImportGraph): string[][] {
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const onStack = new Set<string>();
  const found: string[][] = [];
  let next = 0;
  const visit = (node: string): void => {
    index.set(node, next);
    low.set(node, next);
    next++;
    stack.push(node);
    onStack.add(node);
    for (const target of graph.get(node) ?? []) {
      if (!index.has(target)) {
        visit(target);
        low.set(node, Math.min(low.get(node) ?? 0, low.get(target) ?? 0));
      } else if (onStack.has(target)) {
        low.set(node, Math.min(low.get(node) ?? 0, index.get(target) ?? 0));
      }
    }
    if (low.get(node) !== index.get(node)) return;
    const component: string[] = [];
    let member: string | undefined;
    do {
      member = stack.pop();
      if (member === undefined) break;
      onStack.delete(member);
      component.push(member);
    } while (member !== node);
    if (component.length > 1 || (graph.get(node) ?? []).includes(node)) found.push(component.sort());
  };
  for (const node of graph.keys()) if (!index.has(node)) visit(node);
  return found;
}

/** The folder of src/ a file belongs to (`carebase` and `index` for the top-level files). */
function folderOf(file: string): string {
  const [first = '', ...rest] = file.split('/');
  return rest.length === 0 ? first.replace(/\.ts$/, '') : first;
}

function layerOf(folder: string): number | undefined {
  const layer = LAYERS.findIndex((folders) => folders.includes(folder));
  return layer === -1 ? undefined : layer;
}

/** The area of a file under repositories/ (`shared` for its top-level files), else undefined. */
function areaOf(file: string): string | undefined {
  const parts = file.split('/');
  if (parts[0] !== 'repositories') return undefined;
  return parts.length === 2 ? 'shared' : parts[1];
}

/** Every problem of `graph`, one line each. */
export function architectureProblems(graph: ImportGraph): string[] {
  const problems: string[] = [];
  for (const cycle of cycles(graph)) problems.push(`import cycle: ${cycle.join(' <-> ')}`);
  const areas = new Map<string, string[]>();
  for (const [file, targets] of graph) {
    const from = folderOf(file);
    const fromLayer = layerOf(from);
    if (fromLayer === undefined) problems.push(`${file}: folder ${from} is in no layer (add it to LAYERS)`);
    for (const target of targets) {
      const to = folderOf(target);
      const toLayer = layerOf(to);
      if (from !== to && fromLayer !== undefined && toLayer !== undefined && toLayer >= fromLayer) {
        problems.push(`layer back-edge: ${file} (${from}) imports ${target} (${to})`);
      }
      const fromArea = areaOf(file);
      const toArea = areaOf(target);
      if (fromArea === undefined || toArea === undefined || fromArea === toArea) continue;
      if (fromArea === 'shared') problems.push(`repositories: shared ${file} imports the ${toArea} area`);
      else if (toArea !== 'shared') areas.set(fromArea, [...(areas.get(fromArea) ?? []), toArea]);
    }
  }
  for (const cycle of cycles(areas)) problems.push(`repositories area cycle: ${cycle.join(' <-> ')}`);
  return problems;
}

if (import.meta.main) {
  const src = process.argv[2] ?? join(import.meta.dirname, '..', 'src');
  const graph = importGraph(src);
  const problems = architectureProblems(graph);
  for (const problem of problems) console.error(problem);
  if (problems.length > 0) {
    console.error(`\n${problems.length} architecture problem(s) in src/.`);
    process.exit(1);
  }
  const edges = [...graph.values()].reduce((sum, targets) => sum + targets.length, 0);
  console.log(`src/: ${graph.size} files, ${edges} imports: no cycles, no layer back-edges.`);
}
