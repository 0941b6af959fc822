import type { AskResult, CollectionSummaryResult, JobEvent, JobKind, JobStage, PrepareResult, SummaryResult } from '../../common/api';
import { CancelledError, LongreadError } from '../../common/errors';
import { publicDetail } from '../api/errors';
import type { JobHandle, JobSnapshot } from './types';

export interface JobContext {
  jobId: string;
  signal: AbortSignal;
  progress(stage: JobStage, extra?: { fraction?: number; detail?: string; tokensPerSecond?: number }): void;
  token(text: string): void;
}

/** What a job resolves to. */
export type JobResult = AskResult | SummaryResult | CollectionSummaryResult | PrepareResult;

export interface JobSpec<T extends JobResult> {
  kind: JobKind;
  /**
   * Work nobody waits for (preparing documents): other jobs of its lane go ahead of it, and one
   * submitted while it runs stops it; it is queued again behind them and starts over (what it
   * stored stays, so it goes on where it was).
   */
  background?: boolean;
  documentId?: string;
  /** Jobs with the same lane (one per model) run one at a time, in submission order. */
  lane: string;
  modelId: string;
  onEvent: (e: JobEvent) => void;
  signal?: AbortSignal;
  run: (ctx: JobContext) => Promise<T>;
}

interface Job {
  id: string;
  spec: JobSpec<JobResult>;
  state: 'queued' | 'running';
  stage?: JobStage;
  controller: AbortController;
  /** A background job stopped to let another go first (not cancelled). */
  yielding?: boolean;
  settle: { resolve: (v: JobResult) => void; reject: (e: Error) => void };
}

/** The assistant's jobs: one running per lane, the rest waiting; every job can be cancelled. */
export class JobQueue {
  private readonly lanes = new Map<string, Job[]>();
  private readonly byId = new Map<string, Job>();
  private next = 1;

  submit<T extends JobResult>(spec: JobSpec<T>): JobHandle<T> {
    const id = `${spec.kind}-${this.next++}`;
    const controller = new AbortController();
    let settle!: Job['settle'];
    const result = new Promise<T>((resolve, reject) => {
      settle = { resolve: resolve as (v: JobResult) => void, reject };
    });
    const job: Job = { id, spec: spec as JobSpec<JobResult>, state: 'queued', controller, settle };
    const lane = this.lanes.get(spec.lane) ?? [];
    this.lanes.set(spec.lane, lane);
    const position = this.enqueue(lane, job);
    this.byId.set(id, job);
    spec.signal?.addEventListener('abort', () => this.cancel(id), { once: true });
    spec.onEvent({ type: 'queued', jobId: id, kind: spec.kind, position, ...(spec.documentId ? { documentId: spec.documentId } : {}) });
    if (spec.signal?.aborted) this.cancel(id);
    else if (lane.length === 1) void this.start(job);
    else if (!spec.background && lane[0]!.state === 'running' && lane[0]!.spec.background) {
      lane[0]!.yielding = true;
      lane[0]!.controller.abort();
    }
    return { jobId: id, result };
  }

  /** Puts a job in its lane: a background one last, another ahead of the queued background ones. Returns its place. */
  private enqueue(lane: Job[], job: Job): number {
    let at = lane.length;
    if (!job.spec.background) {
      // never before lane[0]: it is running (or about to start)
      const firstBackground = lane.findIndex((j, i) => i > 0 && j.spec.background);
      if (firstBackground >= 0) at = firstBackground;
    }
    lane.splice(at, 0, job);
    return at;
  }

  /** Cancels a queued or running job; false when no such job is waiting or running. */
  cancel(jobId: string): boolean {
    const job = this.byId.get(jobId);
    if (!job) return false;
    job.yielding = false;
    if (job.state === 'queued') {
      this.finish(job);
      job.spec.onEvent({ type: 'cancelled', jobId });
      job.settle.reject(new CancelledError(`The ${job.spec.kind} job`));
    } else {
      job.controller.abort();
    }
    return true;
  }

  cancelAll(): void {
    for (const id of [...this.byId.keys()]) this.cancel(id);
  }

  /** Waits until every job has ended. */
  async idle(): Promise<void> {
    while (this.byId.size > 0) await new Promise((r) => setTimeout(r, 10));
  }

  snapshot(): JobSnapshot[] {
    return [...this.lanes.values()].flat().map((j) => ({
      jobId: j.id,
      kind: j.spec.kind,
      documentId: j.spec.documentId,
      modelId: j.spec.modelId,
      state: j.state,
      ...(j.stage ? { stage: j.stage } : {}),
    }));
  }

  private async start(job: Job): Promise<void> {
    job.state = 'running';
    const { spec, id, controller } = job;
    const ctx: JobContext = {
      jobId: id,
      signal: controller.signal,
      progress: (stage, extra = {}) => {
        job.stage = stage;
        if (!controller.signal.aborted) spec.onEvent({ type: 'progress', jobId: id, stage, ...extra });
      },
      token: (text) => {
        if (!controller.signal.aborted) spec.onEvent({ type: 'token', jobId: id, text });
      },
    };
    try {
      const result = await spec.run(ctx);
      if (controller.signal.aborted) throw new CancelledError(`The ${spec.kind} job`);
      spec.onEvent({ type: 'done', jobId: id, result });
      job.settle.resolve(result);
      this.finish(job);
    } catch (e) {
      if (job.yielding) this.requeue(job);
      else {
        this.endWithError(job, e);
        this.finish(job);
      }
    }
  }

  /** A background job that made way: back in its lane behind the jobs it made way for, to start again. */
  private requeue(job: Job): void {
    job.yielding = false;
    job.state = 'queued';
    delete job.stage;
    job.controller = new AbortController();
    const lane = this.lanes.get(job.spec.lane)!;
    lane.splice(lane.indexOf(job), 1);
    const position = this.enqueue(lane, job);
    job.spec.onEvent({ type: 'queued', jobId: job.id, kind: job.spec.kind, position, ...(job.spec.documentId ? { documentId: job.spec.documentId } : {}) });
    if (lane[0]!.state === 'queued') void this.start(lane[0]!);
  }

  private endWithError(job: Job, e: unknown): void {
    const { spec, id, controller } = job;
    if (controller.signal.aborted || (e instanceof LongreadError && e.code === 'cancelled')) {
      spec.onEvent({ type: 'cancelled', jobId: id });
      job.settle.reject(e instanceof CancelledError ? e : new CancelledError(`The ${spec.kind} job`));
    } else {
      // the event reaches the page (IPC, WebSocket): of an unexpected error only its first line, without folder paths
      const err = e instanceof LongreadError ? e : new LongreadError('internal', `The ${spec.kind} job failed: ${publicDetail(e)}`, { cause: e });
      if (err.code === 'internal') console.error(`longread: ${id} failed:`, e);
      spec.onEvent({ type: 'error', jobId: id, error: err.toJSON() });
      job.settle.reject(err);
    }
  }

  private finish(job: Job): void {
    this.byId.delete(job.id);
    const lane = this.lanes.get(job.spec.lane);
    if (!lane) return;
    const wasFirst = lane[0] === job;
    lane.splice(lane.indexOf(job), 1);
    if (lane.length === 0) this.lanes.delete(job.spec.lane);
    else if (wasFirst && lane[0]!.state === 'queued') void this.start(lane[0]!);
  }
}
