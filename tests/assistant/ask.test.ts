import assert from 'node:assert/strict';
import { readdirSync } from 'node:fs';
import { after, test } from 'node:test';
import { CancelledError } from '../../common/errors';
import { quoteOf } from '../../main/assistant/text-ranges';
import type { AskOutcome } from '../../main/assistant/types';
import { book, cleanupAll, needsBook, openTiny, recorder, waitFor, type Opened } from './helpers';

after(cleanupAll);

const BOOK = 'books/pg84.txt';
const LIMIT = 32_768;

/** Frankenstein in a library with the tiny model; one assistant shared by the tests in order. */
let shared: Promise<{ o: Opened; docId: string }> | null = null;
function setup() {
  shared ??= (async () => {
    // every answer shown, whatever its confidence: these tests are about how answers are made
    const o = await openTiny({ maxDocumentTokens: LIMIT, confidentAt: 0 });
    const added = await o.library.add(book(BOOK)!);
    return { o, docId: added.document.id };
  })();
  return shared;
}

function assertCitationsConsistent(o: Opened, docId: string, r: AskOutcome) {
  const doc = o.library.documents.load(docId)!;
  assert.ok(r.citations.length > 0, 'the evidence gives citations');
  for (const c of r.citations) {
    assert.equal(c.documentId, docId);
    assert.ok(c.start >= 0 && c.start < c.end && c.end <= doc.text.length, `range ${c.start}–${c.end} inside the text`);
    assert.equal(c.quote, quoteOf(doc.text, c.start, c.end));
    assert.ok(c.quote.length > 0 && c.quote.length <= 1400);
    const inWindow = r.read.windows.some((w) => c.start < w.endChar + 400 && c.end > w.startChar - 400);
    assert.ok(inWindow, `citation ${c.start}–${c.end} lies in a window that was read`);
    const page = doc.pages.find((p) => p.number === c.page)!;
    assert.ok(page && page.start <= c.start && c.start < page.end, 'the page holds the citation');
    if (c.section) {
      const s = doc.sections[c.section.index]!;
      assert.equal(s.title, c.section.title);
      assert.ok(s.start <= c.start && c.start < s.end, 'the section holds the citation');
    }
  }
  const scores = r.citations.map((c) => c.score);
  assert.deepEqual(scores, [...scores].sort((a, b) => b - a), 'best first');
}

