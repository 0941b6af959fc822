import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { AskResult, JobEvent } from '../../common/api';
import { CancelledError, LongreadError } from '../../common/errors';
import { mergedBlocks } from '../../main/assistant/citations';
import { JobQueue } from '../../main/assistant/job-queue';
import { fineBlocksWithEvidence, vccSettingsFor } from '../../main/assistant/presets';
import { rereadWindows } from '../../main/assistant/passages';
import { planRead, type ReadableDocument } from '../../main/assistant/reading';
import { pickSentences, sentencesIn, snapQuote } from '../../main/assistant/sentences';
import { feedIds, originalRanges, quoteOf } from '../../main/assistant/text-ranges';
import type { TokenizedText } from '../../main/assistant/types';

/** The words joined by spaces, one token each, then </s>: the text and each token's character range. */
function wordTokens(words: string[]): { text: string; offsets: Int32Array } {
  const text = words.join(' ');
  const offsets = new Int32Array(2 * (words.length + 1));
  let at = 0;
  words.forEach((w, i) => {
    offsets[2 * i] = at;
    offsets[2 * i + 1] = at + w.length;
    at += w.length + 1;
  });
  offsets[2 * words.length] = offsets[2 * words.length + 1] = text.length;
  return { text, offsets };
}

/** A document of one-token words, 100 words a page, with `marks` words placed on given pages. */
function syntheticDoc(pages: number, marks: Record<number, string> = {}): { doc: ReadableDocument; tokens: TokenizedText } {
  const words: string[] = [];
  for (let p = 0; p < pages; p++) for (let w = 0; w < 100; w++) words.push(w === 50 && marks[p + 1] ? marks[p + 1]! : `w${p}x${w}`);
  const { text, offsets } = wordTokens(words);
  const ids = Int32Array.from({ length: words.length + 1 }, (_, i) => (i === words.length ? 1 : 5));
  const docPages = Array.from({ length: pages }, (_, p) => ({ number: p + 1, start: offsets[2 * p * 100]!, end: p + 1 < pages ? offsets[2 * (p + 1) * 100]! : text.length }));
  return { doc: { id: 'd', title: 'Synthetic', text, pages: docPages, sections: [{ title: 'One', level: 1, start: 0, end: text.length, page: 1 }] }, tokens: { ids, offsets } };
}

