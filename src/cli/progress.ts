import cliProgress from 'cli-progress';
import type { CliWritable } from './io.js';

/** A progress display for one long operation. */
export interface ProgressBar {
  /** Reports `done` of `total` (undefined: unknown total, no bar), with an optional detail text. */
  update(done: number, total: number | undefined, detail?: string): void;
  /** Clears the display. Idempotent. */
  stop(): void;
}

const NOOP: ProgressBar = Object.freeze({ update() {}, stop() {} });
const WIDTH = 24;

/**
 * The CLI's one progress renderer: `cli-progress` (maintained, throttled redraws, cursor and
 * line handling) on `stream` when it is a terminal; a no-op otherwise, so pipes and CI logs stay
 * clean. Every command's progress goes through it.
 */
export function createProgressBar(stream: CliWritable, label: string): ProgressBar {
  if (stream.isTTY !== true) return NOOP;
  let bar: cliProgress.SingleBar | undefined;
  let stopped = false;
  return {
    update(done, total, detail = '') {
      if (stopped) return;
      const payload = { label, detail, known: total !== undefined };
      if (bar === undefined) {
        bar = new cliProgress.SingleBar({
          stream: stream as unknown as NodeJS.WritableStream,
          hideCursor: true,
          clearOnComplete: true,
          stopOnComplete: false,
          fps: 8,
          format: (options, params, values: typeof payload) => {
            if (!values.known) return `${values.label} ${values.detail}`.trimEnd();
            const filled = Math.round(Math.min(1, Math.max(0, params.progress)) * WIDTH);
            const bar = `${(options.barCompleteChar ?? '#').repeat(filled)}${(options.barIncompleteChar ?? '-').repeat(WIDTH - filled)}`;
            const percent = String(Math.round(params.progress * 100)).padStart(3);
            return `${values.label} [${bar}] ${percent}% ${params.value}/${params.total} ${values.detail}`.trimEnd();
          },
          barCompleteChar: '#',
          barIncompleteChar: '-',
        });
        bar.start(total ?? 1, done, payload);
        return;
      }
      if (total !== undefined) bar.setTotal(total);
      bar.update(done, payload);
    },
    stop() {
      if (stopped) return;
      stopped = true;
      bar?.stop();
    },
  };
}
