import { isCarebaseError } from 'carebase';
import type { ErrorRequestHandler } from 'express';
import { requestIdOf } from './request-context.ts';

/**
 * One place that turns a thrown error into an HTTP answer. Handlers just `await` carebase and let
 * errors propagate: Express 5 forwards rejected promises here, so no route needs a try/catch.
 *
 * Bodies never echo input. carebase's own messages name fields, never values (no passwords,
 * tokens or message content), so validation issues can be returned as they are; any other error
 * becomes a bare 500 carrying only the request id, which the log line below shares, so a support
 * ticket can be matched to the server's log without leaking anything to the client.
 */
export function errorHandler(log: (line: string) => void): ErrorRequestHandler {
  return (error, req, res, _next) => {
    const requestId = requestIdOf(res);
    if (res.headersSent) {
      // A streamed response (the export) failed midway: the status is gone, so cut the connection
      // rather than let the client mistake a truncated file for a complete one.
      log(`[${requestId}] ${req.method} ${req.path} failed after the response started: ${describe(error)}`);
      res.destroy();
      return;
    }
    const { status, body } = toHttp(error);
    if (status >= 500) log(`[${requestId}] ${req.method} ${req.path} -> ${status}: ${describe(error)}`);
    res.status(status).json({ ...body, requestId });
  };
}

interface HttpError {
  readonly status: number;
  readonly body: Record<string, unknown>;
}

function toHttp(error: unknown): HttpError {
  if (isCarebaseError(error, 'VALIDATION_FAILED')) {
    // `issues` carry a path, a message and a zod code; never the rejected value.
    const issues = error.issues.map(({ path, message, code }) => ({ path: path.join('.'), message, code }));
    return { status: 400, body: { error: 'validation_failed', issues } };
  }
  if (isCarebaseError(error, 'NOT_FOUND')) return { status: 404, body: { error: 'not_found' } };
  // Another user's conversation: answer as if it did not exist, so ids cannot be probed.
  if (isCarebaseError(error, 'FORBIDDEN')) return { status: 404, body: { error: 'not_found' } };
  if (isCarebaseError(error, 'CONFLICT')) {
    return { status: 409, body: { error: 'conflict', field: error.field } };
  }
  // body-parser's errors carry `type` and `status`; their messages are safe but not useful to a client.
  const parser = bodyParserError(error);
  if (parser === 'entity.parse.failed') return { status: 400, body: { error: 'invalid_json' } };
  if (parser === 'entity.too.large') return { status: 413, body: { error: 'payload_too_large' } };
  return { status: 500, body: { error: 'internal_error' } };
}

function bodyParserError(error: unknown): string | undefined {
  if (typeof error !== 'object' || error === null || !('type' in error)) return undefined;
  return typeof error.type === 'string' ? error.type : undefined;
}

/**
 * What the log gets: a carebase error's class, code and message (values never appear in them);
 * for anything else, the class and stack, because an unexpected error is a bug to be fixed.
 */
function describe(error: unknown): string {
  if (isCarebaseError(error)) return `${error.name} ${error.code}: ${error.message}`;
  if (error instanceof Error) return error.stack ?? `${error.name}: ${error.message}`;
  return String(error);
}
