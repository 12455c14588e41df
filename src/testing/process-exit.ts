/**
 * Synchronous clean-ups run when the process exits, including on SIGINT/SIGTERM/SIGHUP. When
 * nobody else handles the signal, they run at once and the signal is raised again, so the process
 * still dies of it. When the host handles it too (a server's graceful shutdown), they wait for the
 * host's own `process.exit()`, so its shutdown can still use the throwaway server (drop its
 * database, close its pool) first.
 */
const tasks = new Set<() => void>();
let installed = false;

function runAll(): void {
  for (const task of [...tasks]) {
    tasks.delete(task);
    try {
      task();
    } catch {
      // best effort: the process is going away
    }
  }
}

function install(): void {
  if (installed) return;
  installed = true;
  process.on('exit', runAll);
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
    const handler = (): void => {
      if (process.listenerCount(signal) > 1) return; // the host shuts down; 'exit' cleans up
      runAll();
      process.removeListener(signal, handler);
      process.kill(process.pid, signal);
    };
    process.on(signal, handler);
  }
}

/** Registers `task` to run once at process exit; the returned function unregisters it. */
export function onProcessExit(task: () => void): () => void {
  install();
  tasks.add(task);
  return () => {
    tasks.delete(task);
  };
}

/** Blocks the thread for `ms` (only for exit handlers, where nothing asynchronous runs). */
export function sleepSync(ms: number): void {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
}