test('a long book end to end: ingest, ask over the limit (windows chosen by full-text search), streamed tokens, citations', needsBook(BOOK), async () => {
  const { o, docId } = await setup();
  const rec = recorder();
  const job = o.assistant.ask({ documentId: docId, question: 'What did Victor Frankenstein create in his laboratory?' }, rec.on);
  const r = await job.result;
  assert.equal(rec.tokens(), r.answer, 'the streamed tokens are the answer');
  assert.ok(r.answer.length > 0);
  const flat = (t: string) => t.replace(/\s+/g, ' ').trim();
  const text = o.library.documents.load(docId)!.text;
  const read = r.read.windows.map((w) => flat(text.slice(w.startChar, w.endChar))).join(' ');
  assert.ok(read.includes(flat(r.answer)), `the answer "${r.answer}" is a quote of the text read`);
  // the bundled model answers from the passages VCC ranked highest, which are among the citations
  assert.equal(r.answeredFrom, 'passages');
  assert.ok(
    rec.events.some((e) => e.type === 'progress' && e.detail === 'checking the answer against the question'),
    'the answer is checked against the question with its content words taken away',
  );
  assert.ok(r.confidence >= 0 && r.confidence <= 1);
  const cited = [...r.citations].sort((a, b) => a.start - b.start).map((c) => flat(c.quote)).join(' ');
  assert.ok(cited.includes(flat(r.answer)), `the answer "${r.answer}" is a quote of the cited passages`);
  assert.equal(r.cached, false);
  assert.equal(r.model, 'default');
  assert.ok(r.documentTokens > LIMIT, `Frankenstein is over the limit (${r.documentTokens} tokens)`);
  assert.equal(r.read.whole, false);
  assert.match(r.read.note!, /over the limit of 32,768; read .*full-text search found .*victor/);
  const readTokens = r.read.windows.reduce((a, w) => a + w.endToken - w.startToken, 0);
  assert.ok(readTokens <= LIMIT - 1 && readTokens > LIMIT * 0.9, `the windows fill the budget (${readTokens})`);
  assert.equal(r.read.startToken, r.read.windows[0]!.startToken);
  assert.equal(r.read.endToken, r.read.windows.at(-1)!.endToken);
  // every window holds a page where one of the question's words occurs
  const doc = o.library.documents.load(docId)!;
  for (const w of r.read.windows) {
    const text = doc.text.slice(w.startChar, w.endChar).toLowerCase();
    assert.ok(['victor', 'frankenstein', 'laboratory', 'create'].some((t) => text.includes(t)));
  }
  assertCitationsConsistent(o, docId, r);
  const stages = rec.events.filter((e) => e.type === 'progress').map((e) => (e as { stage: string }).stage);
  for (const s of ['loading-model', 'tokenizing', 'reading', 'encoding', 'generating']) assert.ok(stages.includes(s), `progress reports ${s}`);
  const encoding = rec.events.filter((e) => e.type === 'progress' && e.stage === 'encoding').map((e) => (e as { fraction?: number }).fraction ?? 0);
  assert.ok(encoding.some((f) => f > 0 && f < 1), 'per-layer encoding fractions');
  assert.equal(encoding.at(-1), 1);
  assert.ok(rec.events.some((e) => e.type === 'progress' && e.stage === 'generating' && typeof e.tokensPerSecond === 'number'));
  assert.equal(rec.events.at(-1)!.type, 'done');
  // the chat holds the question and the answer with its citations
  const messages = o.library.chats.messages(Number(r.chatId));
  assert.deepEqual(messages.map((m) => m.role), ['user', 'assistant']);
  assert.equal(messages[1]!.content, r.answer);
  assert.deepEqual((messages[1]!.meta as { citations: unknown }).citations, r.citations);
  // the token count is now known for this model
  assert.equal(o.library.documents.tokenCount(docId, 'default')!.count, r.documentTokens);
});

test('the same question again comes from the answer cache at once; a follow-up in the chat keeps the history', needsBook(BOOK), async () => {
  const { o, docId } = await setup();
  const first = await o.assistant.ask({ documentId: docId, question: 'What did Victor Frankenstein create in his laboratory?' }, () => {}).result;
  const rec = recorder();
  const t0 = performance.now();
  const again = await o.assistant.ask({ documentId: docId, question: '  what did victor frankenstein create in his laboratory ', chatId: first.chatId }, rec.on).result;
  const ms = performance.now() - t0;
  assert.equal(again.cached, true);
  assert.ok(ms < 300, `a cache hit is instant (${ms.toFixed(0)} ms)`);
  assert.equal(again.answer, first.answer);
  assert.deepEqual(again.citations, first.citations);
  assert.deepEqual(again.read, first.read);
  assert.equal(rec.tokens(), again.answer, 'a cached answer still arrives as a token event');
  assert.equal(again.chatId, first.chatId);
  const messages = o.library.chats.messages(Number(first.chatId));
  assert.deepEqual(messages.map((m) => m.role), ['user', 'assistant', 'user', 'assistant']);
  assert.equal((messages[3]!.meta as { cached: boolean }).cached, true);
});

