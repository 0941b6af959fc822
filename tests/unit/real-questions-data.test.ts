import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { ingestFile } from '../../main/ingest/index';
import { EVAL_BOOKS } from '../../models/recipe/corpus';

const here = path.dirname(fileURLToPath(import.meta.url));
const books = path.resolve(here, '..', '..', '..', 'shared', 'corpus', 'books');
const data = JSON.parse(readFileSync(path.join(here, '..', 'bench', 'data', 'real-questions.json'), 'utf8')) as {
  questions: Array<{ id: string; book: string; question: string; answers: string[]; evidence: string; split: string }>;
};

test('the real-questions dev set: 80+ questions on books the model never trained on, each answer in its evidence, spread over each book', { skip: !existsSync(books) && 'the shared corpus is absent' }, async () => {
  const qs = data.questions;
  assert.ok(qs.length >= 80, `${qs.length} questions`);
  assert.equal(new Set(qs.map((q) => q.id)).size, qs.length, 'ids are unique');
  assert.ok(qs.every((q) => EVAL_BOOKS.includes(q.book)), 'only evaluation books');
  for (const s of ['tune', 'heldout']) assert.ok(qs.filter((q) => q.split === s).length >= 35, `split ${s}`);
  const flat = (s: string) => s.replace(/\s+/g, ' ');
  for (const book of new Set(qs.map((q) => q.book))) {
    const text = flat((await ingestFile(path.join(books, book))).text);
    const depths: number[] = [];
    for (const q of qs.filter((x) => x.book === book)) {
      const at = text.indexOf(q.evidence);
      assert.ok(at >= 0, `${q.id}: evidence not in ${book}: ${q.evidence}`);
      assert.ok(q.answers.some((a) => q.evidence.toLowerCase().includes(a.toLowerCase())), `${q.id}: no answer alias in its evidence`);
      assert.match(q.question, /\?$/, `${q.id} is a question`);
      depths.push(at / text.length);
    }
    // spread over the whole book: some in each third
    for (let third = 0; third < 3; third++) assert.ok(depths.some((d) => d >= third / 3 && d < (third + 1) / 3), `${book}: no question in third ${third + 1}`);
  }
});
