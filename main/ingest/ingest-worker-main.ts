// Runs inside the ingest worker thread (see worker.ts): reads one source, posts progress,
// then the document or the error. An 'abort' message cancels between pages.
import { parentPort, workerData } from 'node:worker_threads';
import type { CountingModel } from '../../common/document';
import { LongreadError } from '../../common/errors';
import { ingestSource, type SourceFile } from './index';

const { source, password, maxBytes, countWith } = workerData as { source: SourceFile; password?: string; maxBytes?: number; countWith: CountingModel | null };
const controller = new AbortController();
parentPort!.on('message', (m: { type: string }) => {
  if (m.type === 'abort') controller.abort();
});

try {
  const doc = await ingestSource(source, {
    password,
    maxBytes,
    countWith,
    signal: controller.signal,
    onProgress: (done, total) => parentPort!.postMessage({ type: 'progress', done, total }),
  });
  parentPort!.postMessage({ type: 'done', doc });
} catch (e) {
  parentPort!.postMessage({
    type: 'error',
    error:
      e instanceof LongreadError
        ? { code: e.code, message: e.message, file: e.file, name: e.name }
        : // the message only: a stack names source paths and must not reach the page
          { code: 'internal', message: e instanceof Error ? `${e.name}: ${e.message}` : String(e), name: 'Error' },
  });
}
parentPort!.close();
