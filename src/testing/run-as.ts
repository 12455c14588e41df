import { spawnSync } from 'node:child_process';
import { accessSync, constants } from 'node:fs';

/** An unprivileged account that runs `initdb` and `postgres` when this process is root. */
export interface RunAsUser {
  readonly name: string;
  readonly uid: number;
  readonly gid: number;
}

/** How to run a program: the executable and its arguments, never a shell string. */
export interface Command {
  readonly file: string;
  readonly args: readonly string[];
}

const CREATED_USER = 'carebase-pg';

function lookup(name: string): RunAsUser | undefined {
  const uid = spawnSync('id', ['-u', name], { encoding: 'utf8' });
  const gid = spawnSync('id', ['-g', name], { encoding: 'utf8' });
  if (uid.status !== 0 || gid.status !== 0) return undefined;
  return { name, uid: Number(uid.stdout.trim()), gid: Number(gid.stdout.trim()) };
}

function onPath(file: string): string | undefined {
  for (const dir of ['/usr/sbin', '/usr/bin', '/sbin', '/bin', ...(process.env.PATH ?? '').split(':')]) {
    try {
      accessSync(`${dir}/${file}`, constants.X_OK);
      return `${dir}/${file}`;
    } catch {
      // keep looking
    }
  }
  return undefined;
}

/** True when this process runs as root (PostgreSQL refuses to). Always false on Windows. */
export function isRoot(): boolean {
  return process.getuid?.() === 0;
}

/**
 * The account to run PostgreSQL as when this process is root: `postgres` when it exists, else a
 * `carebase-pg` system account (created with `useradd --system` when missing), else `nobody`.
 * Returns `undefined` when none is usable.
 */
export function unprivilegedUser(preferred?: string): RunAsUser | undefined {
  if (preferred !== undefined) return lookup(preferred);
  const existing = lookup('postgres') ?? lookup(CREATED_USER);
  if (existing !== undefined) return existing;
  const useradd = onPath('useradd');
  if (useradd !== undefined) {
    spawnSync(useradd, ['--system', '--no-create-home', '--shell', '/usr/sbin/nologin', CREATED_USER], {
      stdio: 'ignore',
    });
    const created = lookup(CREATED_USER);
    if (created !== undefined) return created;
  }
  return lookup('nobody');
}

/**
 * Wraps `command` so it runs as `user`: `setpriv` (execs in place, so the child's pid is the
 * program's own and signals reach it directly), else `runuser`, else `su`.
 */
export function asUser(user: RunAsUser, command: Command): Command {
  const setpriv = onPath('setpriv');
  if (setpriv !== undefined) {
    return {
      file: setpriv,
      args: [`--reuid=${user.uid}`, `--regid=${user.gid}`, '--clear-groups', command.file, ...command.args],
    };
  }
  const runuser = onPath('runuser');
  if (runuser !== undefined)
    return { file: runuser, args: ['-u', user.name, '--', command.file, ...command.args] };
  const quoted = [command.file, ...command.args]
    .map((part) => `'${part.replaceAll("'", `'\\''`)}'`)
    .join(' ');
  return { file: onPath('su') ?? 'su', args: ['-s', '/bin/sh', user.name, '-c', `exec ${quoted}`] };
}
