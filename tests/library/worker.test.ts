import { test } from 'node:test';
import assert from 'node:assert/strict';
import { LongreadError } from '../../common/errors';
import { ingestFile } from '../../main/ingest/index';
import { ingestFileInWorker } from '../../main/ingest/worker';
import { Library } from '../../main/library/library';
import { corpus, needs, tempDir } from './helpers/corpus';

test('ingest on a worker thread gives the same document and leaves the event loop free', needs('pdf/tracemonkey.pdf', 'books/pg2701.txt'), async () => {
  const inThread = await ingestFile(corpus('pdf/tracemonkey.pdf'));
  const progress: number[] = [];
  const inWorker = await ingestFileInWorker(corpus('pdf/tracemonkey.pdf'), { onProgress: (done) => progress.push(done) });
  assert.deepEqual(inWorker, inThread);
  assert.deepEqual(progress, Array.from({ length: 14 }, (_, i) => i + 1));

  // Read on this thread, Moby-Dick holds the event loop for about 200 ms in one stretch.
  let ticks = 0;
  let longestGap = 0;
  let last = performance.now();
  const timer = setInterval(() => {
    const now = performance.now();
    longestGap = Math.max(longestGap, now - last);
    last = now;
    ticks++;
  }, 5);
  const book = await ingestFileInWorker(corpus('books/pg2701.txt'));
  clearInterval(timer);
  assert.equal(book.title, 'Moby Dick; Or, The Whale');
  assert.ok(ticks > 20, `timers kept firing (${ticks})`);
  assert.ok(longestGap < 150, `the event loop was never held long (longest gap ${longestGap.toFixed(0)} ms)`);
});

test('worker ingest: typed errors and cancellation cross the thread boundary; the library can use it', needs('bad/encrypted-attachment.pdf', 'pdf/tracemonkey.pdf', 'books/alice.epub'), async () => {
  await assert.rejects(ingestFileInWorker(corpus('bad/encrypted-attachment.pdf')), (e: unknown) => e instanceof LongreadError && e.code === 'pdf-password-required' && e.file === corpus('bad/encrypted-attachment.pdf'));
  const controller = new AbortController();
  await assert.rejects(
    ingestFileInWorker(corpus('pdf/tracemonkey.pdf'), { signal: controller.signal, onProgress: (done) => done === 2 && controller.abort() }),
    (e: unknown) => e instanceof LongreadError && e.code === 'cancelled',
  );
  const { dir, cleanup } = tempDir();
  try {
    const lib = Library.open({ home: dir });
    const added = await lib.add(corpus('books/alice.epub'), { inWorker: true, tokenCounter: { modelId: 'chars', count: (t) => t.length } });
    assert.equal(added.document.title, "Alice's Adventures in Wonderland");
    assert.deepEqual(added.tokens, { modelId: 'chars', count: lib.documents.text(added.document.id)!.length });
    lib.close();
  } finally {
    cleanup();
  }
});
