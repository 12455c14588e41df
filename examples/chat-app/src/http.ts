/**
 * The few HTTP helpers the chat app needs on top of `node:http`: JSON in and out, cookies, and an
 * error type that carries a status code and a message safe to show the user.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';

/** An error answered as `{ error, message, field? }` with its status; never carries input values. */
export class HttpError extends Error {
  readonly status: number;
  readonly code: string;
  readonly field: string | undefined;

  constructor(status: number, code: string, message: string, field?: string) {
    super(message);
    this.status = status;
    this.code = code;
    this.field = field;
  }
}

/** Largest accepted request body (chat content is capped lower by carebase itself). */
const MAX_BODY_BYTES = 256 * 1024;

/** Sends `body` as JSON, never cached. */
export function sendJson(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, {
    'content-type': 'application/json; charset=utf-8',
    'content-length': Buffer.byteLength(text),
    'cache-control': 'no-store',
  });
  res.end(text);
}

/**
 * Reads a JSON object body. Requires `Content-Type: application/json`, which a cross-site HTML
 * form cannot send (with the SameSite=Lax cookie, that is the app's CSRF defence).
 */
export async function readJson(req: IncomingMessage): Promise<Record<string, unknown>> {
  const type = req.headers['content-type'] ?? '';
  if (!/^application\/json\b/i.test(type)) {
    throw new HttpError(415, 'unsupported_media_type', 'Send the request body as application/json.');
  }
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > MAX_BODY_BYTES) throw new HttpError(413, 'too_large', 'The request body is too large.');
    chunks.push(chunk as Buffer);
  }
  let value: unknown;
  try {
    value = JSON.parse(Buffer.concat(chunks).toString('utf8'));
  } catch {
    throw new HttpError(400, 'bad_json', 'The request body is not valid JSON.');
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new HttpError(400, 'bad_json', 'The request body must be a JSON object.');
  }
  return value as Record<string, unknown>;
}

/** A required string field of a parsed body, at most `max` characters. */
export function stringField(body: Record<string, unknown>, field: string, max: number): string {
  const value = body[field];
  if (typeof value !== 'string' || value.trim() === '') {
    throw new HttpError(400, 'validation', `${field} is required.`, field);
  }
  if (value.length > max) throw new HttpError(400, 'validation', `${field} is too long.`, field);
  return value;
}

/** The value of cookie `name` in the request, if any. */
export function readCookie(req: IncomingMessage, name: string): string | undefined {
  for (const part of (req.headers.cookie ?? '').split(';')) {
    const index = part.indexOf('=');
    if (index > 0 && part.slice(0, index).trim() === name) return part.slice(index + 1).trim();
  }
  return undefined;
}

/** A `Set-Cookie` value for the session cookie: HttpOnly, SameSite=Lax; `value: undefined` clears it. */
export function sessionCookie(name: string, value: string | undefined, secure: boolean): string {
  const parts = [`${name}=${value ?? ''}`, 'Path=/', 'HttpOnly', 'SameSite=Lax'];
  if (value === undefined) parts.push('Max-Age=0');
  if (secure) parts.push('Secure');
  return parts.join('; ');
}
