import type { Telemetry } from './telemetry.js';

/**
 * Returns `target` (a repository or API object) with every public method run as the operation
 * `<area>.<method>` of `telemetry`; `target` itself when nothing listens. Methods run with `target`
 * as `this`, so private fields keep working.
 */
export function instrument<T extends object>(target: T, area: string, telemetry: Telemetry): T {
  if (!telemetry.mayTraceOperations) return target;
  const wrapped = new Map<string, (...args: unknown[]) => unknown>();
  const nested = new Map<string, object>();
  return new Proxy(target, {
    get(object, property) {
      const value: unknown = Reflect.get(object, property, object);
      if (typeof property === 'string' && isApiObject(value)) {
        // A sub-API such as `cb.users.mfa`: its methods are the operations `users.mfa.<method>`.
        let api = nested.get(property);
        if (api === undefined) {
          api = instrument(value, `${area}.${property}`, telemetry);
          nested.set(property, api);
        }
        return api;
      }
      if (typeof value !== 'function' || typeof property !== 'string' || property === 'constructor')
        return value;
      let method = wrapped.get(property);
      if (method === undefined) {
        const name = `${area}.${property}`;
        const original = value as (...args: unknown[]) => unknown;
        method = (...args: unknown[]) => telemetry.operation(name, () => original.apply(object, args));
        wrapped.set(property, method);
      }
      return method;
    },
  });
}

/** A class instance named `...Api` (e.g. `MfaApi`, `PasswordResetApi`) held by a repository. */
function isApiObject(value: unknown): value is object {
  if (typeof value !== 'object' || value === null) return false;
  const name = (Object.getPrototypeOf(value) as { constructor?: { name?: unknown } } | null)?.constructor
    ?.name;
  return typeof name === 'string' && name.endsWith('Api');
}
