import { generateKeyPairSync } from 'node:crypto';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  type AuditCheckpointSink,
  createCarebase,
  directoryCheckpointSink,
  readCheckpointStatement,
  readCheckpoints,
  type SignedAuditCheckpoint,
  scheduleCheckpoints,
} from 'carebase';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type AuditFixture, auditFixture } from '../support/audit.js';

const { privateKey, publicKey } = generateKeyPairSync('ed25519');
const dirs: string[] = [];

async function tempDir(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'carebase-checkpoints-'));
  dirs.push(dir);
  return dir;
}

afterAll(async () => {
  for (const dir of dirs) await rm(dir, { recursive: true, force: true });
});

async function logSome(f: AuditFixture, n: number, tag: string, occurredAt?: Date): Promise<void> {
  for (let i = 0; i < n; i++) {
    await f.cb.audit.log({
      action: 'chart.view',
      resourceType: 'chart',
      resourceId: `${tag}-${i}`,
      subjectId: 'patient-1',
      ...(occurredAt === undefined ? {} : { occurredAt }),
    });
  }
}

/** A fresh database per scenario: each one rewrites the log as the superuser. */
async function fixture(schema: string): Promise<AuditFixture> {
  return auditFixture({ schema, audit: { signingKey: privateKey } });
}

describe('cb.audit.checkpoint (as the app role)', () => {
  let f: AuditFixture;
  beforeAll(async () => {
    f = await fixture('cp_basic');
  });
  afterAll(async () => {
    await f?.close();
  });

  it('signs the chain heads, the installation and its genesis, and hands them to the sink', async () => {
    await logSome(f, 5, 'basic');
    const dir = await tempDir();
    const sink = directoryCheckpointSink(dir);
    const { checkpoint, statement, location } = await f.cb.audit.checkpoint({ sink });
    expect(location?.startsWith(dir)).toBe(true);
    expect(await readdir(dir)).toHaveLength(1);
    const installation = await f.admin(
      "select installation_id::text as id, encode(genesis, 'hex') as genesis from audit_installation",
    );
    expect(statement).toMatchObject({
      format: 'carebase.audit.checkpoint.v1',
      installationId: installation.rows[0]?.id,
      genesis: installation.rows[0]?.genesis,
    });
    const month = statement.months.find((m) => m.count >= 5);
    expect(month).toMatchObject({
      lastId: expect.stringMatching(/^\d+$/),
      headHash: expect.stringMatching(/^[0-9a-f]{64}$/),
    });
    expect(readCheckpointStatement(checkpoint)).toEqual(statement);
    expect(await readCheckpoints(dir)).toEqual([checkpoint]);
    // Entries logged after the checkpoint do not contradict it.
    await logSome(f, 3, 'after');
    const result = await f.cb.audit.verify({ checkpoints: await sink.list() });
    expect(result).toMatchObject({ ok: true, checkpointsChecked: 1 });
  });

  it('anchors new chains on the installation genesis, not a well-known constant', async () => {
    const { rows } = await f.admin(
      `select h.anchor = sha256(i.genesis || convert_to('carebase.audit.v2:' || to_char(h.month at time zone 'UTC', 'YYYY-MM'), 'UTF8')) as on_genesis,
              h.anchor = audit_chain_anchor(h.month) as legacy
         from audit_chain_head h, audit_installation i`,
    );
    expect(rows.length).toBeGreaterThan(0);
    for (const row of rows) expect(row).toEqual({ on_genesis: true, legacy: false });
  });

  it('refuses checkpoints signed by another key, or edited after signing', async () => {
    const other = generateKeyPairSync('ed25519').privateKey;
    const captured: SignedAuditCheckpoint[] = [];
    const memory: AuditCheckpointSink = {
      async write(checkpoint) {
        captured.push(checkpoint);
        return undefined;
      },
    };
    await f.cb.audit.checkpoint({ sink: memory });
    const genuine = captured[0] as SignedAuditCheckpoint;
    // Signed by another key (a forger's): not trusted.
    const verifyForged = await f.cb.audit.verify({
      checkpoints: [genuine],
      publicKey: generateKeyPairSync('ed25519').publicKey,
    });
    expect(verifyForged).toMatchObject({ ok: false, reason: 'checkpoint_invalid', checkpoint: { index: 0 } });
    // The payload edited after signing.
    const edited = { ...genuine, payload: genuine.payload.replace(/"count":\d+/, '"count":1') };
    expect(await f.cb.audit.verify({ checkpoints: [edited], publicKey })).toMatchObject({
      ok: false,
      reason: 'checkpoint_invalid',
    });
    expect(other.asymmetricKeyType).toBe('ed25519');
    expect(await f.cb.audit.verify({ checkpoints: [genuine], publicKey })).toMatchObject({ ok: true });
  });

  it('scheduleCheckpoints writes one now and then every interval, reports failures, and stops', async () => {
    const dir = await tempDir();
    const stored: string[] = [];
    const schedule = scheduleCheckpoints(f.cb, {
      everyMs: 1000,
      runImmediately: true,
      sink: directoryCheckpointSink(dir),
      onCheckpoint: (result) => stored.push(result.location ?? ''),
    });
    await new Promise((resolve) => setTimeout(resolve, 1600));
    await schedule.stop();
    const count = stored.length;
    expect(count).toBeGreaterThanOrEqual(2);
    expect(await readdir(dir)).toHaveLength(count);
    await new Promise((resolve) => setTimeout(resolve, 1200));
    expect(stored).toHaveLength(count);
    // A failing sink: logged and passed to onError, never thrown into the host.
    const errors: unknown[] = [];
    const failing = f.cb.audit.scheduleCheckpoints({
      everyMs: 60_000,
      sink: { write: () => Promise.reject(new Error('bucket unavailable')) },
      onError: (error) => errors.push(error),
    });
    expect(await failing.runNow()).toBeUndefined();
    expect(errors).toHaveLength(1);
    await failing.stop();
    expect(() => f.cb.audit.scheduleCheckpoints({ everyMs: 10 })).toThrow(/everyMs/);
  });

  it('refuses a signing key that is not an Ed25519 private key, without echoing it', async () => {
    const bogus = '-----BEGIN PRIVATE KEY-----\nc2VjcmV0LWtleS1tYXRlcmlhbA==\n-----END PRIVATE KEY-----\n';
    const rsa = generateKeyPairSync('rsa', { modulusLength: 1024 }).privateKey;
    for (const signingKey of [bogus, rsa, publicKey]) {
      let caught: unknown;
      try {
        createCarebase({ connectionString: 'postgres://x@127.0.0.1:1/x', audit: { signingKey } });
      } catch (error) {
        caught = error;
      }
      expect(caught).toMatchObject({ code: 'INVALID_CONFIGURATION', field: 'audit.signingKey' });
      expect(`${String(caught)} ${JSON.stringify(caught)}`).not.toContain('c2VjcmV0');
    }
  });

  it('needs a signing key and a sink', async () => {
    const g = await auditFixture({ schema: 'cp_nokey' });
    try {
      await expect(
        g.cb.audit.checkpoint({ sink: directoryCheckpointSink(await tempDir()) }),
      ).rejects.toMatchObject({
        code: 'INVALID_CONFIGURATION',
        field: 'audit.signingKey',
      });
    } finally {
      await g.close();
    }
    await expect(f.cb.audit.checkpoint()).rejects.toMatchObject({
      code: 'INVALID_CONFIGURATION',
      field: 'audit.checkpointDir',
    });
  });
});

