import { test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { LongreadError } from '../../common/errors';
import { ingestFile } from '../../main/ingest/index';
import { ingestFileInProcess } from '../../main/ingest/ingest-process';
import { Library } from '../../main/library/library';
import { loadTokenizer } from '../../engine/tokenizer';
import { procAvailable, readerProcesses, until } from '../helpers/engine-processes';
import { tinyModelDir } from '../helpers/tiny-model';
import { corpus, needs, tempDir } from './helpers/corpus';

test('ingest in a reader process gives the same document and leaves the event loop free', needs('pdf/tracemonkey.pdf', 'books/pg2701.txt'), async () => {
  const inThread = await ingestFile(corpus('pdf/tracemonkey.pdf'));
  const progress: number[] = [];
  const inOwnProcess = await ingestFileInProcess(corpus('pdf/tracemonkey.pdf'), { onProgress: (done) => progress.push(done) });
  assert.deepEqual(inOwnProcess, inThread);
  assert.deepEqual(progress, Array.from({ length: 14 }, (_, i) => i + 1));

  // The longest stretch this thread's timers could not run, reading the book on this thread and in a reader process.
  const longestGap = async (read: () => Promise<{ title: string }>) => {
    let gap = 0;
    let last = performance.now();
    const timer = setInterval(() => {
      const now = performance.now();
      gap = Math.max(gap, now - last);
      last = now;
    }, 5);
    const book = await read();
    clearInterval(timer);
    assert.equal(book.title, 'Moby Dick; Or, The Whale');
    return Math.max(gap, performance.now() - last);
  };
  const onThisThread = await longestGap(() => ingestFile(corpus('books/pg2701.txt')));
  const inReader = await longestGap(() => ingestFileInProcess(corpus('books/pg2701.txt')));
  assert.ok(inReader < onThisThread / 2, `the reader process holds the event loop less (longest gap ${inReader.toFixed(0)} ms, on this thread ${onThisThread.toFixed(0)} ms)`);
});

test('reader process: typed errors and cancellation cross the process boundary; the library can use it', needs('bad/encrypted-attachment.pdf', 'pdf/tracemonkey.pdf', 'books/alice.epub'), async () => {
  await assert.rejects(ingestFileInProcess(corpus('bad/encrypted-attachment.pdf')), (e: unknown) => e instanceof LongreadError && e.code === 'pdf-password-required' && e.file === corpus('bad/encrypted-attachment.pdf'));
  const controller = new AbortController();
  await assert.rejects(
    ingestFileInProcess(corpus('pdf/tracemonkey.pdf'), { signal: controller.signal, onProgress: (done) => done === 2 && controller.abort() }),
    (e: unknown) => e instanceof LongreadError && e.code === 'cancelled',
  );
  const { dir, cleanup } = tempDir();
  try {
    const lib = Library.open({ home: dir });
    const added = await lib.add(corpus('books/alice.epub'), { inOwnProcess: true, tokenCounter: { modelId: 'chars', count: (t) => t.length } });
    assert.equal(added.document.title, "Alice's Adventures in Wonderland");
    assert.deepEqual(added.tokens, { modelId: 'chars', count: lib.documents.text(added.document.id)!.length });
    // counted on the worker with a model's own tokenizer (by folder), stored for that model
    const model = await tinyModelDir();
    const tokenizer = await loadTokenizer(model);
    const pdf = await lib.add(corpus('pdf/tracemonkey.pdf'), { inOwnProcess: true, countWith: { modelId: 'tiny', dir: model } });
    const expected = tokenizer.encode(lib.documents.text(pdf.document.id)!, { addEos: false }).length;
    assert.ok(expected > 10_000);
    assert.deepEqual(pdf.tokens, { modelId: 'tiny', count: expected });
    assert.deepEqual(lib.documents.tokenCount(pdf.document.id, 'tiny'), { modelId: 'tiny', count: expected });
    // a document stored before the model was known is counted when it is added again
    const again = await lib.add(corpus('books/alice.epub'), { inOwnProcess: true, countWith: { modelId: 'tiny', dir: model } });
    assert.equal(again.status, 'existing');
    assert.deepEqual(again.tokens, { modelId: 'tiny', count: tokenizer.encode(lib.documents.text(again.document.id)!, { addEos: false }).length });
    lib.close();
  } finally {
    cleanup();
  }
});

test('a stored document added again with a new model is counted in a reader process, cancellably, not on this thread', { skip: procAvailable ? false : 'needs /proc to see the reader process' }, async () => {
  const { dir, cleanup } = tempDir();
  try {
    const words = ['whale', 'ship', 'captain', 'sea', 'harpoon', 'Ishmael', 'voyage', 'storm', 'deck', 'sail'];
    const file = path.join(dir, 'long.txt');
    writeFileSync(file, Array.from({ length: 150_000 }, (_, i) => words[(i * 7) % words.length] + (i % 13 === 0 ? '.\n' : ' ')).join(''));
    const lib = Library.open({ home: path.join(dir, 'home') });
    const stored = await lib.add(file); // no model yet: no count
    assert.equal(stored.tokens, null);
    const model = await tinyModelDir();
    const countWith = { modelId: 'tiny', dir: model };

    // cancelled while the reader process counts: the call ends cancelled, that reader is gone, nothing is stored
    const controller = new AbortController();
    const cancelled = lib.add(file, { inOwnProcess: true, countWith, signal: controller.signal });
    let settled = false;
    void cancelled.then(() => (settled = true), () => (settled = true));
    await until(() => settled || readerProcesses().length === 1, 'a reader process counts the tokens');
    assert.equal(settled, false, 'the add waited for a reader process');
    controller.abort();
    await assert.rejects(cancelled, (e: unknown) => e instanceof LongreadError && e.code === 'cancelled');
    await until(() => readerProcesses().length === 0, 'the reader process has ended');
    assert.equal(lib.documents.tokenCount(stored.document.id, 'tiny'), null);

    // counted there in full: the model's tokenizer on the whole text, stored for that model
    const again = await lib.add(file, { inOwnProcess: true, countWith });
    const tokenizer = await loadTokenizer(model);
    const expected = { modelId: 'tiny', count: tokenizer.encode(lib.documents.text(stored.document.id)!, { addEos: false }).length };
    assert.equal(again.status, 'existing');
    assert.ok(expected.count > 100_000, String(expected.count));
    assert.deepEqual(again.tokens, expected);
    assert.deepEqual(lib.documents.tokenCount(stored.document.id, 'tiny'), expected);
    lib.close();
  } finally {
    cleanup();
  }
});
