import type { CountingModel, IngestedDocument, TokenCount } from '../../common/document';
import { CancelledError, LongreadError } from '../../common/errors';
import { describeExit, interrupted, startChild, type ChildSpec, type WireError } from '../process/child-process';
import { IngestError, ingestError, type IngestErrorCode } from './errors';
import { loadSource, type IngestOptions, type SourceFile } from './index';
import type { OcrProgress } from './types';

/** How long one file may take to read before its reader is stopped: generous, a stuck parse still ends. */
export const DEFAULT_INGEST_TIMEOUT_MS = 10 * 60 * 1000;

/** The wall-clock limit in force: the option, else LONGREAD_INGEST_TIMEOUT_MS, else the default. */
export function ingestTimeoutMs(option?: number): number {
  if (option !== undefined) return option;
  const env = Number(process.env.LONGREAD_INGEST_TIMEOUT_MS);
  return Number.isFinite(env) && env > 0 ? env : DEFAULT_INGEST_TIMEOUT_MS;
}

export type IngestRequest =
  | {
      type: 'read';
      source: SourceFile;
      password?: string;
      maxBytes?: number;
      ocr?: boolean;
      countWith: CountingModel | null;
    }
  /** A stored document's text counted for a model it was not counted for yet. */
  | { type: 'count'; text: string; countWith: CountingModel };

export type IngestReply =
  | { type: 'ready' }
  | { type: 'progress'; done: number; total: number; ocr?: OcrProgress }
  | { type: 'done'; doc: IngestedDocument }
  | { type: 'counted'; tokens: TokenCount | null }
  | { type: 'error'; error: WireError };

/** The reader's entry: TypeScript through tsx in a checkout, bundled JavaScript next to main.mjs in the app. */
export const INGEST_PROCESS: ChildSpec = { entry: new URL('./ingest-process.mjs', import.meta.url), serviceName: 'Longread reader' };

/**
 * Like `ingestSource`, but the parsing runs in a process of its own (main/process/child-process.ts),
 * so the caller's event loop (the Electron main process) stays responsive, and so that stopping a
 * parse is always safe: cancelling, or the wall-clock limit (`timeoutMs`, then `ingest-timeout`),
 * kills the reader wherever it is. (A worker thread cannot be ended safely at any moment: ending one
 * while pdf.js set up a zlib stream aborts the whole process, Node's "close before init".) A crash
 * of the reader fails only this file. Tokens are counted there too when `countWith` names a model.
 */
export function ingestSourceInProcess(source: SourceFile, options: Omit<IngestOptions, 'tokenCounter'> = {}): Promise<IngestedDocument> {
  return inReader(
    { type: 'read', source, password: options.password, maxBytes: options.maxBytes, ocr: options.ocr, countWith: options.countWith ?? null },
    (m) => (m.type === 'done' ? { value: m.doc } : null),
    { file: source.path, what: 'Reading the file', doing: 'reading it' },
    options,
  );
}

/**
 * Counts a stored document's tokens for `countWith` in a reader process (a long book takes its
 * tokenizer seconds, which would hold the Electron main thread). Null when the model's tokenizer
 * cannot be loaded, as for a new document: the count stays unknown. Cancellable like a read.
 */
export function countTokensInProcess(
  text: string,
  countWith: CountingModel,
  file: string,
  options: Pick<IngestOptions, 'signal' | 'timeoutMs'> = {},
): Promise<TokenCount | null> {
  return inReader({ type: 'count', text, countWith }, (m) => (m.type === 'counted' ? { value: m.tokens } : null), { file, what: 'Counting the tokens', doing: 'counting its tokens' }, options);
}

/** Runs one request in a reader process of its own and settles with the reply `answer` picks out; the reader is killed after. */
function inReader<T>(
  request: IngestRequest,
  answer: (m: IngestReply) => { value: T } | null,
  about: { file: string; what: string; doing: string },
  options: Pick<IngestOptions, 'signal' | 'timeoutMs' | 'onProgress'>,
): Promise<T> {
  if (options.signal?.aborted) return Promise.reject(new CancelledError(about.what));
  return new Promise((resolve, reject) => {
    let settled = false;
    const finish = (fn: () => void) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      options.signal?.removeEventListener('abort', onAbort);
      child.kill();
      fn();
    };
    const child = startChild<IngestRequest, IngestReply>(INGEST_PROCESS, (m) => {
      const answered = answer(m);
      if (answered) finish(() => resolve(answered.value));
      else if (m.type === 'progress') {
        if (!settled) options.onProgress?.(m.done, m.total, m.ocr);
      } else if (m.type === 'error') finish(() => reject(revive(m.error, about.what)));
    });
    const onAbort = () => finish(() => reject(new CancelledError(about.what)));
    options.signal?.addEventListener('abort', onAbort, { once: true });
    const limit = ingestTimeoutMs(options.timeoutMs);
    const timer = setTimeout(
      () => finish(() => reject(ingestError('ingest-timeout', about.file, `${about.doing} took longer than ${describeMs(limit)}, so it was stopped. The file may be damaged or built to stall readers.`))),
      limit,
    );
    void child.exited.then((exit) =>
      finish(() =>
        reject(
          interrupted(exit)
            ? new CancelledError(about.what)
            : ingestError('ingest-failed', about.file, `the reader stopped unexpectedly (${describeExit(exit)}) before it finished; the file may be damaged.`),
        ),
      ),
    );
    child.send(request);
  });
}

export async function ingestFileInProcess(file: string, options: Omit<IngestOptions, 'tokenCounter'> = {}): Promise<IngestedDocument> {
  return ingestSourceInProcess(await loadSource(file, options.maxBytes), options);
}

function describeMs(ms: number): string {
  const [n, unit] = ms >= 60_000 ? [+(ms / 60_000).toFixed(1), 'minute'] : [+(ms / 1000).toFixed(1), 'second'];
  return `${n} ${unit}${n === 1 ? '' : 's'}`;
}

function revive(e: WireError, what: string): Error {
  if (e.code === 'cancelled') return new CancelledError(what);
  if (e.name === 'IngestError') return new IngestError(e.code as IngestErrorCode, e.message, { file: e.file });
  if (e.code === 'internal') return new Error(e.message);
  return new LongreadError(e.code, e.message, { file: e.file });
}
