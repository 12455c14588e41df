/**
 * `error` with its stack taken again here, for the catch of an async function awaiting a statement:
 * a statement's error is made in pg's socket callback, whose stack holds pg's frames only; taken
 * in an async function, the stack also holds the awaiting callers (V8's async stack traces), so the
 * host's own call site shows, as it did when every layer was an async function. Only errors pay.
 */
export function withCallerStack(error: unknown): unknown {
  if (error instanceof Error) Error.captureStackTrace(error, withCallerStack);
  return error;
}