test('a different question on the same text reuses the local-layer states, bit-identical to a fresh assistant', needsBook(BOOK), async () => {
  const { o, docId } = await setup();
  const sections = { from: 4, to: 6 }; // Chapters 1–3: within the limit, so every question reads the same tokens
  const q1 = await o.assistant.ask({ documentId: docId, question: 'Who was Beaufort?', sections }, () => {}).result;
  assert.equal(q1.engine!.localCacheHit, false);
  assert.match(q1.read.note!, /sections 5–7 \("Chapter 1" to "Chapter 3"\)/);
  const stored = o.library.engineState.totalBytes();
  assert.ok(stored > 0, 'the local-layer states were stored');
  const q2 = await o.assistant.ask({ documentId: docId, question: 'Where did Elizabeth Lavenza grow up?', sections }, () => {}).result;
  assert.equal(q2.engine!.localCacheHit, true, 'the second question skips the local layers');
  assert.equal(o.library.engineState.totalBytes(), stored, 'nothing new was stored');

  const fresh = await openTiny({ maxDocumentTokens: LIMIT, confidentAt: 0 });
  const freshDoc = (await fresh.library.add(book(BOOK)!)).document.id;
  const f2 = await fresh.assistant.ask({ documentId: freshDoc, question: 'Where did Elizabeth Lavenza grow up?', sections }, () => {}).result;
  assert.equal(f2.engine!.localCacheHit, false);
  assert.equal(f2.engine!.encoderHash, q2.engine!.encoderHash, 'the encoder output is bit-identical');
  assert.equal(f2.answer, q2.answer);
  assert.deepEqual(f2.citations, q2.citations);
  await fresh.close();
});

test('cancelling mid-encode ends the job as cancelled, writes nothing, and the next job runs', needsBook(BOOK), async () => {
  const { o, docId } = await setup();
  const question = 'Why did the creature kill William?';
  const rowsBefore = o.library.db.prepare('SELECT key FROM engine_state_files ORDER BY key').all();
  const rec = recorder();
  // a range never encoded before, so the local layers run (and would be stored) in this job
  const job = o.assistant.ask({ documentId: docId, question, sections: { from: 12, to: 14 } }, rec.on);
  await waitFor(rec.events, (e) => e.type === 'progress' && e.stage === 'encoding');
  assert.equal(o.assistant.cancel(job.jobId), true);
  await assert.rejects(job.result, (e) => e instanceof CancelledError);
  assert.equal(rec.events.at(-1)!.type, 'cancelled');
  assert.ok(!rec.events.some((e) => e.type === 'done' || e.type === 'token'));
  assert.equal(o.assistant.jobs().length, 0, 'nothing is left running');
  assert.equal(o.library.db.prepare('SELECT count(*) AS n FROM answer_cache WHERE question = ?').get('why did the creature kill william')!['n' as never], 0);
  assert.deepEqual(o.library.db.prepare('SELECT key FROM engine_state_files ORDER BY key').all(), rowsBefore, 'no engine state was written');
  assert.deepEqual(readdirSync(o.library.engineState.dir).filter((f) => f.startsWith('.tmp')), [], 'no temporary files');

  const next = await o.assistant.ask({ documentId: docId, question, sections: { from: 12, to: 14 } }, () => {}).result;
  assert.equal(next.cached, false);
  assert.ok(next.answer.length > 0);
});

test('jobs queue per model and run in order; a queued job can be cancelled', needsBook(BOOK), async () => {
  const { o, docId } = await setup();
  const rec = recorder();
  const sections = { from: 5, to: 5 };
  const a = o.assistant.ask({ documentId: docId, question: 'Who is the narrator?', sections }, rec.on);
  const b = o.assistant.ask({ documentId: docId, question: 'Who is the father?', sections }, rec.on);
  const c = o.assistant.ask({ documentId: docId, question: 'Who is the mother?', sections }, rec.on);
  const queued = rec.events.filter((e) => e.type === 'queued') as Array<{ jobId: string; position: number }>;
  assert.deepEqual(queued.map((e) => [e.jobId, e.position]), [[a.jobId, 0], [b.jobId, 1], [c.jobId, 2]]);
  const snapshot = o.assistant.jobs();
  assert.deepEqual(snapshot.map((j) => [j.jobId, j.state]), [[a.jobId, 'running'], [b.jobId, 'queued'], [c.jobId, 'queued']]);
  assert.equal(o.assistant.cancel(b.jobId), true);
  await assert.rejects(b.result, (e) => e instanceof CancelledError);
  await Promise.all([a.result, c.result]);
  const order = rec.events.filter((e) => e.type !== 'queued').map((e) => `${e.jobId}:${e.type}`);
  const doneA = order.indexOf(`${a.jobId}:done`);
  const firstC = order.findIndex((x) => x.startsWith(`${c.jobId}:`) && !x.endsWith(':cancelled'));
  assert.ok(doneA >= 0 && firstC > doneA, 'the third job starts only after the first is done');
  assert.ok(!order.some((x) => x.startsWith(`${b.jobId}:`) && !x.endsWith(':cancelled')), 'the cancelled job never ran');
  assert.equal(o.assistant.cancel(b.jobId), false, 'an ended job cannot be cancelled');
});

