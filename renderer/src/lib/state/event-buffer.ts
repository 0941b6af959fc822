import type { JobEvent } from '../../../../common/api';

/**
 * Holds job events whose job is not known yet: the server may send a job's `queued` (even its
 * `done`, for a cached answer) before the call that started it answers with the id
 * (`main/server/wire.md`). `take` hands them over in arrival order. Bounded: past `limit`
 * waiting events the oldest job's events are dropped (events of jobs started elsewhere).
 */
export class JobEventBuffer {
  private readonly byJob = new Map<string, JobEvent[]>();
  private count = 0;

  constructor(private readonly limit = 2000) {}

  hold(event: JobEvent): void {
    while (this.count >= this.limit && this.byJob.size > 0) {
      const [oldest, events] = this.byJob.entries().next().value as [string, JobEvent[]];
      this.byJob.delete(oldest);
      this.count -= events.length;
    }
    const queue = this.byJob.get(event.jobId);
    if (queue) queue.push(event);
    else this.byJob.set(event.jobId, [event]);
    this.count++;
  }

  take(jobId: string): JobEvent[] {
    const events = this.byJob.get(jobId) ?? [];
    this.byJob.delete(jobId);
    this.count -= events.length;
    return events;
  }

  get size(): number {
    return this.count;
  }
}
