/**
 * `error` with its stack taken again here, in a promise handler or an async function's catch on a
 * statement's way back to its caller: a statement's error is made in pg's socket callback, whose
 * stack holds pg's frames only; taken here, the stack also holds the awaiting callers (V8's async
 * stack traces), so the host's own call site shows, as it did when every layer was an async
 * function. Only errors pay.
 */
export function withCallerStack(error: unknown): unknown {
  if (error instanceof Error) Error.captureStackTrace(error, withCallerStack);
  return error;
}

/** Throws `error` with {@link withCallerStack}: a rejection handler. */
export function rethrowWithCallerStack(error: unknown): never {
  throw withCallerStack(error);
}
