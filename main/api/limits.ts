import { CancelledError, LongreadError } from '../../common/errors';

/** Jobs (questions, summaries) waiting or running at once; more are refused with `busy`. */
export const MAX_PENDING_JOBS = 16;
/** Files being read into the library at once: each holds its bytes and a parser in memory. */
export const MAX_CONCURRENT_INGESTS = 2;
/** Files waiting for an ingest slot; more are refused with `busy`. */
export const MAX_WAITING_INGESTS = 16;
/** Model imports at once: each copies gigabytes and loads the whole model in an engine process to check it. */
export const MAX_CONCURRENT_IMPORTS = 1;

export interface Limits {
  pendingJobs: number;
  concurrentIngests: number;
  waitingIngests: number;
  concurrentImports: number;
}
export const DEFAULT_LIMITS: Limits = { pendingJobs: MAX_PENDING_JOBS, concurrentIngests: MAX_CONCURRENT_INGESTS, waitingIngests: MAX_WAITING_INGESTS, concurrentImports: MAX_CONCURRENT_IMPORTS };

/**
 * At most `running` holders at once; up to `waiting` more wait their turn in order, and the
 * rest are refused with a `busy` error, so no caller can pile up unbounded work.
 */
export class Gate {
  private active = 0;
  private readonly queue: Array<() => void> = [];

  constructor(
    private readonly running: number,
    private readonly waiting: number,
    private readonly what: string,
  ) {}

  /** A slot now, or a `busy` error; the returned function gives it back (once). */
  tryEnter(): () => void {
    if (this.active >= this.running) throw this.busy();
    this.active++;
    return this.releaser();
  }

  /** A slot, waiting for one when all are taken; `signal` stops the wait with `cancelled`. */
  async enter(signal?: AbortSignal): Promise<() => void> {
    if (signal?.aborted) throw new CancelledError(this.what);
    if (this.active < this.running) {
      this.active++;
      return this.releaser();
    }
    if (this.queue.length >= this.waiting) throw this.busy();
    await new Promise<void>((resolve, reject) => {
      const wake = () => {
        signal?.removeEventListener('abort', abort);
        resolve();
      };
      const abort = () => {
        const i = this.queue.indexOf(wake);
        if (i >= 0) this.queue.splice(i, 1);
        reject(new CancelledError(this.what));
      };
      this.queue.push(wake);
      signal?.addEventListener('abort', abort, { once: true });
    });
    return this.releaser();
  }

  get held(): number {
    return this.active;
  }

  private releaser(): () => void {
    let done = false;
    return () => {
      if (done) return;
      done = true;
      const next = this.queue.shift();
      if (next) next(); // the slot passes straight to the next waiter
      else this.active--;
    };
  }

  private busy(): LongreadError {
    return new LongreadError('busy', `Longread is busy: too many ${this.what} at once (at most ${this.running}${this.waiting ? ` running and ${this.waiting} waiting` : ''}). Try again when some have finished.`);
  }
}
