/**
 * The runnable entry (src/server.ts) as a user starts it: DATABASE_URL of a fresh database and
 * PORT=0; it must print its URL and the demo accounts' one-time passwords, accept them, and exit 0
 * on SIGTERM.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';
import { createTestDatabase, type TestDatabase } from 'carebase/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Client } from './harness.ts';

const SERVER = fileURLToPath(new URL('../src/server.ts', import.meta.url));

let db: TestDatabase;
let child: ChildProcess | undefined;

beforeAll(async () => {
  db = await createTestDatabase();
});

afterAll(async () => {
  if (child !== undefined && child.exitCode === null && child.signalCode === null) {
    child.kill('SIGKILL');
    await once(child, 'exit');
  }
  await db?.drop();
});

/** Resolves with everything printed once `pattern` appears on stdout; rejects if the child exits first. */
function waitForOutput(process: ChildProcess, pattern: RegExp): Promise<string> {
  return new Promise((resolve, reject) => {
    let output = '';
    process.stdout?.setEncoding('utf8');
    process.stdout?.on('data', (chunk: string) => {
      output += chunk;
      if (pattern.test(output)) resolve(output);
    });
    process.once('exit', (code) =>
      reject(new Error(`server exited with ${code} before printing ${pattern}`)),
    );
  });
}

describe('npm run example (src/server.ts)', () => {
  it('prints its URL and one-time passwords, serves the app, and exits 0 on SIGTERM', async () => {
    const started = spawn(process.execPath, ['--disable-warning=ExperimentalWarning', SERVER], {
      env: { ...process.env, DATABASE_URL: db.url, PORT: '0', HOST: '127.0.0.1' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    child = started;
    let stderr = '';
    started.stderr.on('data', (chunk: Buffer) => {
      stderr += chunk.toString();
    });
    const output = await waitForOutput(started, /listening on (http:\/\/\S+)/);

    const url = /listening on (http:\/\/127\.0\.0\.1:\d+)\//.exec(output)?.[1];
    const adminPassword = /demo-admin \(admin\) one-time password: (\S+)/.exec(output)?.[1];
    const nursePassword = /demo-nurse \(nurse\) one-time password: (\S+)/.exec(output)?.[1];
    expect(url).toBeDefined();
    expect(url).not.toMatch(/:0$/);
    expect(adminPassword).toMatch(/^[A-Za-z0-9_-]{16}$/);
    expect(nursePassword).toMatch(/^[A-Za-z0-9_-]{16}$/);
    expect(nursePassword).not.toBe(adminPassword);
    expect(output).not.toContain(db.url); // the connection string (and any password in it) stays private

    const admin = new Client(url ?? '');
    expect((await admin.login('demo-admin', `${adminPassword}x`)).status).toBe(401);
    const login = await admin.login('demo-admin', adminPassword ?? '');
    expect(login.status).toBe(200);
    expect(((await login.json()) as { user: unknown }).user).toMatchObject({
      username: 'demo-admin',
      role: 'admin',
    });
    expect((await admin.request('/api/admin/summary')).status).toBe(200);

    // The nurse has seeded history, more than one page of it.
    const nurse = new Client(url ?? '');
    expect((await nurse.login('demo-nurse', nursePassword ?? '')).status).toBe(200);
    const page = (await (await nurse.request('/api/messages')).json()) as {
      items: { role: string; tools: { toolName: string; input: unknown; isError: boolean }[] }[];
      nextCursor: unknown;
    };
    expect(page.items.length).toBe(30);
    expect(page.nextCursor).not.toBeNull();
    // The seeded paracetamol questions were answered with a formulary lookup, stored as parts.
    expect(page.items.flatMap((m) => m.tools)).toContainEqual(
      expect.objectContaining({
        toolName: 'formulary_lookup',
        input: { drug: 'paracetamol' },
        isError: false,
      }),
    );

    // The seeded shared conversation: the patient's, with the nurse as a member who replied.
    const patientPassword = /demo-patient \(patient\) one-time password: (\S+)/.exec(output)?.[1];
    const patient = new Client(url ?? '');
    expect((await patient.login('demo-patient', patientPassword ?? '')).status).toBe(200);
    const [owned] = (
      (await (await patient.request('/api/conversations')).json()) as {
        items: { id: string; title: string; role: string }[];
      }
    ).items;
    expect(owned).toMatchObject({ title: 'My wound dressing at home', role: 'owner' });
    const nurseList = (await (await nurse.request('/api/conversations')).json()) as {
      items: { id: string; sharedBy: string | null; role: string }[];
    };
    expect(nurseList.items).toContainEqual(
      expect.objectContaining({ id: owned?.id, sharedBy: 'Demo Patient', role: 'member' }),
    );
    const thread = (await (await nurse.request(`/api/messages?conversation=${owned?.id}`)).json()) as {
      items: { role: string; author: string }[];
    };
    expect(thread.items.map((m) => `${m.role} ${m.author}`)).toEqual([
      'user you',
      'assistant Demo Patient',
      'user Demo Patient',
    ]);
    // The admin takes no part in it: 403. Its usage panel has the seeded answers' ledger.
    expect((await admin.request(`/api/messages?conversation=${owned?.id}`)).status).toBe(403);
    const usage = (await (await admin.request('/api/admin/usage')).json()) as {
      days: { calls: number; costs: { currency: string }[] }[];
    };
    expect(usage.days.at(-1)).toMatchObject({ calls: 37, costs: [{ currency: 'USD' }] });

    started.kill('SIGTERM');
    const [code, signal] = (await once(started, 'exit')) as [number | null, NodeJS.Signals | null];
    expect({ code, signal, stderr }).toEqual({ code: 0, signal: null, stderr: '' });
  });
});
