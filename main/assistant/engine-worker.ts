import { Worker } from 'node:worker_threads';
import type { JobStage } from '../../common/api';
import { CancelledError, LongreadError } from '../../common/errors';
import { disableOrtTelemetry } from '../../engine/runtime/telemetry';
import type { EngineTask, EngineTaskResult, FromWorker, ModelFacts, TokenizedText, ToWorker, WireError, WorkerInit } from './types';

export interface RequestHooks {
  signal?: AbortSignal;
  onProgress?: (p: { stage: JobStage; fraction?: number; tokensPerSecond?: number }) => void;
  onToken?: (text: string) => void;
}

interface Pending {
  resolve: (m: FromWorker) => void;
  reject: (e: Error) => void;
  hooks: RequestHooks;
}

/**
 * One model's engine on a worker thread (engine-worker-main.ts), so the caller's event loop stays
 * free. Requests are answered in order; a cancelled request that does not stop within the grace
 * period ends the worker (its memory goes with it) and the next request starts a new one.
 */
export class EngineWorker {
  private worker: Worker | null = null;
  private readonly pending = new Map<number, Pending>();
  private nextId = 1;
  private facts: ModelFacts | null = null;
  /** Workers told to close that have not exited yet (each leaves after its current native call). */
  private readonly retiring = new Set<Worker>();

  constructor(
    private readonly init: WorkerInit,
    private readonly cancelGraceMs = 2000,
  ) {}

  /** Whether a worker thread is alive. */
  get running(): boolean {
    return this.worker !== null;
  }

  async open(hooks: RequestHooks = {}): Promise<ModelFacts> {
    if (this.facts && this.worker) return this.facts;
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
    const m = await this.request({ type: 'run', id: 0, task: { ...task, documentIds: task.documentIds } }, hooks);
    return (m as Extract<FromWorker, { type: 'result' }>).result;
  }

  /** Asks the worker to release the model and stop, and waits until it and every retired worker have exited. */
  async close(): Promise<void> {
    const w = this.worker;
    if (w) {
      this.worker = null;
      this.facts = null;
      this.retire(w);
      this.failAll(new LongreadError('assistant-closed', 'The assistant was closed.'));
    }
    await Promise.all([...this.retiring].map(exitOf));
  }

  /**
   * A worker whose job did not stop within the grace period: the next job gets a new worker, and
   * this one releases the model and exits as soon as its current native call returns. (Ending a
   * thread in the middle of an ONNX Runtime call can abort the whole process.)
   */
  private retire(worker: Worker): void {
    this.retiring.add(worker);
    worker.once('exit', () => this.retiring.delete(worker));
    worker.postMessage({ type: 'close' } satisfies ToWorker);
  }

  private spawn(): Worker {
    disableOrtTelemetry();
    const w = new Worker(new URL('./engine-worker.mjs', import.meta.url), { workerData: this.init });
    w.on('message', (m: FromWorker) => this.onMessage(m));
    w.on('error', (e) => {
      if (this.worker === w) this.worker = null;
      this.facts = null;
      this.failAll(e instanceof Error ? e : new Error(String(e)));
    });
    w.on('exit', (code) => {
      if (this.worker !== w) return;
      this.worker = null;
      this.facts = null;
      this.failAll(new LongreadError('engine-stopped', `The engine worker for ${this.init.modelDir} stopped unexpectedly (exit code ${code}).`));
    });
    this.worker = w;
    return w;
  }

  private request(message: ToWorker & { id: number }, hooks: RequestHooks): Promise<FromWorker> {
    if (hooks.signal?.aborted) return Promise.reject(new CancelledError());
    const worker = this.worker ?? this.spawn();
    const id = this.nextId++;
    return new Promise<FromWorker>((resolve, reject) => {
      const onAbort = () => {
        worker.postMessage({ type: 'abort', id } satisfies ToWorker);
        // A layer can run for a while; past the grace period the worker is ended with everything it holds.
        const timer = setTimeout(() => {
          if (!this.pending.has(id)) return;
          this.pending.delete(id);
          reject(new CancelledError());
          if (this.worker === worker) {
            this.worker = null;
            this.facts = null;
          }
          this.retire(worker);
        }, this.cancelGraceMs);
        timer.unref();
      };
      hooks.signal?.addEventListener('abort', onAbort, { once: true });
      const done = <T>(fn: (v: T) => void) => (v: T) => {
        hooks.signal?.removeEventListener('abort', onAbort);
        fn(v);
      };
      this.pending.set(id, { resolve: done(resolve), reject: done(reject), hooks });
      const transfer = message.type === 'run' ? [copyBuffer(message.task)] : [];
      worker.postMessage({ ...message, id }, transfer);
    });
  }

  private onMessage(m: FromWorker): void {
    if (m.type === 'closed') return;
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

  private failAll(e: Error): void {
    for (const [id, p] of this.pending) {
      this.pending.delete(id);
      p.reject(e);
    }
  }
}

/** The task's ids move to the worker: give it its own copy so the caller's array stays usable. */
function copyBuffer(task: EngineTask): ArrayBuffer {
  task.documentIds = task.documentIds.slice();
  return task.documentIds.buffer as ArrayBuffer;
}

function revive(e: WireError): Error {
  if (e.code === 'cancelled') return new CancelledError();
  if (e.code === 'internal') return new Error(`engine worker: ${e.message}`);
  return new LongreadError(e.code, e.message, { file: e.file });
}

function exitOf(w: Worker): Promise<void> {
  return new Promise((resolve) => w.once('exit', () => resolve()));
}
