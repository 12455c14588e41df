import { readFile } from 'node:fs/promises';
import { directoryCheckpointSink } from '../../repositories/audit/checkpoint-sink.js';
import { type CliCommand, ok } from '../command.js';
import { stringFlag } from '../flags.js';
import { UsageError } from '../usage-error.js';

/** Reads a PEM key file named by a flag or an environment variable (the key never goes through argv). */
export async function readKeyFile(path: string | undefined, flag: string): Promise<string | undefined> {
  if (path === undefined || path === '') return undefined;
  try {
    return await readFile(path, 'utf8');
  } catch {
    throw new UsageError(`--${flag}: cannot read the key file`);
  }
}

/**
 * `carebase audit checkpoint`: signs the audit chain heads with an Ed25519 key and writes the
 * checkpoint to a directory (keep it on storage the database's superuser cannot reach).
 */
export const auditCheckpointCommand: CliCommand = {
  path: ['audit', 'checkpoint'],
  summary: 'sign the audit chain heads and write a checkpoint to a directory outside the database',
  positionals: { min: 0, max: 0 },
  database: 'required',
  flags: {
    dir: {
      type: 'string',
      value: 'DIR',
      description: 'directory to write the checkpoint to (created when missing)',
    },
    'key-file': {
      type: 'string',
      value: 'FILE',
      description: 'Ed25519 private key, PKCS#8 PEM (default: $CAREBASE_AUDIT_SIGNING_KEY_FILE)',
    },
  },
  details:
    'Seals pending entries first. Later, `carebase audit verify --checkpoints DIR --public-key FILE`\nchecks the log against every checkpoint in DIR.',
  async run(context) {
    const dir = stringFlag(context.values, 'dir');
    if (dir === undefined) throw new UsageError('--dir is required');
    const keyPath = stringFlag(context.values, 'key-file') ?? context.io.env.CAREBASE_AUDIT_SIGNING_KEY_FILE;
    const signingKey = await readKeyFile(keyPath, 'key-file');
    if (signingKey === undefined)
      throw new UsageError('--key-file (or CAREBASE_AUDIT_SIGNING_KEY_FILE) is required');
    const database = await context.database();
    const { statement, location } = await database
      .carebase()
      .audit.checkpoint({ sink: directoryCheckpointSink(dir), signingKey });
    return ok(
      {
        location,
        installationId: statement.installationId,
        createdAt: statement.createdAt,
        months: statement.months.length,
      },
      `audit checkpoint written: ${location ?? dir} (${statement.months.length} months)`,
    );
  },
};
