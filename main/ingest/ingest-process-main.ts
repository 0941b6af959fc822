// The reader process (see ingest-process.ts): reads the one source it is sent, posts progress,
// then the document or the error. The parent kills it once it has the answer.
import { parentLink, toWireError } from '../process/child-link';
import type { IngestReply, IngestRequest } from './ingest-process';
import { ingestSource } from './index';

const link = parentLink<IngestRequest, IngestReply>();
let started = false;
link.onMessage((m) => {
  if (m.type !== 'read' || started) return;
  started = true;
  void read(m);
});
link.post({ type: 'ready' });

async function read({ source, password, maxBytes, ocr, countWith }: IngestRequest): Promise<void> {
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
