import type { AskResult, CollectionSummaryResult, JobEvent, JobKind, JobStage, SummaryResult } from '../../common/api';
import { CancelledError, LongreadError } from '../../common/errors';
import type { JobHandle, JobSnapshot } from './types';

/** What a job resolves to. */
export type JobResult = AskResult | SummaryResult | CollectionSummaryResult;

export interface JobContext {
  jobId: string;
  signal: AbortSignal;
  progress(stage: JobStage, extra?: { fraction?: number; detail?: string; tokensPerSecond?: number }): void;
  token(text: string): void;
}

export interface JobSpec<T extends JobResult> {
  kind: JobKind;
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
    lane.push(job);
    this.byId.set(id, job);
    spec.signal?.addEventListener('abort', () => this.cancel(id), { once: true });
    spec.onEvent({ type: 'queued', jobId: id, kind: spec.kind, position: lane.length - 1 });
    if (spec.signal?.aborted) this.cancel(id);
    else if (lane.length === 1) void this.start(job);
    return { jobId: id, result };
  }

  /** Cancels a queued or running job; false when no such job is waiting or running. */
  cancel(jobId: string): boolean {
    const job = this.byId.get(jobId);
    if (!job) return false;
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
      this.endWithError(job, e);
      this.finish(job);
    }
  }

  private endWithError(job: Job, e: unknown): void {
    const { spec, id, controller } = job;
    if (controller.signal.aborted || (e instanceof LongreadError && e.code === 'cancelled')) {
      spec.onEvent({ type: 'cancelled', jobId: id });
      job.settle.reject(e instanceof CancelledError ? e : new CancelledError(`The ${spec.kind} job`));
    } else {
      const err = e instanceof LongreadError ? e : new LongreadError('internal', `The ${spec.kind} job failed: ${e instanceof Error ? e.message : String(e)}`, { cause: e });
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
