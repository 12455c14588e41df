import 'server-only';
import { isCarebaseError } from 'carebase';
import type { z } from 'zod';

/** A failure the route handler answers with `status`; the message is shown to the client. */
export class HttpError extends Error {
  readonly status: number;
  readonly fields: readonly string[];

  constructor(status: number, message: string, fields: readonly string[] = []) {
    super(message);
    this.name = 'HttpError';
    this.status = status;
    this.fields = fields;
  }
}

const STATUS_BY_CODE: Record<string, number> = {
  VALIDATION_FAILED: 400,
  NOT_FOUND: 404,
  FORBIDDEN: 403,
  CONFLICT: 409,
  POOL_TIMEOUT: 503,
  CONNECTION_FAILED: 503,
};

/**
 * Turns an error into a JSON response. Carebase errors map by their stable `code`; their
 * messages name fields, never values. Anything else is logged by name only and answered with 500.
 */
export function errorResponse(error: unknown): Response {
  if (error instanceof HttpError) {
    return Response.json({ error: error.message, fields: error.fields }, { status: error.status });
  }
  if (isCarebaseError(error)) {
    const status = STATUS_BY_CODE[error.code] ?? 500;
    if (status === 500) console.error(`carebase error ${error.code}`);
    const fields = isCarebaseError(error, 'VALIDATION_FAILED')
      ? error.issues.map((issue) => issue.path.join('.'))
      : isCarebaseError(error, 'CONFLICT')
        ? [error.field]
        : [];
    return Response.json({ error: status === 500 ? 'Internal error' : error.message, fields }, { status });
  }
  console.error(`unexpected ${error instanceof Error ? error.name : typeof error}`);
  return Response.json({ error: 'Internal error' }, { status: 500 });
}

/** Runs a route handler body, answering thrown errors with {@link errorResponse}. */
export async function handle(fn: () => Promise<Response>): Promise<Response> {
  try {
    return await fn();
  } catch (error) {
    return errorResponse(error);
  }
}

/** True when the request came from an HTML form (which then gets a redirect, not JSON). */
export function isForm(request: Request): boolean {
  const type = request.headers.get('content-type') ?? '';
  return type.startsWith('application/x-www-form-urlencoded') || type.startsWith('multipart/form-data');
}

/**
 * Reads a JSON (or HTML form) body and checks its shape with `schema`, typically one of
 * carebase's exported input schemas narrowed with `.pick()`. A bad body is a 400 naming the
 * offending fields, before anything is written.
 */
export async function readBody<T>(request: Request, schema: z.ZodType<T>): Promise<T> {
  let body: unknown;
  try {
    body = isForm(request) ? Object.fromEntries(await request.formData()) : await request.json();
  } catch {
    throw new HttpError(400, 'The request body is not valid JSON');
  }
  const parsed = schema.safeParse(body);
  if (!parsed.success) {
    const fields = parsed.error.issues.map((issue) => issue.path.join('.'));
    throw new HttpError(400, 'Invalid request body', fields);
  }
  return parsed.data;
}

/** A 303 to `path` on this app, for form posts (relative, so it holds behind a proxy too). */
export function redirectTo(path: string): Response {
  return new Response(null, { status: 303, headers: { location: path } });
}