describe('verify({ checkpoints }) against a superuser', () => {
  it('catches a rewrite of every row with recomputed hashes and chains', async () => {
    const f = await fixture('cp_rewrite');
    try {
      await logSome(f, 6, 'rewrite');
      const sink = directoryCheckpointSink(await tempDir());
      await f.cb.audit.checkpoint({ sink });
      // The superuser rewrites every entry, recomputes every row hash, drops the chains and reseals.
      await f.tamper("update audit_log set outcome_detail = 'rewritten', resource_id = 'forged'");
      await f.tamper('update audit_log l set row_hash = audit_row_hash(l)');
      await f.tamper('delete from audit_chain');
      await f.tamper('delete from audit_chain_head');
      await f.tamper("update audit_seal_state set watermark = 0, open_txids = '{}'");
      await f.admin('select audit_seal()');
      // The database alone cannot tell: the rewritten log is self-consistent.
      expect(await f.cb.audit.verify()).toMatchObject({ ok: true });
      const result = await f.cb.audit.verify({ checkpoints: await sink.list() });
      expect(result).toMatchObject({
        ok: false,
        reason: 'chain_rewritten',
        checkpoint: { index: 0, month: expect.stringMatching(/^\d{4}-\d{2}$/) },
      });
    } finally {
      await f.close();
    }
  });

  it('catches a new genesis', async () => {
    const f = await fixture('cp_genesis');
    try {
      await logSome(f, 2, 'genesis');
      const sink = directoryCheckpointSink(await tempDir());
      await f.cb.audit.checkpoint({ sink });
      await f.tamper('delete from audit_installation');
      const { rows } = await f.admin('select installation_id::text as id from audit_installation');
      expect(rows).toEqual([]);
      await f.tamper(
        `insert into audit_installation (installation_id) values ('${readCheckpointStatement((await sink.list())[0] as SignedAuditCheckpoint).installationId}')`,
      );
      expect(await f.cb.audit.verify({ checkpoints: await sink.list() })).toMatchObject({
        ok: false,
        reason: 'genesis_mismatch',
      });
    } finally {
      await f.close();
    }
  });

  it('catches the newest entries truncated, with the chain head rewound to match', async () => {
    const f = await fixture('cp_truncate');
    try {
      await logSome(f, 6, 'trunc');
      const sink = directoryCheckpointSink(await tempDir());
      const { statement } = await f.cb.audit.checkpoint({ sink });
      const { rows } = await f.admin(
        'select id::text as id, seq::text as seq, occurred_at from audit_chain order by seq desc limit 3',
      );
      const [newest, second, keep] = rows as { id: string; seq: string; occurred_at: Date }[];
      for (const gone of [newest, second]) {
        await f.tamper('delete from audit_log where id = $1', [gone?.id]);
        await f.tamper('delete from audit_chain where id = $1', [gone?.id]);
      }
      await f.tamper(
        `update audit_chain_head h set last_seq = c.seq, last_id = c.id, head_hash = c.chain_hash, last_occurred_at = c.occurred_at
           from audit_chain c where c.id = $1 and h.month = audit_month(c.occurred_at)`,
        [keep?.id],
      );
      expect(await f.cb.audit.verify()).toMatchObject({ ok: true });
      const result = await f.cb.audit.verify({ checkpoints: await sink.list() });
      const month = statement.months.find((m) => m.lastId === newest?.id);
      expect(result).toMatchObject({
        ok: false,
        reason: 'entries_truncated',
        firstBadId: newest?.id,
        checkpoint: { month: month?.month },
      });
    } finally {
      await f.close();
    }
  });

  it('catches a month dropped outside retention', async () => {
    const f = await fixture('cp_month');
    try {
      const lastMonth = new Date(Date.now() - 40 * 24 * 3600 * 1000);
      await logSome(f, 3, 'old', lastMonth);
      await logSome(f, 2, 'new');
      const sink = directoryCheckpointSink(await tempDir());
      await f.cb.audit.checkpoint({ sink });
      const suffix = `${lastMonth.getUTCFullYear()}${String(lastMonth.getUTCMonth() + 1).padStart(2, '0')}`;
      await f.admin(`drop table audit_log_p${suffix}`);
      await f.admin(`drop table audit_chain_p${suffix}`);
      await f.tamper('delete from audit_chain_head where month = audit_month($1)', [lastMonth]);
      expect(await f.cb.audit.verify()).toMatchObject({ ok: true });
      expect(await f.cb.audit.verify({ checkpoints: await sink.list() })).toMatchObject({
        ok: false,
        reason: 'month_dropped',
        checkpoint: { month: lastMonth.toISOString().slice(0, 7) },
      });
    } finally {
      await f.close();
    }
  });
});
