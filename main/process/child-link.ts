// The child's side of child-process.ts: its link to the app, either Electron's parentPort (a
// utility process) or Node's IPC channel (a forked child). When the app goes away, so does the child.

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
  return {
    onMessage: (fn) => process.on('message', (m) => fn(m as FromParent)),
    post: (m) => {
      if (process.connected) process.send!(m as object);
    },
    end: () => process.disconnect(),
  };
}