test('within the limit the whole document is read; over it, windows around the pages search finds, filling the budget', () => {
  const small = syntheticDoc(5);
  const whole = planRead(small.doc, small.tokens, { limit: 1000 });
  assert.deepEqual(whole.windows, [{ start: 0, end: 500 }]);
  assert.equal(whole.read.whole, true);
  assert.equal(whole.read.note, undefined);

  const big = syntheticDoc(100, { 20: 'whale', 80: 'whale', 81: 'harpoon' });
  const search = (term: string) => big.doc.pages.filter((p) => big.doc.text.slice(p.start, p.end).includes(term)).map((p) => p.number);
  const plan = planRead(big.doc, big.tokens, { limit: 2001, question: 'Where is the whale harpoon?', search });
  const total = plan.windows.reduce((a, w) => a + w.end - w.start, 0);
  assert.equal(total, 2000, 'the budget (limit less </s>) is used');
  assert.equal(plan.read.whole, false);
  assert.match(plan.read.note!, /10,000 tokens, over the limit of 2,001; read 2 windows around the pages where full-text search found whale, harpoon/);
  const covers = (page: number) => plan.windows.some((w) => w.start <= (page - 1) * 100 + 50 && (page - 1) * 100 + 50 < w.end);
  assert.ok(covers(20) && covers(80) && covers(81), 'the hit pages are read');
  for (let i = 1; i < plan.windows.length; i++) assert.ok(plan.windows[i]!.start > plan.windows[i - 1]!.end, 'windows are disjoint and ordered');

  const none = planRead(big.doc, big.tokens, { limit: 501, question: 'Where is the kraken?', search });
  assert.deepEqual(none.windows, [{ start: 0, end: 500 }]);
  assert.match(none.read.note!, /found no page with the question's words \(kraken\), so its beginning was read/);
  assert.throws(() => planRead(big.doc, big.tokens, { limit: 501, sections: { from: 0, to: 3 } }), (e: LongreadError) => e.code === 'section-not-found');
});

test('fed tokens map back to document tokens across window seams; </s> maps to nothing', () => {
  const { tokens } = syntheticDoc(3);
  const windows = [{ start: 10, end: 20 }, { start: 100, end: 105 }];
  const fed = feedIds(tokens, windows, 1);
  assert.equal(fed.length, 16);
  assert.equal(fed[15], 1);
  assert.deepEqual(originalRanges(windows, 8, 16), [{ start: 18, end: 20 }, { start: 100, end: 105 }]);
});

test('sentences survive hard-wrapped lines; quotes snap to a sentence or whole words', () => {
  const text = 'Call me Ishmael. Some years ago, never mind\nhow long precisely, I went to sea.\n\nCHAPTER 2\n\nThe Carpet-Bag was packed.';
  const s = sentencesIn(text).map((r) => text.slice(r.start, r.end));
  assert.deepEqual(s, ['Call me Ishmael.', 'Some years ago, never mind\nhow long precisely, I went to sea.', 'CHAPTER 2', 'The Carpet-Bag was packed.']);
  const q = snapQuote(text, text.indexOf('never'), text.indexOf('never') + 3);
  assert.equal(quoteOf(text, q.start, q.end), 'Some years ago, never mind how long precisely, I went to sea.');
  // a long paragraph is segmented in pieces cut after sentence ends: no sentence is split, and it stays fast
  const para = Array.from({ length: 3000 }, (_, i) => `Sentence number ${i} is here, isn't it?`).join(' ');
  const t0 = performance.now();
  const many = sentencesIn(para);
  assert.ok(performance.now() - t0 < 2000);
  assert.equal(many.length, 3000);
  assert.ok(many.every((r, i) => para.slice(r.start, r.end) === `Sentence number ${i} is here, isn't it?`));
  const long = 'word '.repeat(200) + 'end.';
  const w = snapQuote(long, 500, 502);
  assert.ok(w.end - w.start <= 400 && /^\S/.test(long.slice(w.start)) && /\S$/.test(long.slice(w.start, w.end)));
});

test('MMR keeps the best sentences, skips near-duplicates, returns document order', () => {
  const text = 'The whale swam deep below the ship. The whale swam deep below the ship! Ahab paced the quarterdeck at night. Starbuck doubted the captain.';
  const ranges = sentencesIn(text);
  const picked = pickSentences(text, ranges.map((r, i) => ({ ...r, score: [1, 0.99, 0.5, 0.4][i]! })), 3);
  assert.deepEqual(picked.map((p) => text.slice(p.start, p.end)), ['The whale swam deep below the ship.', 'Ahab paced the quarterdeck at night.', 'Starbuck doubted the captain.']);
});

test('compression presets follow the paper table (n_p = 3·k), the decoder reads 16K tokens one by one; short texts keep a quarter of the blocks coarse', () => {
  assert.deepEqual([vccSettingsFor('fast', 12), vccSettingsFor('balanced', 12), vccSettingsFor('accurate', 12)].map((s) => [s.blockSize, s.fineBlocks, s.vipTokens, s.localLayers, s.layout, s.groupBlocks, s.keptGroups, s.decoderBlocks]), [
    [64, 30, 192, 4, 'cached', 8, 10, 256],
    [32, 55, 96, 4, 'cached', 8, 10, 512],
    [16, 90, 48, 4, 'cached', 8, 10, 1024],
  ]);
  const s = vccSettingsFor('balanced', 12);
  assert.equal(fineBlocksWithEvidence(s, 100_000), 55);
  assert.equal(fineBlocksWithEvidence(s, 32 * 40), 30);
  assert.equal(fineBlocksWithEvidence(s, 20), 55, 'one block: nothing to rank');
  assert.deepEqual(mergedBlocks([{ layer: 4, blocks: [{ start: 0, end: 32, score: 0.2 }, { start: 64, end: 96, score: 0.3 }] }, { layer: 5, blocks: [{ start: 0, end: 32, score: 0.2 }] }]), [
    { start: 0, end: 32, score: 0.4 },
    { start: 64, end: 96, score: 0.3 },
  ]);
});

test("an answer's reread passages: the sentences around VCC's best blocks (merged over layers, mapped through the windows read), in document order, touching ones joined", () => {
  // 20 sentences of 8 one-token words: sentence i is tokens [8i, 8i + 8)
  const words = Array.from({ length: 20 }, (_, i) => `Sentence${i} holds words one two three four end.`.split(' ')).flat();
  const { text, offsets } = wordTokens(words);
  const tokens: TokenizedText = { ids: Int32Array.from({ length: words.length + 1 }, (_, i) => i + 2), offsets };
  const windows = [{ start: 0, end: 80 }, { start: 100, end: 160 }]; // fed token f < 80 is document token f, else f + 20
  const evidence = [
    { layer: 4, blocks: [{ start: 8, end: 12, score: 0.5 }, { start: 84, end: 88, score: 0.4 }, { start: 18, end: 20, score: 0.3 }, { start: 40, end: 44, score: 0.1 }] },
    { layer: 5, blocks: [{ start: 84, end: 88, score: 0.2 }] },
  ];
  const sentence = (i: number) => ({ start: 8 * i, end: 8 * i + 8 });
  // best: fed 84-88 (document 104-108, sentence 13, 0.6), then sentences 1 and 2 (touching: one window); sentence 5 is fourth
  assert.deepEqual(rereadWindows(evidence, windows, tokens, text), [{ start: 8, end: 24 }, sentence(13)]);
  assert.deepEqual(rereadWindows(evidence, windows, tokens, text, 1), [sentence(13)]);
  assert.deepEqual(rereadWindows(evidence, windows, tokens, text, 4), [{ start: 8, end: 24 }, sentence(5), sentence(13)]);
  assert.equal(quoteOf(text, offsets[2 * 104]!, offsets[2 * 111 + 1]!), 'Sentence13 holds words one two three four end.');
  assert.deepEqual(rereadWindows([], windows, tokens, text), [], 'nothing ranked: no passages');
  assert.deepEqual(rereadWindows([{ layer: 4, blocks: [] }], windows, tokens, text), []);
});

test('job queue: one job at a time per lane, others wait; cancel queued or running; errors are typed events', async () => {
  const q = new JobQueue();
  const events: JobEvent[] = [];
  const started: string[] = [];
  const gates = new Map<string, () => void>();
  const tick = () => new Promise((r) => setTimeout(r, 0));
  const job = (lane: string, name: string) =>
    q.submit({
      kind: 'ask',
      lane,
      modelId: lane,
      onEvent: (e) => events.push(e),
      run: async (ctx) => {
        started.push(name);
        ctx.progress('encoding', { fraction: 0.5 });
        await new Promise<void>((resolve, reject) => {
          gates.set(name, resolve);
          ctx.signal.addEventListener('abort', () => reject(new CancelledError()));
        });
        if (name === 'bad') throw new LongreadError('boom', 'it broke');
        return { answer: name } as unknown as AskResult;
      },
    });
  const a = job('m', 'a');
  const b = job('m', 'b');
  const c = job('m', 'bad');
  const d = job('m', 'd');
  const other = job('n', 'other');
  assert.deepEqual(q.snapshot().map((j) => [j.jobId, j.state]), [[a.jobId, 'running'], [b.jobId, 'queued'], [c.jobId, 'queued'], [d.jobId, 'queued'], [other.jobId, 'running']]);
  assert.deepEqual(started, ['a', 'other'], 'lanes run side by side, one job each');
  assert.equal(q.cancel(c.jobId), true, 'a queued job is cancelled');
  await assert.rejects(c.result, (e) => e instanceof CancelledError);
  gates.get('a')!();
  assert.equal((await a.result).answer, 'a');
  await tick();
  assert.deepEqual(started, ['a', 'other', 'b'], 'the next in the lane starts when the first is done');
  assert.equal(q.cancel(b.jobId), true, 'a running job is cancelled');
  await assert.rejects(b.result, (e) => e instanceof CancelledError);
  await tick();
  assert.deepEqual(started, ['a', 'other', 'b', 'd'], 'the cancelled queued job never ran');
  gates.get('d')!();
  gates.get('other')!();
  assert.equal((await d.result).answer, 'd');
  assert.equal((await other.result).answer, 'other');
  assert.deepEqual(events.filter((e) => e.jobId === c.jobId).map((e) => e.type), ['queued', 'cancelled']);
  assert.deepEqual(events.filter((e) => e.jobId === a.jobId).map((e) => e.type), ['queued', 'progress', 'done']);
  assert.deepEqual(events.filter((e) => e.jobId === b.jobId).map((e) => e.type), ['queued', 'progress', 'cancelled']);
  const doneA = events.findIndex((e) => e.jobId === a.jobId && e.type === 'done');
  assert.ok(events.findIndex((e) => e.jobId === b.jobId && e.type === 'progress') > doneA, "b's work reports after a's result");

  const bad = job('m', 'bad');
  await tick();
  gates.get('bad')!();
  await assert.rejects(bad.result, (e: LongreadError) => e.code === 'boom');
  const last = events.at(-1)!;
  assert.ok(last.type === 'error' && last.error.code === 'boom' && last.error.message === 'it broke');
  assert.deepEqual(q.snapshot(), []);
  assert.equal(q.cancel(a.jobId), false);
});

test('job queue: an unexpected error is an internal event with its first line only, without folder paths', async () => {
  const q = new JobQueue();
  const events: JobEvent[] = [];
  const original = console.error;
  console.error = () => {};
  try {
    const failure = new Error("ENOENT: no such file or directory, open '/home/someone/Books/moby.txt'\n    at open (/work/main/assistant/qa.ts:3:1)");
    const job = q.submit({ kind: 'ask', lane: 'm', modelId: 'm', onEvent: (e) => events.push(e), run: async () => Promise.reject(failure) });
    await assert.rejects(job.result, (e: unknown) => e instanceof LongreadError && e.code === 'internal' && e.cause === failure);
    assert.deepEqual(events.at(-1), { type: 'error', jobId: job.jobId, error: { code: 'internal', message: "The ask job failed: ENOENT: no such file or directory, open 'moby.txt'" } });
  } finally {
    console.error = original;
  }
});
