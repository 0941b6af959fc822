import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { attentionScores, bm25, passagesOf, rankPassages } from '../../main/assistant/passage-ranking';
import { ingestFile } from '../../main/ingest/index';

const books = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..', '..', 'shared', 'corpus', 'books');

const sentence = (i: number, words = 29) => `Sentence ${i} ${Array.from({ length: words - 3 }, (_, j) => `w${i}x${j}`).join(' ')} end.`;

describe('passage ranking', () => {
  test('passagesOf: sentence-aligned passages of about 120 words that tile each range', () => {
    const text = Array.from({ length: 40 }, (_, i) => sentence(i)).join(' ');
    const passages = passagesOf(text, [{ start: 0, end: text.length }]);
    assert.ok(passages.length >= 8 && passages.length <= 12, `${passages.length} passages`);
    assert.equal(passages[0]!.start, 0);
    assert.equal(passages.at(-1)!.end, text.length);
    for (let i = 0; i < passages.length; i++) {
      const p = passages[i]!;
      const words = text.slice(p.start, p.end).split(/\s+/).length;
      assert.ok(words <= 160 + 20, `passage ${i} has ${words} words`);
      if (i < passages.length - 1) {
        assert.match(text.slice(p.start, p.end), /end\.$/, 'cut at a sentence end');
        assert.equal(text.slice(p.end, passages[i + 1]!.start).trim(), '', 'no text between passages');
      }
    }
    // two ranges: no passage crosses from one to the other
    const two = passagesOf(text, [{ start: 0, end: 500 }, { start: 2000, end: 3000 }]);
    assert.ok(two.every((p) => (p.end <= 500 && p.start >= 0) || (p.start >= 2000 && p.end <= 3000)));
    // one unbroken run of text still ends passages (at the word limit)
    const run = Array.from({ length: 1000 }, (_, i) => `w${i}`).join(' ');
    assert.ok(passagesOf(run, [{ start: 0, end: run.length }]).every((p) => run.slice(p.start, p.end).split(' ').length <= 160 + 20));
  });

  test('bm25: Okapi BM25 (k1 1.2, b 0.75) as computed by hand', () => {
    const text = 'whale whale ship. ship sea sea sea. whale harbour';
    const passages = [
      { start: 0, end: 17 },
      { start: 18, end: 34 },
      { start: 35, end: 49 },
    ];
    const s = bm25(text, passages, 'Which whale?');
    // "whale": df 2 of 3 passages; lengths 3, 4, 2 content words, average 3
    const idf = Math.log(1 + (3 - 2 + 0.5) / (2 + 0.5));
    const term = (f: number, len: number) => (idf * f * 2.2) / (f + 1.2 * (0.25 + (0.75 * len) / 3));
    assert.ok(Math.abs(s[0]! - term(2, 3)) < 1e-12);
    assert.equal(s[1], 0);
    assert.ok(Math.abs(s[2]! - term(1, 2)) < 1e-12);
    assert.deepEqual([...bm25(text, passages, 'the of and')], [0, 0, 0], 'stop words only: nothing');
  });

  test('attentionScores splits a block over the passages it overlaps', () => {
    const passages = [
      { start: 0, end: 10 },
      { start: 10, end: 20 },
      { start: 20, end: 30 },
    ];
    const s = attentionScores(passages, [
      { start: 5, end: 15, score: 2 },
      { start: 25, end: 27, score: 1 },
    ]);
    assert.deepEqual([...s], [1, 1, 1]);
  });

  test('rankPassages: BM25 chooses the candidates, attention reorders them; attention alone when no question word occurs', () => {
    const text = Array.from({ length: 30 }, (_, i) => sentence(i)).join(' ');
    const ranges = [{ start: 0, end: text.length }];
    const passages = passagesOf(text, ranges);
    const word = (p: number) => text.slice(passages[p]!.start, passages[p]!.end).split(' ')[3]!;
    const at = (p: number, score: number) => ({ start: passages[p]!.start, end: passages[p]!.start + 10, score });
    // the question's words are in passages 1 and 4 (1 twice: BM25 ranks it first); VCC attends to 4 and 6
    const question = `Where is ${word(1)} ${word(1)} and ${word(4)}?`;
    const lexicalOnly = rankPassages(text, ranges, question, []);
    assert.deepEqual(lexicalOnly.map((r) => r.start), [1, 4].map((p) => passages[p]!.start));
    const fused = rankPassages(text, ranges, question, [at(4, 3), at(6, 2)]);
    assert.deepEqual(fused.map((r) => r.start), [4, 1].map((p) => passages[p]!.start), 'attention reorders the candidates; passage 6 is not one');
    const noWords = rankPassages(text, ranges, 'What is it?', [at(4, 1), at(6, 2)]);
    assert.deepEqual(noWords.map((r) => r.start), [6, 4].map((p) => passages[p]!.start));
  });

  test('on a real book, the question’s words lead BM25 to the answer', { skip: !existsSync(books) && 'the shared corpus is absent' }, async () => {
    const doc = await ingestFile(path.join(books, 'pg2701.txt'));
    const t0 = performance.now();
    const ranked = rankPassages(doc.text, [{ start: 0, end: doc.text.length }], 'Who is the chief mate of the Pequod?', []);
    const ms = performance.now() - t0;
    assert.ok(ranked.slice(0, 5).some((p) => doc.text.slice(p.start, p.end).includes('Starbuck')), 'Starbuck in the top five');
    assert.ok(ms < 5000, `ranking a 1.2 MB book took ${ms.toFixed(0)} ms`);
  });
});