test('typed errors: unknown document, unknown section, unknown chat, unknown model', needsBook(BOOK), async () => {
  const { o, docId } = await setup();
  const cases: Array<[Parameters<typeof o.assistant.ask>[0], string]> = [
    [{ documentId: 'f'.repeat(64), question: 'Who?' }, 'document-not-found'],
    [{ documentId: docId, question: 'Who?', sections: { from: 0, to: 999 } }, 'section-not-found'],
    [{ documentId: docId, question: 'Who?', chatId: '999999' }, 'chat-not-found'],
    [{ documentId: docId, question: 'Who?', modelId: 'ghost' }, 'model-not-found'],
  ];
  for (const [req, code] of cases) {
    const rec = recorder();
    const job = o.assistant.ask(req, rec.on);
    await assert.rejects(job.result, (e: { code?: string }) => e.code === code);
    const last = rec.events.at(-1)!;
    assert.ok(last.type === 'error' && last.error.code === code, `${code} reported as an error event`);
  }
});

test('a cancel the engine cannot honour at once ends the job at once; its engine process is killed (and takes its memory); the next job starts a new one', needsBook(BOOK), async () => {
  const { docId } = await setup();
  const o = await openTiny({ maxDocumentTokens: LIMIT, cancelGraceMs: 1 });
  await o.library.add(book(BOOK)!);
  const rec = recorder();
  const job = o.assistant.ask({ documentId: docId, question: 'Who is Clerval?', sections: { from: 4, to: 8 } }, rec.on);
  await waitFor(rec.events, (e) => e.type === 'progress' && e.stage === 'encoding');
  o.assistant.cancel(job.jobId);
  await assert.rejects(job.result, (e) => e instanceof CancelledError);
  const next = recorder();
  const r = await o.assistant.ask({ documentId: docId, question: 'Who is Clerval?', sections: { from: 4, to: 4 } }, next.on).result;
  assert.equal(r.cached, false);
  assert.ok(next.events.some((e) => e.type === 'progress' && e.stage === 'loading-model'), 'a new engine process loads the model');
});

test('an answer below the confidence threshold is not shown: no tokens, an empty answer, the best passages, kept so in the chat and the cache', needsBook(BOOK), async () => {
  const o = await openTiny({ maxDocumentTokens: LIMIT, confidentAt: 1.01 });
  const docId = (await o.library.add(book(BOOK)!)).document.id;
  const rec = recorder();
  const question = 'Who was Elizabeth Lavenza?';
  const r = await o.assistant.ask({ documentId: docId, question, sections: { from: 5, to: 5 } }, rec.on).result;
  assert.equal(r.confident, false);
  assert.ok(r.confidence > 0 && r.confidence < 1, `confidence ${r.confidence}`);
  assert.equal(r.answer, '');
  assert.ok(r.engine!.generated.length > 0, 'the model did generate an answer; it is not shown');
  assert.equal(rec.tokens(), '', 'nothing was streamed');
  assertCitationsConsistent(o, docId, r);
  const messages = o.library.chats.messages(Number(r.chatId));
  assert.equal(messages[1]!.content, '');
  assert.equal((messages[1]!.meta as { confident?: boolean }).confident, false);
  const again = await o.assistant.ask({ documentId: docId, question, sections: { from: 5, to: 5 } }, () => {}).result;
  assert.equal(again.cached, true);
  assert.equal(again.confident, false);
  assert.equal(again.confidence, r.confidence);
  await o.close();
});
