import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { defaultBooksDir, sentences, trainSources } from '../../models/recipe/corpus';
import { rng } from '../../models/recipe/qa-gen';
import { bookNames, readerQuestions } from '../../models/recipe/reader-questions';

const here = path.dirname(fileURLToPath(import.meta.url));
const root = path.resolve(here, '..', '..');
const books = path.resolve(root, '..', 'shared', 'corpus', 'books');
const noCorpus = !existsSync(books) && 'the shared corpus is absent';

const names = new Set(['Stubb', 'Queequeg', 'Rokovoko', 'Elizabeth', 'Collins', 'Perth', 'Rachel', 'Ahab', 'Darcy', 'Longbourn']);
const vocab = new Set(['refuse', 'love', 'walk', 'marry']);
const ask = (s: string, seed = 1) => readerQuestions(s, names, vocab, rng(seed));

test('reader questions: each pattern gives a question worded as readers ask it, answered by a span of the sentence', () => {
  const role = ask('Stubb was the second mate.');
  assert.ok(role.some((q) => q.kind === 'role' && q.answer === 'Stubb' && /mate/.test(q.question)), JSON.stringify(role));
  const apposition = ask('Perth, the begrimed old blacksmith, stood by the forge.');
  assert.ok(apposition.some((q) => q.kind === 'role' && q.answer === 'Perth' && /blacksmith/.test(q.question)), JSON.stringify(apposition));
  const origin = ask('Queequeg was a native of Rokovoko, an island far away.');
  assert.ok(origin.some((q) => q.kind === 'origin' && q.answer === 'Rokovoko' && q.question.includes('Queequeg')), JSON.stringify(origin));
  const speaker = ask('“I shall never forgive him for this,” said Elizabeth.');
  assert.ok(speaker.some((q) => q.kind === 'speaker' && q.answer === 'Elizabeth' && /^Who|^Which/.test(q.question)), JSON.stringify(speaker));
  const named = ask('They met a ship called the Rachel.');
  assert.ok(named.some((q) => q.kind === 'named' && q.answer === 'Rachel' && /ship/.test(q.question)), JSON.stringify(named));
  const object = ask('Elizabeth refused Mr. Collins.');
  assert.ok(object.some((q) => q.kind === 'object' && q.answer === 'Mr. Collins' && /refuse\?$/.test(q.question)), JSON.stringify(object));
  assert.ok(object.some((q) => q.kind === 'subject' && q.answer === 'Elizabeth' && /refused Mr\. Collins\?$/.test(q.question)), JSON.stringify(object));
  const place = ask('Elizabeth walked on to Longbourn, in the rain.');
  assert.ok(place.some((q) => q.kind === 'place' && q.answer === 'Longbourn' && /Where .*Elizabeth walk\?|place did Elizabeth walk\?/.test(q.question)), JSON.stringify(place));
  // wordings vary with the seed, and a question never contains its answer
  const wordings = new Set(Array.from({ length: 20 }, (_, seed) => ask('Stubb was the second mate.', seed).find((q) => q.kind === 'role')!.question));
  assert.ok(wordings.size >= 3, [...wordings].join(' | '));
  for (const q of [...role, ...apposition, ...origin, ...speaker, ...named, ...object, ...place]) assert.ok(!q.question.includes(q.answer), q.question);
});

test('reader questions: nothing from a sentence without a known name, or a name that is only a capitalized word', () => {
  assert.deepEqual(ask('It was the best of times, it was the worst of times.'), []);
  assert.deepEqual(ask('The captain was the finest sailor of the fleet.'), []);
  assert.equal(ask('Then the stranger, a native of Rokovoko, sat down.').filter((q) => q.kind === 'origin').length, 0);
});

test('reader questions on the training books: names found, and every answer a span of its sentence', { skip: noCorpus }, async () => {
  let total = 0;
  for (const src of await trainSources(defaultBooksDir())) {
    if (src.name.includes('/')) continue;
    const sents = sentences(src.text);
    const found = bookNames(sents);
    const expect = { 'pg84.txt': ['Elizabeth', 'Clerval', 'Justine'], 'pg64317.txt': ['Gatsby', 'Daisy', 'Jordan'], 'alice.epub': ['Alice', 'Hatter'] }[src.name] ?? [];
    for (const n of expect) assert.ok(found.has(n), `${src.name}: ${n} not among its names`);
    for (const n of ['The', 'But', 'Chapter']) assert.ok(!found.has(n), `${src.name}: ${n} taken for a name`);
    const words = new Set(sents.flatMap((s) => s.toLowerCase().split(/[^a-z]+/)).filter(Boolean));
    const r = rng(3);
    for (const s of sents) {
      for (const q of readerQuestions(s, found, words, r)) {
        total++;
        assert.ok(s.includes(q.answer), `${q.answer} not in: ${s}`);
        assert.ok(!q.question.includes(q.answer), q.question);
        assert.match(q.question, /[?.]$/);
      }
    }
  }
  assert.ok(total >= 250, `${total} questions over the training books`);
});

test('make-data --reader: reader questions in windows of the training books, each answer in its document', { skip: noCorpus }, () => {
  const out = mkdtempSync(path.join(os.tmpdir(), 'longread-reader-data-'));
  try {
    execFileSync(process.execPath, [path.join(root, 'bin', 'run-ts.mjs'), path.join(root, 'models', 'recipe', 'make-data.ts'), '--tokenizer', path.join(root, 'models', 'default'), '--out', out, '--seed', '3', '--reader', '1', '--phases', 'one:64-512:40', '--valid', '4', '--valid-range', '64-512'], { stdio: 'pipe' });
    const rows = readFileSync(path.join(out, 'sample.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { kind: string; question: string; answer: string; doc: string; docTokens: number });
    assert.equal(rows.length, 10);
    for (const row of rows) {
      assert.match(row.kind, /^reader-/);
      assert.ok(row.doc.includes(row.answer), `${row.question} -> ${row.answer}`);
      assert.ok(row.docTokens >= 40 && row.docTokens <= 1200, `${row.docTokens} tokens`);
    }
    for (const bad of ['Ahab', 'Queequeg', 'Darcy', 'Bennet']) assert.ok(rows.every((row) => !row.doc.includes(bad)), `evaluation book text (${bad}) in training data`);
  } finally {
    rmSync(out, { recursive: true, force: true });
  }
});
