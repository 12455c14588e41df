import { readFileSync, statSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';

/** Where a `.pgpass` lookup looks, and for which connection. */
export interface PgpassQuery {
  readonly host: string;
  readonly port: number;
  readonly database: string;
  readonly user: string;
}

/**
 * Looks a password up in the password file, as libpq does: `PGPASSFILE`, else `~/.pgpass`; lines
 * `host:port:database:user:password` with `*` wildcards and `\` escapes; the first match wins. A
 * file readable by group or others is ignored (libpq refuses it too), and `onIgnored` says so.
 * Returns undefined when there is no file or no match.
 */
export function lookupPgpass(
  env: Readonly<Record<string, string | undefined>>,
  query: PgpassQuery,
  onIgnored: (reason: string) => void,
): string | undefined {
  const file = env.PGPASSFILE ?? join(env.HOME ?? homedir(), '.pgpass');
  let text: string;
  try {
    const info = statSync(file);
    if (process.platform !== 'win32' && (info.mode & 0o077) !== 0) {
      onIgnored(`${file} is readable by group or others (chmod 0600 it); not used`);
      return undefined;
    }
    text = readFileSync(file, 'utf8');
  } catch {
    return undefined;
  }
  // A Unix-socket host matches `localhost`, as in libpq.
  const host = query.host.startsWith('/') ? 'localhost' : query.host;
  const wanted = [host, String(query.port), query.database, query.user];
  for (const line of text.split(/\r?\n/)) {
    if (line.trim() === '' || line.startsWith('#')) continue;
    const fields = splitFields(line);
    if (fields.length < 5) continue;
    if (wanted.every((value, index) => fields[index] === '*' || fields[index] === value)) {
      return fields.slice(4).join(':');
    }
  }
  return undefined;
}

function splitFields(line: string): string[] {
  const fields: string[] = [];
  let current = '';
  for (let i = 0; i < line.length; i++) {
    const ch = line[i];
    if (ch === '\\' && i + 1 < line.length) {
      current += line[++i];
    } else if (ch === ':' && fields.length < 4) {
      fields.push(current);
      current = '';
    } else {
      current += ch;
    }
  }
  fields.push(current);
  return fields;
}
