import type { AskResult, CollectionSummaryResult, ErrorBody, JobEvent, JobKind, JobStage, PrepareResult, SummaryResult } from '../../../../common/api';
import { JobEventBuffer } from './event-buffer';

export interface JobView {
  jobId: string;
  kind: JobKind;
  label: string;
  documentId?: string;
  state: 'queued' | 'running' | 'done' | 'error' | 'cancelled';
  position?: number;
  stage?: JobStage;
  fraction?: number;
  detail?: string;
  tokensPerSecond?: number;
  /** Text streamed so far by `token` events. */
  text: string;
}

export interface JobHandlers {
  onToken?(text: string, all: string): void;
  onDone?(result: AskResult | SummaryResult | CollectionSummaryResult | PrepareResult): void;
  onError?(error: ErrorBody): void;
  onCancelled?(): void;
}

/**
 * Tracks the assistant's jobs from their events. A job's first events can arrive before the
 * call that started it answers with its id, so events of unknown jobs wait in a buffer.
 */
export class Jobs {
  list = $state<JobView[]>([]);
  private handlers = new Map<string, JobHandlers>();
  private readonly early = new JobEventBuffer();

  /** Registers a job just started; replays its early events. */
  track(jobId: string, kind: JobKind, label: string, documentId: string | undefined, handlers: JobHandlers): void {
    // ids restart when the assistant is reopened (settings changed): a finished namesake leaves at once
    this.list = [...this.list.filter((j) => j.jobId !== jobId), { jobId, kind, label, documentId, state: 'queued', text: '' }];
    this.handlers.set(jobId, handlers);
    for (const e of this.early.take(jobId)) this.apply(e);
  }

  isTracked(jobId: string): boolean {
    return this.handlers.has(jobId);
  }

  handle(event: JobEvent): void {
    if (this.handlers.has(event.jobId)) this.apply(event);
    else this.early.hold(event);
  }

  get active(): JobView[] {
    return this.list.filter((j) => j.state === 'queued' || j.state === 'running');
  }

  private update(jobId: string, change: Partial<JobView>): JobView | undefined {
    let updated: JobView | undefined;
    this.list = this.list.map((j) => (j.jobId === jobId ? (updated = { ...j, ...change }) : j));
    return updated;
  }

  private finish(jobId: string, state: JobView['state']): void {
    this.update(jobId, { state });
    this.handlers.delete(jobId);
    // finished jobs leave the progress tray shortly after
    const finished = this.list.find((j) => j.jobId === jobId);
    setTimeout(() => (this.list = this.list.filter((j) => j.jobId !== jobId || j.state !== finished?.state || j.label !== finished.label)), state === 'done' ? 800 : 2500);
  }

  private apply(event: JobEvent): void {
    const h = this.handlers.get(event.jobId);
    switch (event.type) {
      case 'queued':
        this.update(event.jobId, { state: 'queued', position: event.position });
        break;
      case 'progress':
        this.update(event.jobId, {
          state: 'running',
          stage: event.stage,
          fraction: event.fraction,
          detail: event.detail,
          ...(event.tokensPerSecond !== undefined ? { tokensPerSecond: event.tokensPerSecond } : {}),
        });
        break;
      case 'token': {
        const job = this.list.find((j) => j.jobId === event.jobId);
        const all = (job?.text ?? '') + event.text;
        this.update(event.jobId, { state: 'running', stage: job?.stage ?? 'generating', text: all });
        h?.onToken?.(event.text, all);
        break;
      }
      case 'done':
        this.finish(event.jobId, 'done');
        h?.onDone?.(event.result);
        break;
      case 'error':
        this.finish(event.jobId, 'error');
        h?.onError?.(event.error);
        break;
      case 'cancelled':
        this.finish(event.jobId, 'cancelled');
        h?.onCancelled?.();
        break;
    }
  }
}

export const STAGE_LABELS: Record<JobStage, string> = {
  queued: 'Waiting',
  'loading-model': 'Loading the model',
  reading: 'Reading the document',
  tokenizing: 'Tokenizing',
  encoding: 'Encoding',
  generating: 'Writing the answer',
  summarizing: 'Summarizing',
};
