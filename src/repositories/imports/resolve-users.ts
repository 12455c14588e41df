import type { RepositoryContext } from '../context.js';

/**
 * Maps users named by original id (imported from `source`) or carebase id to carebase ids: one
 * query each way. Ids that resolve to nothing are missing from the map.
 */
export async function resolveUsers(
  ctx: RepositoryContext,
  source: string,
  externalIds: readonly string[],
  userIds: readonly string[],
): Promise<{ byExternal: Map<string, string>; known: Set<string> }> {
  const byExternal = new Map<string, string>();
  const known = new Set<string>();
  if (externalIds.length > 0) {
    const rows = await ctx.db
      .selectFrom('users')
      .select(['id', 'external_id'])
      .where('import_source', '=', source)
      .where('external_id', 'in', [...new Set(externalIds)])
      .execute();
    for (const row of rows) if (row.external_id !== null) byExternal.set(row.external_id, row.id);
  }
  if (userIds.length > 0) {
    const rows = await ctx.db
      .selectFrom('users')
      .select('id')
      .where('id', 'in', [...new Set(userIds)])
      .execute();
    for (const row of rows) known.add(row.id);
  }
  return { byExternal, known };
}
