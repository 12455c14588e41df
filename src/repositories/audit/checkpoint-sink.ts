import { randomBytes } from 'node:crypto';
import { link, mkdir, open, readdir, readFile, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import { ValidationError } from '../../errors/errors.js';
import {
  type AuditCheckpointStatement,
  type SignedAuditCheckpoint,
  SignedAuditCheckpointSchema,
} from './checkpoint-format.js';

/**
 * Where signed checkpoints go: somewhere the database's superuser cannot rewrite (another host,
 * write-once object storage, a ticketing or notary system). carebase has a directory sink
 * built in ({@link directoryCheckpointSink}); implement this interface for anything else.
 *
 * Contract: `write` MUST store the checkpoint durably before it resolves and MUST NOT overwrite an
 * earlier checkpoint; it returns where it stored it (for logs), or undefined. `list`, when
 * provided, returns every stored checkpoint (for `verify({ checkpoints: await sink.list() })`).
 *
 * @example
 * ```ts
 * import type { AuditCheckpointSink } from 'carebase';
 * declare function putObject(key: string, body: string): Promise<void>;
 * const objectStore: AuditCheckpointSink = {
 *   async write(checkpoint, statement) {
 *     const key = `audit/${statement.installationId}/${statement.createdAt}.json`;
 *     await putObject(key, JSON.stringify(checkpoint));
 *     return key;
 *   },
 * };
 * await cb.audit.checkpoint({ sink: objectStore });
 * ```
 */
export interface AuditCheckpointSink {
  write(checkpoint: SignedAuditCheckpoint, statement: AuditCheckpointStatement): Promise<string | undefined>;
  list?(): Promise<SignedAuditCheckpoint[]>;
}

const FILE = /^audit-checkpoint-.*\.json$/;

/**
 * A sink that writes each checkpoint to its own file in `dir` (created when missing), named
 * `audit-checkpoint-<time>-<installation>.json`, fsynced, never overwriting a file; `list()`
 * reads them all back ({@link readCheckpoints}).
 *
 * @example
 * ```ts
 * import { directoryCheckpointSink } from 'carebase';
 * const sink = directoryCheckpointSink('/mnt/worm/carebase-audit');
 * await cb.audit.checkpoint({ sink });
 * const result = await cb.audit.verify({ checkpoints: await sink.list() });
 * ```
 */
export function directoryCheckpointSink(
  dir: string,
): AuditCheckpointSink & { list(): Promise<SignedAuditCheckpoint[]> } {
  return {
    async write(checkpoint, statement) {
      await mkdir(dir, { recursive: true });
      const stamp = statement.createdAt.replace(/[-:.]/g, '');
      const name = `audit-checkpoint-${stamp}-${statement.installationId.slice(0, 8)}-${randomBytes(3).toString('hex')}.json`;
      const final = join(dir, name);
      const temporary = join(dir, `.${name}.tmp`);
      const handle = await open(temporary, 'wx', 0o444);
      try {
        await handle.writeFile(`${JSON.stringify(checkpoint, null, 2)}\n`, 'utf8');
        await handle.sync();
      } finally {
        await handle.close();
      }
      // link() refuses an existing name: a checkpoint is never overwritten, and never half-written.
      try {
        await link(temporary, final);
      } finally {
        await unlink(temporary);
      }
      return final;
    },
    list: () => readCheckpoints(dir),
  };
}

/**
 * Reads every `audit-checkpoint-*.json` file of `dir`, oldest name first. Throws
 * `ValidationError` naming the file when one is not a signed checkpoint (a damaged checkpoint
 * store is a finding, not something to skip).
 *
 * @example
 * ```ts
 * import { readCheckpoints } from 'carebase';
 * const result = await cb.audit.verify({ checkpoints: await readCheckpoints('/mnt/worm/carebase-audit') });
 * ```
 */
export async function readCheckpoints(dir: string): Promise<SignedAuditCheckpoint[]> {
  const names = (await readdir(dir)).filter((name) => FILE.test(name)).sort();
  const checkpoints: SignedAuditCheckpoint[] = [];
  for (const name of names) {
    let parsed: ReturnType<typeof SignedAuditCheckpointSchema.safeParse> | undefined;
    try {
      parsed = SignedAuditCheckpointSchema.safeParse(JSON.parse(await readFile(join(dir, name), 'utf8')));
    } catch {
      parsed = undefined;
    }
    if (parsed?.success !== true) {
      throw new ValidationError(`invalid audit checkpoint file ${name}`, [
        { path: ['checkpoints', name], message: 'not a signed carebase audit checkpoint', code: 'custom' },
      ]);
    }
    checkpoints.push(parsed.data);
  }
  return checkpoints;
}
