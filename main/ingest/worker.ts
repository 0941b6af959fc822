import { Worker } from 'node:worker_threads';
import type { IngestedDocument } from '../../common/document';
import { CancelledError, LongreadError } from '../../common/errors';
import { IngestError, ingestError, type IngestErrorCode } from './errors';
import { loadSource, type IngestOptions, type SourceFile } from './index';

/** How long one file may take to read before the worker is stopped: generous, a stuck parse still ends. */
export const DEFAULT_INGEST_TIMEOUT_MS = 10 * 60 * 1000;

/** The wall-clock limit in force: the option, else LONGREAD_INGEST_TIMEOUT_MS, else the default. */
export function ingestTimeoutMs(option?: number): number {
  if (option !== undefined) return option;
  const env = Number(process.env.LONGREAD_INGEST_TIMEOUT_MS);
  return Number.isFinite(env) && env > 0 ? env : DEFAULT_INGEST_TIMEOUT_MS;
}

type WorkerMessage =
  | { type: 'progress'; done: number; total: number }
  | { type: 'done'; doc: IngestedDocument }
  | { type: 'error'; error: { code: string; message: string; file?: string; name: string } };

/**
 * Like `ingestSource`, but the parsing runs on a worker thread so the caller's event loop
 * (the Electron main process) stays responsive. The file's bytes are moved to the worker,
 * not copied. Tokens are counted there too when `countWith` names a model (a tokenizer object
 * cannot cross threads, its folder can). Cancelling terminates the worker at once, wherever
 * the parse is; so does the wall-clock limit (`timeoutMs`), with `ingest-timeout`.
 */
export function ingestSourceInWorker(source: SourceFile, options: Omit<IngestOptions, 'tokenCounter'> = {}): Promise<IngestedDocument> {
  if (options.signal?.aborted) return Promise.reject(new CancelledError('Reading the file'));
  const bytes = new Uint8Array(source.bytes); // own copy: its buffer is transferred
  return new Promise((resolve, reject) => {
    const worker = new Worker(new URL('./ingest-worker.mjs', import.meta.url), {
      workerData: { source: { ...source, bytes }, password: options.password, maxBytes: options.maxBytes, countWith: options.countWith ?? null },
      transferList: [bytes.buffer as ArrayBuffer],
    });
    let settled = false;
    const finish = (fn: () => void) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      options.signal?.removeEventListener('abort', onAbort);
      fn();
    };
    const stop = (error: Error) => {
      finish(() => reject(error));
      void worker.terminate();
    };
    const onAbort = () => stop(new CancelledError('Reading the file'));
    options.signal?.addEventListener('abort', onAbort, { once: true });
    const limit = ingestTimeoutMs(options.timeoutMs);
    const timer = setTimeout(
      () => stop(ingestError('ingest-timeout', source.path, `reading it took longer than ${describeMs(limit)}, so it was stopped. The file may be damaged or built to stall readers.`)),
      limit,
    );
    worker.on('message', (m: WorkerMessage) => {
      if (m.type === 'progress') options.onProgress?.(m.done, m.total);
      else if (m.type === 'done') finish(() => resolve(m.doc));
      else finish(() => reject(revive(m.error)));
    });
    worker.on('error', (e) => finish(() => reject(e)));
    worker.on('exit', (code) => finish(() => reject(new LongreadError('ingest-failed', `The reader stopped unexpectedly (exit code ${code}).`))));
  });
}

export async function ingestFileInWorker(file: string, options: Omit<IngestOptions, 'tokenCounter'> = {}): Promise<IngestedDocument> {
  return ingestSourceInWorker(await loadSource(file, options.maxBytes), options);
}

function describeMs(ms: number): string {
  const [n, unit] = ms >= 60_000 ? [+(ms / 60_000).toFixed(1), 'minute'] : [+(ms / 1000).toFixed(1), 'second'];
  return `${n} ${unit}${n === 1 ? '' : 's'}`;
}

function revive(e: { code: string; message: string; file?: string; name: string }): Error {
  if (e.code === 'cancelled') return new CancelledError('Reading the file');
  if (e.name === 'IngestError') return new IngestError(e.code as IngestErrorCode, e.message, { file: e.file });
  if (e.code === 'internal') return new Error(e.message);
  return new LongreadError(e.code, e.message, { file: e.file });
}
