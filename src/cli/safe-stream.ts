import type { CliWritable } from './io.js';

/**
 * Wraps a process stream so that a reader that went away (`carebase backup list | head -0`:
 * EPIPE) or a closed stream ends the output silently instead of crashing the process with an
 * unhandled 'error' event. Later writes are dropped.
 */
export function safeWritable(stream: NodeJS.WriteStream): CliWritable & { readonly columns?: number } {
  let closed = false;
  stream.on('error', () => {
    // EPIPE, ERR_STREAM_DESTROYED and the like: nobody is reading any more.
    closed = true;
  });
  return {
    get isTTY() {
      return stream.isTTY === true;
    },
    get columns() {
      return stream.columns;
    },
    write(text: string) {
      if (closed || stream.destroyed || stream.writableEnded) return false;
      return stream.write(text);
    },
  };
}
