#!/usr/bin/env node
// Runs the README's second command, `npm run example`, as a person would: waits for the URL and
// the demo admin's one-time password, logs in over HTTP and reads /api/me, then presses Ctrl-C
// (SIGINT to the whole process group, as a terminal does) and expects a clean exit 0 with the
// throwaway PostgreSQL gone. Prints the provider report lines carebase/testing wrote.
// Usage: node .ci/example-smoke.mjs   (after npm ci; the example builds carebase itself)
import { spawn } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';

const clusters = () => new Set(readdirSync(tmpdir()).filter((name) => name.startsWith('carebase-pg-')));
const before = clusters();

const TIMEOUT_MS = 180_000;
const child = spawn('npm', ['run', '--silent', 'example'], {
  env: { ...process.env, PORT: '0', HOST: '127.0.0.1' },
  stdio: ['ignore', 'pipe', 'pipe'],
  detached: true, // its own process group, so SIGINT reaches it the way a terminal's Ctrl-C does
});
let stdout = '';
let stderr = '';
child.stdout.setEncoding('utf8').on('data', (chunk) => {
  stdout += chunk;
});
child.stderr.setEncoding('utf8').on('data', (chunk) => {
  stderr += chunk;
});
const exited = new Promise((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })));

function fail(message) {
  console.error(`example-smoke: ${message}\n--- stdout\n${stdout}\n--- stderr\n${stderr}`);
  try {
    process.kill(-child.pid, 'SIGKILL');
  } catch {}
  process.exit(1);
}

const deadline = Date.now() + TIMEOUT_MS;
while (!/listening on http:\/\/\S+/.test(stdout)) {
  if (child.exitCode !== null) fail(`the example exited with ${child.exitCode} before listening`);
  if (Date.now() > deadline) fail(`no "listening on" within ${TIMEOUT_MS} ms`);
  await new Promise((resolve) => setTimeout(resolve, 100));
}
const url = /listening on (http:\/\/127\.0\.0\.1:\d+)\//.exec(stdout)?.[1];
const password = /demo-admin \(admin\) one-time password: (\S+)/.exec(stdout)?.[1];
if (url === undefined || password === undefined) fail('no URL or admin password printed');

const login = await fetch(`${url}/api/login`, {
  method: 'POST',
  headers: { 'content-type': 'application/json' },
  body: JSON.stringify({ username: 'demo-admin', password }),
});
if (login.status !== 200) fail(`login answered ${login.status}`);
const cookie = (login.headers.get('set-cookie') ?? '').split(';')[0];
const me = await fetch(`${url}/api/me`, { headers: { cookie } });
const body = await me.json();
if (me.status !== 200 || body.user?.username !== 'demo-admin') fail(`/api/me answered ${me.status}`);

process.kill(-child.pid, 'SIGINT');
const { code, signal } = await exited;
// npm itself dies of the SIGINT it got (as in a terminal); the example must finish its shutdown.
if (code !== 0 && signal !== 'SIGINT') fail(`Ctrl-C ended npm with code ${code} signal ${signal}`);
const groupGone = () => {
  try {
    process.kill(-child.pid, 0);
    return false;
  } catch {
    return true;
  }
};
for (let i = 0; i < 200 && !groupGone(); i++) await new Promise((resolve) => setTimeout(resolve, 50));
if (!groupGone()) fail('the example was still running 10 s after Ctrl-C');
if (!stdout.includes('SIGINT: shutting down') || /shutdown failed/.test(stdout + stderr)) {
  fail('the example did not shut down cleanly on Ctrl-C');
}
const left = [...clusters()].filter((name) => !before.has(name));
if (left.length > 0) fail(`throwaway cluster directories were left behind: ${left.join(', ')}`);

for (const line of stderr.split('\n')) if (line.startsWith('carebase/testing:')) console.log(line);
console.log(`example-smoke: ok (logged in as demo-admin at ${url}, clean exit on Ctrl-C)`);
