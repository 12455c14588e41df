import { AbortError } from '../errors/errors.js';
import type { CliIo } from './io.js';

interface RawInput {
  readonly isTTY?: boolean | undefined;
  setRawMode?(mode: boolean): unknown;
  setEncoding(encoding: BufferEncoding): unknown;
  on(event: 'data', listener: (chunk: string) => void): unknown;
  off(event: 'data', listener: (chunk: string) => void): unknown;
  resume(): unknown;
  pause(): unknown;
}

/**
 * Asks for a password on the terminal (prompt on stderr, no echo). Only call it when
 * `io.stdin` is a TTY. Rejects with `AbortError` on Ctrl-C or Ctrl-D.
 */
export function promptPassword(io: CliIo, question: string): Promise<string> {
  const input = io.stdin as unknown as RawInput;
  return new Promise((resolve, reject) => {
    let value = '';
    const finish = (error?: Error): void => {
      input.off('data', onData);
      input.setRawMode?.(false);
      input.pause();
      io.stderr.write('\n');
      if (error === undefined) resolve(value);
      else reject(error);
    };
    const onData = (chunk: string): void => {
      for (const ch of chunk) {
        if (ch === '\r' || ch === '\n') {
          finish();
          return;
        }
        if (ch === '\u0003' || ch === '\u0004') {
          finish(new AbortError());
          return;
        }
        if (ch === '\u007f' || ch === '\b') value = value.slice(0, -1);
        else value += ch;
      }
    };
    // Raw (no echo) before the question appears, so nothing typed after it is ever echoed.
    input.setRawMode?.(true);
    io.stderr.write(question);
    input.setEncoding('utf8');
    input.on('data', onData);
    input.resume();
  });
}
