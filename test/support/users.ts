import { randomBytes } from 'node:crypto';
import { type Carebase, type CarebaseOptions, createCarebase } from 'carebase';
import type { TestDatabase } from 'carebase/testing';

/** A clock tests move by hand instead of sleeping. */
export class TestClock {
  #now: number;

  constructor(start = Date.parse('2026-03-02T08:00:00.000Z')) {
    this.#now = start;
  }

  now(): Date {
    return new Date(this.#now);
  }

  advance(ms: number): void {
    this.#now += ms;
  }
}

/** A carebase on `database` with a movable clock; bcrypt cost 10 unless given. */
export function carebaseOn(
  database: TestDatabase,
  options: CarebaseOptions = {},
): { cb: Carebase; clock: TestClock } {
  const clock = new TestClock();
  const cb = createCarebase({
    connectionString: database.url,
    clock,
    ...options,
    users: { bcryptCost: 10, ...options.users },
  });
  return { cb, clock };
}

/** Unique-per-call account fields. */
export function newAccount(role = 'nurse'): {
  username: string;
  email: string;
  password: string;
  role: string;
} {
  const tag = randomBytes(4).toString('hex');
  return {
    username: `user_${tag}`,
    email: `user.${tag}@example.org`,
    password: `correct horse ${tag}`,
    role,
  };
}

/** The bcrypt part of a stored `$cb-bcrypt-sha256$v=1$2b$...` hash (or a plain bcrypt hash as is). */
export function bcryptPart(stored: string): string {
  return stored.replace(/^\$cb-bcrypt-sha256\$v=1/, '');
}

/** A user row inserted directly as `name` (no password hashing), returning its id. */
export async function insertUser(cb: Carebase, name: string): Promise<string> {
  const row = await cb.db
    .insertInto('users')
    .values({ username: name, email: `${name}@example.org`, password_hash: 'x', role: 'nurse' })
    .returning('id')
    .executeTakeFirstOrThrow();
  return row.id;
}
