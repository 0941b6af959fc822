// Starts a part of the app (the engine, the document reader) in a process of its own, so that a
// native crash, an abort or an out-of-memory kill there ends only that process, never the app; and
// so that stopping it at any moment is safe (a killed process gives everything back to the OS,
// while a thread ended in the middle of a native call can abort the whole process). Inside
// Electron's main process it is a utility process; anywhere else (CLI, local server, tests) a Node
// child process with an IPC channel. The child's entry must post `{ type: 'ready' }` once it
// listens (child-link.ts does).
import { fork } from 'node:child_process';
import { createRequire } from 'node:module';
import { constants as osConstants } from 'node:os';
import { fileURLToPath } from 'node:url';

/** An error as it crosses between processes: typed fields only, never a stack. */
export interface WireError {
  code: string;
  message: string;
  file?: string;
  name: string;
}

/** How a child process ended: `signal` when a signal killed it (SIGSEGV, SIGABRT, SIGKILL from the OOM killer…). */
export interface ChildExit {
  code: number | null;
  signal: NodeJS.Signals | null;
  /** The process could not be started at all. */
  error?: Error;
}

/** One child process, whichever kind: messages both ways, its end, and a kill that always works. */
export interface ChildProcess<ToChild> {
  /** The OS process id, once it is known (a utility process reports it when it has spawned). */
  readonly pid: number | undefined;
  /** Sends a message; messages sent before the process is listening are held and sent in order. */
  send(message: ToChild): void;
  /** SIGKILL: safe for a process at any moment. */
  kill(): void;
  /** Resolves once, when the process has ended (for any reason). */
  readonly exited: Promise<ChildExit>;
}

export interface ChildSpec {
  /** The entry file: a `.mjs` next to the code that starts it (bundled under that name for the app, main/app/build.mjs). */
  entry: URL;
  /** The name the OS task manager shows for a utility process. */
  serviceName: string;
}

/** The child's environment: ONNX Runtime's telemetry must be off there too (engine/runtime/telemetry.ts). */
function childEnv(): NodeJS.ProcessEnv {
  return { ...process.env, ORT_DISABLE_TELEMETRY: '1' };
}

/** Electron's main process (not a renderer, not Electron run as plain Node). */
function inElectronMain(): boolean {
  return Boolean(process.versions.electron) && (process as { type?: string }).type === 'browser';
}

export function startChild<ToChild, FromChild>(spec: ChildSpec, onMessage: (m: FromChild) => void): ChildProcess<ToChild> {
  return inElectronMain() ? startUtilityProcess(spec, onMessage) : startNodeChild(spec, onMessage);
}

/** Holds messages until the child says it listens (IPC messages that arrive before a listener are dropped). */
function outbox<T>(deliver: (m: T) => void) {
  let held: T[] | null = [];
  return {
    send(m: T) {
      if (held) held.push(m);
      else deliver(m);
    },
    open() {
      const queued = held ?? [];
      held = null;
      for (const m of queued) deliver(m);
    },
  };
}

const isReady = (m: unknown) => (m as { type?: unknown } | null)?.type === 'ready';

function startNodeChild<ToChild, FromChild>(spec: ChildSpec, onMessage: (m: FromChild) => void): ChildProcess<ToChild> {
  const child = fork(fileURLToPath(spec.entry), [], {
    env: childEnv(),
    // the entry registers its own TypeScript loader; the parent's flags (node --test, --import tsx) are not the child's
    execArgv: [],
    // 'advanced': the structured clone, so typed arrays arrive as typed arrays
    serialization: 'advanced',
    // nothing the child prints may mix into the CLI's stdout (JSON output): its stdout goes to stderr
    stdio: ['ignore', 2, 2, 'ipc'],
  });
  const box = outbox<ToChild>((m) => {
    if (child.connected) child.send(m as object);
  });
  const exited = new Promise<ChildExit>((resolve) => {
    child.once('exit', (code, signal) => resolve({ code, signal }));
    // a process that never started has no exit to wait for
    child.on('error', (error) => {
      if (child.pid === undefined) resolve({ code: null, signal: null, error });
    });
  });
  child.on('message', (m) => {
    if (isReady(m)) box.open();
    else onMessage(m as FromChild);
  });
  return {
    get pid() {
      return child.pid;
    },
    send: (m) => box.send(m),
    kill: () => {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    },
    exited,
  };
}

/** What this file uses of Electron's UtilityProcess (electron.d.ts). */
export interface UtilityProcessLike {
  pid: number | undefined;
  on(event: 'message', fn: (m: unknown) => void): void;
  on(event: 'spawn', fn: () => void): void;
  once(event: 'exit', fn: (code: number) => void): void;
  postMessage(m: unknown): void;
  kill(): boolean;
}

export interface UtilityProcessModule {
  fork(modulePath: string, args: string[], options: { env: NodeJS.ProcessEnv; serviceName: string; stdio: 'inherit' }): UtilityProcessLike;
}

/** Electron's utilityProcess: 'electron' only exists inside Electron, so it is required here, never imported at the top. */
function electronUtilityProcess(): UtilityProcessModule {
  return (createRequire(import.meta.url)('electron') as { utilityProcess: UtilityProcessModule }).utilityProcess;
}

export function startUtilityProcess<ToChild, FromChild>(
  spec: ChildSpec,
  onMessage: (m: FromChild) => void,
  utilityProcess: UtilityProcessModule = electronUtilityProcess(),
): ChildProcess<ToChild> {
  const child = utilityProcess.fork(fileURLToPath(spec.entry), [], { env: childEnv(), serviceName: spec.serviceName, stdio: 'inherit' });
  let ended = false;
  const box = outbox<ToChild>((m) => {
    if (!ended) child.postMessage(m);
  });
  const exited = new Promise<ChildExit>((resolve) =>
    child.once('exit', (code) => {
      ended = true;
      // a utility process reports only a number: on POSIX, for a process a signal ended, the signal's number
      resolve({ code, signal: process.platform === 'win32' ? null : crashSignal(code) });
    }),
  );
  child.on('message', (m) => {
    if (isReady(m)) box.open();
    else onMessage(m as FromChild);
  });
  return {
    get pid() {
      return child.pid;
    },
    send: (m) => box.send(m),
    kill: () => {
      if (ended) return;
      if (child.pid === undefined) child.kill();
      else {
        try {
          process.kill(child.pid, 'SIGKILL');
        } catch {
          // already gone
        }
      }
    },
    exited,
  };
}

/** Signals that end a process abnormally, as a utility process's exit code names them. */
const CRASH_SIGNALS: NodeJS.Signals[] = ['SIGSEGV', 'SIGABRT', 'SIGBUS', 'SIGILL', 'SIGFPE', 'SIGKILL', 'SIGTERM'];

function crashSignal(code: number): NodeJS.Signals | null {
  return CRASH_SIGNALS.find((s) => osConstants.signals[s] === code) ?? null;
}

/**
 * Whether the child was interrupted (SIGINT): a terminal's Ctrl-C goes to the whole process group,
 * so the child may end of it before the CLI's own handler has cancelled the work. That is the
 * user's cancel, not a crash.
 */
export function interrupted(exit: ChildExit): boolean {
  return exit.signal === 'SIGINT';
}

/** "killed by SIGSEGV", "exit code 1" or why it could not start. */
export function describeExit(exit: ChildExit): string {
  if (exit.error) return `it could not be started: ${exit.error.message}`;
  return exit.signal ? `killed by ${exit.signal}` : `exit code ${exit.code}`;
}
