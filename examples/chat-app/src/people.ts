/** Display names of users, for the authors of shared messages and the owners of shared conversations. */
import type { Carebase } from 'carebase';

/** `id -> display name` of the users with these ids (unknown or erased users are left out). */
export async function displayNames(cb: Carebase, ids: Iterable<string>): Promise<Map<string, string>> {
  const unique = [...new Set(ids)];
  const users = await Promise.all(unique.map((id) => cb.users.findById(id)));
  return new Map(
    users.flatMap((user) =>
      user === undefined ? [] : [[user.id, user.displayName ?? user.username ?? user.email] as const],
    ),
  );
}
