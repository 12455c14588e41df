/**
 * MongoDB Extended JSON (as `mongoexport` writes it, relaxed or canonical) to plain values:
 * `{ "$oid": "..." }` -> the hex string, `{ "$date": ... }` -> a Date, `$numberLong` / `$numberInt`
 * / `$numberDouble` / `$numberDecimal` -> numbers. One document per line.
 */
export type Plain = string | number | boolean | null | Date | Plain[] | { [key: string]: Plain };

export function fromExtendedJson(value: unknown): Plain {
  if (Array.isArray(value)) return value.map(fromExtendedJson);
  if (value === null || typeof value !== 'object') return value as Plain;
  const object = value as Record<string, unknown>;
  const keys = Object.keys(object);
  if (keys.length === 1) {
    const [key] = keys;
    const inner = object[key as string];
    switch (key) {
      case '$oid':
        return String(inner);
      case '$date':
        if (typeof inner === 'string') return new Date(inner);
        if (typeof inner === 'number') return new Date(inner);
        return new Date(Number((inner as { $numberLong?: string }).$numberLong));
      case '$numberLong':
      case '$numberInt':
      case '$numberDouble':
      case '$numberDecimal':
        return Number(inner);
    }
  }
  const out: { [key: string]: Plain } = {};
  for (const key of keys) out[key] = fromExtendedJson(object[key]);
  return out;
}

/** Parses a `mongoexport` file: one Extended JSON document per line (blank lines skipped). */
export function parseExport(text: string): Record<string, Plain>[] {
  return text
    .split('\n')
    .filter((line) => line.trim() !== '')
    .map((line) => fromExtendedJson(JSON.parse(line)) as Record<string, Plain>);
}
