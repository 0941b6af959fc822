// The renderer's pure text logic: reading units (chapters / page groups), paragraphs with page
// starts, highlight segments, and where a search hit's passage is.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { DocumentPage, DocumentSection } from '../../common/document';
import { segments } from '../src/lib/text/highlight';
import { passageOf } from '../src/lib/text/search';
import { pageAt, paragraphsOf, readingUnits, unitAt } from '../src/lib/text/units';

const text = 'Front matter.\n\nCHAPTER 1\n\nIt was a dark night.\n\nThe end of one.\n\nCHAPTER 2\n\nMorning came.\n\nAnd went.';
const c1 = text.indexOf('CHAPTER 1');
const c2 = text.indexOf('CHAPTER 2');
const sections: DocumentSection[] = [
  { title: 'Chapter 1', level: 1, start: c1, end: c2, page: 1 },
  { title: 'Night', level: 2, start: c1 + 11, end: c2, page: 1 },
  { title: 'Chapter 2', level: 1, start: c2, end: text.length, page: 2 },
];
const p2 = text.indexOf('The end');
const pages: DocumentPage[] = [
  { number: 1, start: 0, end: p2 - 2 },
  { number: 2, start: p2, end: text.length, label: 'ii' },
];

test('reading units are the top-level sections, with the text before them as "Beginning"', () => {
  const units = readingUnits(text, sections, pages);
  assert.deepEqual(
    units.map((u) => [u.title, u.start, u.end, u.sectionIndex]),
    [
      ['Beginning', 0, c1, undefined],
      ['Chapter 1', c1, c2, 0],
      ['Chapter 2', c2, text.length, 2],
    ],
  );
  assert.equal(unitAt(units, text.indexOf('dark')), 1);
  assert.equal(unitAt(units, text.length + 5), 2, 'past the end: the last unit');
});

test('without sections the text is read in groups of pages', () => {
  const many: DocumentPage[] = Array.from({ length: 25 }, (_, i) => ({ number: i + 1, start: i * 10, end: i * 10 + 9 }));
  const units = readingUnits('x'.repeat(250), [], many);
  assert.equal(units.length, 3);
  assert.match(units[0]!.title, /pages 1–10/);
  assert.equal(units[0]!.start, 0);
  assert.equal(units.at(-1)!.end, 250);
  assert.deepEqual(readingUnits('', sections, pages), []);
});

test('paragraphs keep their offsets and know which pages start in them', () => {
  const paras = paragraphsOf(text, c1, c2, pages);
  for (const p of paras) assert.equal(text.slice(p.start, p.end).trim(), text.slice(p.start, p.end), 'no blank edges');
  assert.deepEqual(
    paras.map((p) => text.slice(p.start, p.end)),
    ['CHAPTER 1', 'It was a dark night.', 'The end of one.'],
  );
  assert.deepEqual(paras.find((p) => p.pagesStarting.length)?.pagesStarting, [2]);
  assert.equal(pageAt(pages, text.indexOf('Morning')), 2);
});

test('highlight segments cut the text around the range, clamped to it', () => {
  assert.deepEqual(segments('abcdef', 10, { start: 12, end: 14 }), [
    { text: 'ab', marked: false },
    { text: 'cd', marked: true },
    { text: 'ef', marked: false },
  ]);
  assert.deepEqual(segments('abcdef', 10, { start: 0, end: 12 }), [
    { text: 'ab', marked: true },
    { text: 'cdef', marked: false },
  ]);
  assert.deepEqual(segments('abcdef', 10, { start: 30, end: 40 }), [{ text: 'abcdef', marked: false }]);
  assert.deepEqual(segments('abcdef', 10, null), [{ text: 'abcdef', marked: false }]);
});

test("a search hit's passage is the query inside its page, across line breaks and case", () => {
  const hit = { docId: 'd', title: 't', page: 2, label: 'ii', start: p2, end: text.length, snippet: '…CHAPTER 2 Morning came…' };
  const r = passageOf(text, hit, 'morning   CAME');
  assert.ok(r);
  assert.equal(text.slice(r.start, r.end), 'Morning came');
  const across = passageOf(text, hit, 'chapter 2 morning');
  assert.equal(text.slice(across!.start, across!.end), 'CHAPTER 2\n\nMorning');
  // not on the page: the snippet is tried, then nothing
  assert.equal(text.slice(passageOf(text, hit, 'dark night')!.start, passageOf(text, hit, 'dark night')!.end), 'CHAPTER 2\n\nMorning came');
  assert.equal(passageOf('', hit, 'x'), undefined);
});
