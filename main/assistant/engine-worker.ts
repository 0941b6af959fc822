import type { JobStage } from '../../common/api';
import { CancelledError, LongreadError } from '../../common/errors';
import { describeExit, interrupted } from '../process/child-process';
import { startEngineProcess, type EngineProcess } from './engine-process';
import type { EngineTask, EngineTaskResult, FromWorker, ModelFacts, PrepareTask, TokenizedText, ToWorker, WireError, WorkerInit } from './types';

export interface RequestHooks {
  signal?: AbortSignal;
  onProgress?: (p: { stage: JobStage; fraction?: number; tokensPerSecond?: number }) => void;
  onToken?: (text: string) => void;
}

interface Pending {
  resolve: (m: FromWorker) => void;
  reject: (e: Error) => void;
  hooks: RequestHooks;
  /** The process the request went to. */
  child: EngineProcess;
}

/** How long a closing engine may take to release its model before it is killed (ms). */
const CLOSE_GRACE_MS = 5000;

/**
 * One model's engine in a process of its own (engine-process.ts), so the caller's event loop stays
 * free and a native crash or an out-of-memory kill in the engine costs only the job it was running:
 * that job fails with 'engine-crashed', and the next request starts a new process. Requests are
 * answered in order. A cancelled request that does not stop within the grace period kills the
 * process (its memory goes with it); a new process starts only once the killed one has exited, so
 * at most one live and one dying engine process exist per model.
 */
export class EngineWorker {
  private child: EngineProcess | null = null;
  private readonly pending = new Map<number, Pending>();
  private nextId = 1;
  private facts: ModelFacts | null = null;
  /** Processes killed or told to close that have not exited yet. */
  private readonly dying = new Set<EngineProcess>();

  constructor(
    private readonly init: WorkerInit,
    private readonly cancelGraceMs = 2000,
  ) {}

  /** Whether an engine process is alive. */
  get running(): boolean {
    return this.child !== null;
  }

  /** The live engine process's id (once it has started), for diagnostics and tests. */
  get pid(): number | undefined {
    return this.child?.pid;
  }

  async open(hooks: RequestHooks = {}): Promise<ModelFacts> {
    if (this.facts && this.child) return this.facts;
    const m = await this.request({ type: 'open', id: 0 }, hooks);
    this.facts = (m as Extract<FromWorker, { type: 'opened' }>).facts;
    return this.facts;
  }

  async validate(dir: string): Promise<ModelFacts> {
    const m = await this.request({ type: 'validate', id: 0, dir }, {});
    return (m as Extract<FromWorker, { type: 'validated' }>).facts;
  }

  async tokenize(text: string, hooks: RequestHooks = {}): Promise<TokenizedText> {
    const m = (await this.request({ type: 'tokenize', id: 0, text }, hooks)) as Extract<FromWorker, { type: 'tokenized' }>;
    return { ids: m.ids, offsets: m.offsets };
  }

  async run(task: EngineTask, hooks: RequestHooks = {}): Promise<EngineTaskResult> {
    const m = await this.request({ type: 'run', id: 0, task }, hooks);
    return (m as Extract<FromWorker, { type: 'result' }>).result;
  }

  /** Computes and stores a document's local-layer states (see PrepareTask): its segments, and how many were stored already. */
  async prepare(task: PrepareTask, hooks: RequestHooks = {}): Promise<{ segments: number; alreadyStored: number }> {
    const m = (await this.request({ type: 'prepare', id: 0, task }, hooks)) as Extract<FromWorker, { type: 'prepared' }>;
    return { segments: m.segments, alreadyStored: m.alreadyStored };
  }

  /** Asks the engine to release the model and stop, and waits until it and every dying process have exited. */
  async close(): Promise<void> {
    const c = this.child;
    if (c) this.end(c, 'close');
    this.failAll(null, new LongreadError('assistant-closed', 'The assistant was closed.'));
    await Promise.all([...this.dying].map((d) => d.exited));
  }

