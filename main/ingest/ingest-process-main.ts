// The reader process (see ingest-process.ts): reads the one source it is sent (or counts the one
// text), posts progress, then the document (the count) or the error. The parent kills it once it
// has the answer.
import { parentLink, toWireError } from '../process/child-link';
import type { IngestReply, IngestRequest } from './ingest-process';
import { ingestSource } from './index';
import { tokenCounterOrNull } from './token-counter';

const link = parentLink<IngestRequest, IngestReply>();
let started = false;
link.onMessage((m) => {
  if (started || (m.type !== 'read' && m.type !== 'count')) return;
  started = true;
  if (m.type === 'read') void read(m);
  else void count(m);
});
link.post({ type: 'ready' });

async function read({ source, password, maxBytes, ocr, countWith }: Extract<IngestRequest, { type: 'read' }>): Promise<void> {
  try {
    const doc = await ingestSource(source, {
      password,
      maxBytes,
      ocr,
      countWith,
      onProgress: (done, total, ocrProgress) => link.post({ type: 'progress', done, total, ...(ocrProgress ? { ocr: ocrProgress } : {}) }),
    });
    link.post({ type: 'done', doc });
  } catch (e) {
    link.post({ type: 'error', error: toWireError(e) });
  }
}

async function count({ text, countWith }: Extract<IngestRequest, { type: 'count' }>): Promise<void> {
  try {
    const counter = await tokenCounterOrNull(countWith);
    link.post({ type: 'counted', tokens: counter ? { modelId: counter.modelId, count: counter.count(text) } : null });
  } catch (e) {
    link.post({ type: 'error', error: toWireError(e) });
  }
}
