/**
 * Builds the example with `next build --webpack` unless `.next` already holds a build of the
 * same sources: a hash of the example's files (tests and docs excluded) and of carebase's type
 * declarations is stored next to the build and compared. carebase itself is not bundled (see
 * next.config.ts), so a rebuilt dist/ with the same declarations needs no new build.
 */
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join, relative } from 'node:path';

/** The example's folder. */
export const appDir = join(import.meta.dirname, '..');
const rootDir = join(appDir, '..', '..');
const stampFile = join(appDir, '.next', 'carebase-sources.sha256');

/** The Next.js CLI, run with this Node (never a global `next`). */
export const nextBin = createRequire(import.meta.url).resolve('next/dist/bin/next');

function files(dir: string, skip: ReadonlySet<string>): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (skip.has(entry.name)) return [];
    return entry.isDirectory() ? files(path, skip) : [path];
  });
}

function sourcesHash(): string {
  const hash = createHash('sha256');
  const inputs = [
    ...files(
      appDir,
      new Set(['.next', 'node_modules', 'test', 'next-env.d.ts', 'tsconfig.tsbuildinfo']),
    ).filter((path) => !path.endsWith('.md')),
    ...files(join(rootDir, 'dist'), new Set()).filter((path) => /\.d\.c?ts$/.test(path)),
  ].sort();
  for (const path of inputs) hash.update(relative(rootDir, path)).update('\0').update(readFileSync(path));
  return hash.digest('hex');
}

function readStamp(): string | undefined {
  try {
    return readFileSync(stampFile, 'utf8');
  } catch {
    return undefined;
  }
}

/**
 * Runs `next build --webpack` when the sources changed since the last build. Resolves to whether
 * it built; rejects with the build's output when it fails.
 */
export async function ensureBuilt(options: { readonly log?: (line: string) => void } = {}): Promise<boolean> {
  const before = sourcesHash();
  if (readStamp() === before) return false;
  const output: string[] = [];
  const child = spawn(process.execPath, [nextBin, 'build', '--webpack', appDir], {
    env: { ...process.env, NEXT_TELEMETRY_DISABLED: '1', NODE_ENV: 'production' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  for (const stream of [child.stdout, child.stderr]) {
    stream.setEncoding('utf8');
    stream.on('data', (chunk: string) => {
      output.push(chunk);
      options.log?.(chunk);
    });
  }
  const code = await new Promise<number | null>((resolve, reject) => {
    child.once('error', reject);
    child.once('exit', resolve);
  });
  if (code !== 0) throw new Error(`next build failed (exit ${code}):\n${output.join('')}`);
  // Stamped only when nothing changed during the build (an edit, or next rewriting tsconfig.json);
  // otherwise the next call builds again.
  if (sourcesHash() === before) writeFileSync(stampFile, before);
  return true;
}
