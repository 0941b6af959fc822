import assert from 'node:assert/strict';
import { after, test } from 'node:test';
import type { JobEvent } from '../../common/api';
import { JobQueue } from '../../main/assistant/job-queue';
import { book, cleanupAll, needsBook, openTiny, recorder } from './helpers';

after(cleanupAll);

const BOOK = 'books/pg84.txt'; // Frankenstein: about 100K tokens of the tiny model, over the limit below
const LIMIT = 16_384;
const QUESTIONS = ['Who was Beaufort?', 'Where did Elizabeth Lavenza grow up?', 'What did Victor study at Ingolstadt?'];

test('a prepared book: every question, whichever windows it reads, finds its local-layer states, and answers as without', needsBook(BOOK), async () => {
  const o = await openTiny({ maxDocumentTokens: LIMIT, confidentAt: 0 });
  const docId = (await o.library.add(book(BOOK)!)).document.id;
  assert.deepEqual(o.assistant.readiness([docId]).ready, [], 'not ready before');
  const rec = recorder();
  const prepared = await o.assistant.prepare({ documentId: docId }, rec.on).result;
  assert.equal(prepared.alreadyStored, 0);
  assert.ok(prepared.segments >= Math.ceil(100_000 / 512), `${prepared.segments} segments`);
  assert.ok(rec.events.some((e) => e.type === 'progress' && e.stage === 'encoding' && (e.fraction ?? 0) > 0), 'progress while preparing');
  const readiness = o.assistant.readiness([docId, 'f'.repeat(64)]);
  assert.deepEqual(readiness.ready, [docId]);
  assert.ok(readiness.storeBytes > 0 && readiness.storeBytes <= readiness.capBytes);
  const again = await o.assistant.prepare({ documentId: docId }, () => {}).result;
  assert.equal(again.alreadyStored, again.segments, 'a second run finds everything');
  assert.equal(o.library.engineState.totalBytes(), readiness.storeBytes, 'and stores nothing new');

  const fresh = await openTiny({ maxDocumentTokens: LIMIT, confidentAt: 0 });
  const freshDoc = (await fresh.library.add(book(BOOK)!)).document.id;
  for (const question of QUESTIONS) {
    const r = await o.assistant.ask({ documentId: docId, question }, () => {}).result;
    assert.ok(r.read.windows.length >= 1 && !r.read.whole, `${question}: the book is over the limit, windows are read`);
    assert.equal(r.engine!.localCacheHit, true, `${question}: the local layers were skipped`);
    const f = await fresh.assistant.ask({ documentId: freshDoc, question }, () => {}).result;
    assert.equal(f.engine!.localCacheHit, false);
    assert.deepEqual(f.read, r.read);
    assert.equal(f.engine!.encoderHash, r.engine!.encoderHash, `${question}: the encoder output is bit-identical`);
    assert.equal(f.answer, r.answer);
    assert.deepEqual(f.citations, r.citations);
  }
});

test('a question asked while a book is being prepared is answered; the preparation then completes; removing the book removes its states', needsBook(BOOK), async () => {
  const o = await openTiny({ maxDocumentTokens: LIMIT, confidentAt: 0 });
  const docId = (await o.library.add(book(BOOK)!)).document.id;
  const events: JobEvent[] = [];
  const preparing = o.assistant.prepare({ documentId: docId }, (e) => events.push(e));
  // wait until it runs, then ask: the question must not wait for the whole preparation
  while (!events.some((e) => e.type === 'progress' && e.stage === 'encoding')) await new Promise((r) => setTimeout(r, 5));
  const asked = o.assistant.ask({ documentId: docId, question: QUESTIONS[0]! }, (e) => events.push(e));
  const answer = await asked.result;
  const prepared = await preparing.result;
  assert.ok(answer.citations.length > 0);
  assert.ok(prepared.segments > 0);
  assert.ok(!events.some((e) => e.jobId === preparing.jobId && (e.type === 'error' || e.type === 'cancelled')));
  assert.deepEqual(o.assistant.readiness([docId]).ready, [docId]);
  o.library.remove(docId);
  assert.equal(o.library.engineState.totalBytes(), 0);
});

test('job queue: background jobs wait behind others and make way for one submitted while they run; cancelling one that made way ends it', async () => {
  const q = new JobQueue();
  const log: string[] = [];
  let runs = 0;
  const background = q.submit({
    kind: 'prepare',
    lane: 'm',
    modelId: 'm',
    background: true,
    onEvent: (e) => log.push(`bg:${e.type}`),
    run: async (ctx) => {
      runs++;
      await new Promise<void>((resolve, reject) => {
        const t = setTimeout(resolve, runs === 1 ? 5000 : 10);
        ctx.signal.addEventListener('abort', () => {
          clearTimeout(t);
          reject(new Error('stopped'));
        });
      });
      return { documentId: 'd', model: 'm', segments: 1, alreadyStored: 0, ms: 0 };
    },
  });
  await new Promise((r) => setTimeout(r, 20));
  const ask = q.submit({ kind: 'summarize', lane: 'm', modelId: 'm', onEvent: (e) => log.push(`fg:${e.type}`), run: async () => ({ summary: 's', kind: 'extractive', sections: [], sources: [], model: 'm', cached: false }) as never });
  await ask.result;
  const done = await background.result;
  assert.equal(done.segments, 1);
  assert.equal(runs, 2, 'the background job ran again after the other');
  assert.ok(log.indexOf('fg:done') < log.indexOf('bg:done'));
  assert.ok(!log.includes('bg:cancelled') && !log.includes('bg:error'), 'making way is neither a cancel nor an error');

  const untilAborted = (signal: AbortSignal, ms: number) =>
    new Promise<void>((resolve, reject) => {
      const t = setTimeout(resolve, ms);
      signal.addEventListener('abort', () => {
        clearTimeout(t);
        reject(new Error('stopped'));
      });
    });
  const bg2 = q.submit({ kind: 'prepare', lane: 'm', modelId: 'm', background: true, onEvent: () => {}, run: (ctx) => untilAborted(ctx.signal, 5000) as never });
  await new Promise((r) => setTimeout(r, 20));
  const fg2 = q.submit({ kind: 'summarize', lane: 'm', modelId: 'm', onEvent: () => {}, run: (ctx) => untilAborted(ctx.signal, 200).then(() => ({}) as never) });
  await new Promise((r) => setTimeout(r, 20));
  assert.deepEqual(q.snapshot().map((j) => [j.kind, j.state]), [['summarize', 'running'], ['prepare', 'queued']], 'it made way and waits');
  assert.equal(q.cancel(bg2.jobId), true);
  await assert.rejects(bg2.result, (e: unknown) => (e as { code?: string }).code === 'cancelled');
  await fg2.result;
});
