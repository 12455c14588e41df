import type { RepositoryContext } from './context.js';

const AsyncFunction = Object.getPrototypeOf(async () => {}).constructor as new () => unknown;

/**
 * `create(context)`, with every `async` method run, under row-level security (`rls: true`, a scope
 * with a user, outside a transaction), in a transaction that carries the scope's user
 * (`carebase.actor_user_id`, transaction-local): the one place carebase opens a transaction for a
 * scoped call. The method runs on a repository built on that transaction, so its reads and writes,
 * its own `atomic` blocks and its prepared statements all see the setting. Otherwise (rls off, no
 * user, or already in a transaction) `create(context)` itself: no proxy, no extra statement.
 * Methods that are not `async` (a stream, a buffer, a permission check) are left as they are.
 */
export function withRowSecurity<T extends object>(
  context: RepositoryContext,
  create: (ctx: RepositoryContext) => T,
): T {
  const target = create(context);
  if (context.rlsUserId === undefined || context.inTransaction) return target;
  const wrapped = new Map<string, (...args: unknown[]) => unknown>();
  return new Proxy(target, {
    get(object, property) {
      const value: unknown = Reflect.get(object, property, object);
      if (typeof value !== 'function' || typeof property !== 'string') return value;
      // Other methods run on the repository itself, so its private fields keep working.
      if (!(value instanceof AsyncFunction)) return (value as (...args: unknown[]) => unknown).bind(object);
      let method = wrapped.get(property);
      if (method === undefined) {
        method = (...args: unknown[]) =>
          context.atomic((ctx) => {
            const repository = create(ctx);
            const fn = Reflect.get(repository, property, repository) as (...a: unknown[]) => Promise<unknown>;
            return fn.apply(repository, args);
          });
        wrapped.set(property, method);
      }
      return method;
    },
  });
}
