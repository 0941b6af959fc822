// The child's side of child-process.ts: its link to the app, either Electron's parentPort (a
// utility process) or Node's IPC channel (a forked child). When the app goes away, so does the child.
import { LongreadError } from '../../common/errors';
import { Worker } from 'node:worker_threads';
import type { WireError } from './child-process';

export interface ParentLink<FromParent, ToParent> {
  onMessage(fn: (m: FromParent) => void): void;
  post(m: ToParent): void;
  /** Ends the child once its work is over (after its last message was posted). */
  end(): void;
}

interface ParentPort {
  on(event: 'message', fn: (e: { data: unknown }) => void): void;
  postMessage(message: unknown): void;
}

export function parentLink<FromParent, ToParent>(): ParentLink<FromParent, ToParent> {
  const port = (process as { parentPort?: ParentPort }).parentPort;
  if (port) {
    return {
      onMessage: (fn) => port.on('message', (e) => fn(e.data as FromParent)),
      post: (m) => port.postMessage(m),
      end: () => process.exit(0),
    };
  }
  if (!process.send) throw new Error('this process was started without an IPC channel');
  // the app is gone (it ended or was killed): so is this process's purpose
  process.on('disconnect', () => process.exit(0));
  endWhenOrphaned();
  return {
    onMessage: (fn) => process.on('message', (m) => fn(m as FromParent)),
    post: (m) => {
      // a failed send means the app is gone (the watch thread ends this process); not an uncaught EPIPE
      if (process.connected) process.send!(m as object, undefined, undefined, () => {});
    },
    end: () => process.disconnect(),
  };
}

/**
 * 'disconnect' is only seen when this process's event loop runs: a reader in a long synchronous
 * parse would go on for its whole length after the app was killed. A thread of its own checks
 * that the parent is still there (an orphan is given to another parent) and ends the process if not.
 */
function endWhenOrphaned(): void {
  const watch = new Worker(
    `const { workerData } = require('node:worker_threads');
     setInterval(() => { if (process.ppid !== workerData) process.kill(process.pid, 'SIGKILL'); }, 250);`,
    { eval: true, workerData: process.ppid },
  );
  watch.unref();
}

/**
 * An error as the child sends it to the app: a LongreadError keeps its code, message and file;
 * anything else is `internal` with its name and message only. A stack names source paths and must
 * never reach the page (the app passes these on to the renderer and the WebSocket), so it goes to
 * this process's stderr instead.
 */
export function toWireError(e: unknown): WireError {
  if (e instanceof LongreadError) return { code: e.code, message: e.message, file: e.file, name: e.name };
  console.error('longread: unexpected error in a child process:', e);
  return { code: 'internal', message: e instanceof Error ? `${e.name}: ${e.message}` : String(e), name: 'Error' };
}