  /**
   * Ends a process that is no longer this model's engine: 'kill' at once (a job that would not
   * stop), 'close' after it has released the model (or killed, past CLOSE_GRACE_MS).
   */
  private end(child: EngineProcess, how: 'kill' | 'close'): void {
    if (this.child === child) {
      this.child = null;
      this.facts = null;
    }
    if (how === 'kill') child.kill();
    if (this.dying.has(child)) return;
    this.dying.add(child);
    if (how === 'close') {
      child.send({ type: 'close' });
      const timer = setTimeout(() => child.kill(), CLOSE_GRACE_MS);
      timer.unref();
      void child.exited.then(() => clearTimeout(timer));
    }
  }

  private spawn(): EngineProcess {
    const child = startEngineProcess((m) => this.onMessage(m));
    child.send({ type: 'init', init: this.init });
    void child.exited.then((exit) => {
      this.dying.delete(child);
      if (this.child === child) {
        // it ended without being asked to: a crash (SIGSEGV, SIGABRT, the OOM killer's SIGKILL…), or a Ctrl-C
        this.child = null;
        this.facts = null;
        this.failAll(
          child,
          interrupted(exit)
            ? new CancelledError()
            : new LongreadError(
                'engine-crashed',
                `The engine for the model in ${this.init.modelDir} crashed (${describeExit(exit)}); the job it was running was stopped. The next job starts a new engine.`,
                { file: this.init.modelDir },
              ),
        );
      } else {
        this.failAll(child, new LongreadError('engine-stopped', `The engine for the model in ${this.init.modelDir} was stopped before it answered.`));
      }
    });
    this.child = child;
    return child;
  }

  /** The live process, started if need be once every dying one has exited (so killed engines never stack up). */
  private async live(): Promise<EngineProcess> {
    while (!this.child && this.dying.size > 0) await Promise.race([...this.dying].map((d) => d.exited));
    return this.child ?? this.spawn();
  }

  private async request(message: Extract<ToWorker, { type: 'open' | 'validate' | 'tokenize' | 'run' | 'prepare' }>, hooks: RequestHooks): Promise<FromWorker> {
    if (hooks.signal?.aborted) throw new CancelledError();
    const child = this.child ?? (await this.live());
    if (hooks.signal?.aborted) throw new CancelledError();
    const id = this.nextId++;
    return new Promise<FromWorker>((resolve, reject) => {
      const onAbort = () => {
        child.send({ type: 'abort', id });
        // A layer can run for a while; past the grace period the process is killed with everything it holds.
        const timer = setTimeout(() => {
          if (!this.pending.has(id)) return;
          this.pending.delete(id);
          reject(new CancelledError());
          this.end(child, 'kill');
        }, this.cancelGraceMs);
        timer.unref();
      };
      hooks.signal?.addEventListener('abort', onAbort, { once: true });
      const done = <T>(fn: (v: T) => void) => (v: T) => {
        hooks.signal?.removeEventListener('abort', onAbort);
        fn(v);
      };
      this.pending.set(id, { resolve: done(resolve), reject: done(reject), hooks, child });
      child.send({ ...message, id });
    });
  }

  private onMessage(m: FromWorker): void {
    if (m.type === 'closed' || m.type === 'ready') return;
    const p = this.pending.get(m.id);
    if (!p) return;
    if (m.type === 'progress') p.hooks.onProgress?.({ stage: m.stage, fraction: m.fraction, tokensPerSecond: m.tokensPerSecond });
    else if (m.type === 'token') p.hooks.onToken?.(m.text);
    else {
      this.pending.delete(m.id);
      if (m.type === 'error') p.reject(revive(m.error));
      else p.resolve(m);
    }
  }

  /** Rejects the requests that went to `child` (every request when null). */
  private failAll(child: EngineProcess | null, e: Error): void {
    for (const [id, p] of this.pending) {
      if (child && p.child !== child) continue;
      this.pending.delete(id);
      p.reject(e);
    }
  }
}

function revive(e: WireError): Error {
  if (e.code === 'cancelled') return new CancelledError();
  if (e.code === 'internal') return new Error(`engine: ${e.message}`);
  return new LongreadError(e.code, e.message, { file: e.file });
}
