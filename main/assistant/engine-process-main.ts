// The engine process: the engine's message loop (engine-worker-main.ts) on the link to the app,
// either Electron's parentPort (a utility process) or Node's IPC channel (a forked child).
import type { ParentLink } from './engine-worker-main';
import { serveEngine } from './engine-worker-main';
import type { FromWorker, ToWorker } from './types';

interface ParentPort {
  on(event: 'message', fn: (e: { data: unknown }) => void): void;
  postMessage(message: unknown): void;
}

const parentPort = (process as { parentPort?: ParentPort }).parentPort;

function utilityLink(port: ParentPort): ParentLink {
  return {
    onMessage: (fn) => port.on('message', (e) => fn(e.data as ToWorker)),
    post: (m: FromWorker) => port.postMessage(m),
    end: () => process.exit(0),
  };
}

function childLink(): ParentLink {
  if (!process.send) throw new Error('the engine process was started without an IPC channel');
  // the app is gone (it ended or was killed): so is the engine's purpose
  process.on('disconnect', () => process.exit(0));
  return {
    onMessage: (fn) => process.on('message', (m) => fn(m as ToWorker)),
    post: (m: FromWorker) => {
      if (process.connected) process.send!(m);
    },
    end: () => process.disconnect(),
  };
}

serveEngine(parentPort ? utilityLink(parentPort) : childLink());
