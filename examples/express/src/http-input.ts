import { ValidationError } from 'carebase';
import type { Request } from 'express';

/**
 * Reading request input. The app does not re-validate what carebase validates: every repository
 * method parses its input with zod before any SQL, so a wrong type, a bad uuid or an oversized
 * string comes back as a `ValidationError` (400, nothing written). These helpers only turn HTTP's
 * strings into the types carebase expects, and refuse what has no sensible conversion, with the
 * same error type so clients see one error shape.
 */

/** The JSON body as an object of unknown values (an empty object for a bodyless request). */
export function jsonBody(req: Request): Record<string, unknown> {
  const body: unknown = req.body;
  if (body === undefined) return {};
  if (typeof body === 'object' && body !== null && !Array.isArray(body))
    return body as Record<string, unknown>;
  throw invalid([], 'the request body must be a JSON object');
}

/** A query parameter given at most once; a repeated one (`?a=1&a=2`) is refused. */
export function queryText(req: Request, name: string): string | undefined {
  const value: unknown = req.query[name];
  if (value === undefined || typeof value === 'string') return value;
  throw invalid([name], 'must be given once');
}

/** An integer query parameter; range checks are carebase's. */
export function queryInteger(req: Request, name: string): number | undefined {
  const text = queryText(req, name);
  if (text === undefined) return undefined;
  if (!/^-?\d{1,15}$/.test(text)) throw invalid([name], 'must be an integer');
  return Number(text);
}

/** An ISO 8601 date-time query parameter. */
export function queryDate(req: Request, name: string): Date | undefined {
  const text = queryText(req, name);
  if (text === undefined) return undefined;
  const date = new Date(text);
  if (Number.isNaN(date.getTime())) throw invalid([name], 'must be an ISO 8601 date-time');
  return date;
}

/** Drops undefined entries: carebase's inputs are exact (`exactOptionalPropertyTypes`), so an absent
 * query parameter must be a missing key, not a key holding `undefined`. */
export function definedOnly<T extends object>(value: T): { [K in keyof T]?: Exclude<T[K], undefined> } {
  return Object.fromEntries(Object.entries(value).filter(([, entry]) => entry !== undefined)) as {
    [K in keyof T]?: Exclude<T[K], undefined>;
  };
}

function invalid(path: string[], message: string): ValidationError {
  const field = path.length === 0 ? 'body' : path.join('.');
  return new ValidationError(`invalid request ${field}: ${message}`, [{ path, message, code: 'custom' }]);
}
