/**
 * The one typed error every layer throws for problems a user can act on.
 * `code` is stable (scripts and the UI switch on it); `message` is written for people and
 * names the file and the problem; `file` is the path concerned, when there is one.
 */
export class LongreadError extends Error {
  readonly code: string;
  readonly file?: string;

  constructor(code: string, message: string, options: { file?: string; cause?: unknown } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'LongreadError';
    this.code = code;
    this.file = options.file;
  }

  toJSON(): { code: string; message: string; file?: string } {
    return this.file === undefined
      ? { code: this.code, message: this.message }
      : { code: this.code, message: this.message, file: this.file };
  }
}

/** Thrown when an AbortSignal stops a long job; callers treat it as a clean cancel, not a failure. */
export class CancelledError extends LongreadError {
  constructor(what = 'The job') {
    super('cancelled', `${what} was cancelled.`);
    this.name = 'CancelledError';
  }
}

export function throwIfAborted(signal: AbortSignal | undefined, what?: string): void {
  if (signal?.aborted) throw new CancelledError(what);
}

export function isLongreadError(e: unknown): e is LongreadError {
  return e instanceof LongreadError;
}
