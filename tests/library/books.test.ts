import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import type { IngestedDocument } from '../../common/document';
import { hashBytes, ingestFile } from '../../main/ingest/index';
import { VIRTUAL_PAGE_CHARS } from '../../main/ingest/pagination';
import { corpus, needs } from './helpers/corpus';

const pageOf = (d: IngestedDocument, passage: string) => {
  const at = d.text.indexOf(passage);
  return at < 0 ? 0 : d.pages.find((p) => p.start <= at && at < p.end)!.number;
};
const sectionOf = (d: IngestedDocument, passage: string) => {
  const at = d.text.indexOf(passage);
  return d.sections.filter((s) => s.start <= at && at < s.end).pop()?.title;
};

function checkPagesTile(d: IngestedDocument): void {
  assert.equal(d.pageKind, 'virtual');
  assert.equal(d.pages[0]!.start, 0);
  assert.equal(d.pages.at(-1)!.end, d.text.length);
  for (let i = 1; i < d.pages.length; i++) {
    const gap = d.text.slice(d.pages[i - 1]!.end, d.pages[i]!.start);
    assert.match(gap, /^\s*$/, 'only whitespace between virtual pages');
    assert.ok(d.pages[i]!.end - d.pages[i]!.start <= VIRTUAL_PAGE_CHARS * 1.3 + 1);
    assert.ok(!/\w/.test(d.text[d.pages[i]!.start - 1] ?? '') || !/\w/.test(d.text[d.pages[i]!.start]!), 'no word is split across pages');
  }
}

test('Moby-Dick (Windows-1252 Gutenberg text): licence kept out, chapters found, passages on their pages', needs('books/pg2701.txt'), async () => {
  const file = corpus('books/pg2701.txt');
  const d = await ingestFile(file);
  assert.equal(d.id, hashBytes(readFileSync(file)));
  assert.equal(d.type, 'text');
  assert.equal(d.title, 'Moby Dick; Or, The Whale');
  assert.equal(d.author, 'Herman Melville');
  assert.ok(!d.text.includes('START OF THE PROJECT GUTENBERG'));
  assert.ok(!d.text.includes('END OF THE PROJECT GUTENBERG'));
  assert.ok(!/Project Gutenberg™|PROJECT GUTENBERG LICENSE|www\.gutenberg\.org/i.test(d.text), 'header and licence are not in the model text');
  assert.ok(d.text.includes('Ahab’s'), 'Windows-1252 quotes decoded');
  assert.ok(!d.text.includes('\ufffd') && !d.text.includes('â€'));
  const chapters = d.sections.filter((s) => s.title.startsWith('CHAPTER'));
  assert.equal(chapters.length, 135);
  assert.equal(chapters[0]!.title, 'CHAPTER 1. Loomings.');
  assert.equal(d.sections.at(-1)!.title, 'Epilogue');
  assert.equal(sectionOf(d, 'Call me Ishmael.'), 'CHAPTER 1. Loomings.');
  assert.equal(chapters[0]!.page, 13);
  assert.equal(pageOf(d, 'Call me Ishmael.'), 14, 'the heading closes page 13, its first line opens page 14');
  for (const s of d.sections) assert.equal(s.page, d.pages.filter((p) => p.start <= s.start).at(-1)!.number);
  assert.equal(pageOf(d, 'It was the devious-cruising Rachel'), d.pages.length);
  assert.ok(d.pages.length > 550 && d.pages.length < 700, `${d.pages.length} book-size pages`);
  checkPagesTile(d);
  assert.equal(d.tokens, null, 'no tokenizer, no count');
});

test('Pride and Prejudice, Frankenstein, The Great Gatsby: titles, authors, chapters (not the contents lists)', needs('books/pg1342.txt', 'books/pg84.txt', 'books/pg64317.txt'), async () => {
  const pp = await ingestFile(corpus('books/pg1342.txt'));
  assert.equal(pp.title, 'Pride and Prejudice');
  assert.equal(pp.author, 'Jane Austen');
  assert.equal(pp.sections.filter((s) => /^chapter/i.test(s.title)).length, 61);
  assert.equal(sectionOf(pp, 'It is a truth universally acknowledged'), 'Chapter I.');
  checkPagesTile(pp);

  const frank = await ingestFile(corpus('books/pg84.txt'));
  assert.equal(frank.author, 'Mary Wollstonecraft Shelley');
  assert.deepEqual(frank.sections.slice(0, 5).map((s) => s.title), ['Letter 1', 'Letter 2', 'Letter 3', 'Letter 4', 'Chapter 1']);
  assert.equal(frank.sections.length, 28);
  assert.equal(sectionOf(frank, 'You will rejoice to hear that no disaster'), 'Letter 1');
  assert.equal(pageOf(frank, 'You will rejoice to hear that no disaster'), 1);

  const gatsby = await ingestFile(corpus('books/pg64317.txt'));
  assert.equal(gatsby.title, 'The Great Gatsby');
  assert.deepEqual(gatsby.sections.map((s) => s.title), ['I', 'II', 'III', 'IV', 'V', 'VI', 'VII', 'VIII', 'IX']);
  assert.equal(sectionOf(gatsby, 'In my younger and more vulnerable years'), 'I');
  assert.equal(sectionOf(gatsby, 'So we beat on, boats against the current'), 'IX');
  assert.equal(pageOf(gatsby, 'So we beat on, boats against the current'), gatsby.pages.length);
});

test('alice.epub: spine order, chapter titles from the navigation document, clean text', needs('books/alice.epub'), async () => {
  const d = await ingestFile(corpus('books/alice.epub'));
  assert.equal(d.type, 'epub');
  assert.equal(d.title, "Alice's Adventures in Wonderland");
  assert.equal(d.author, 'Lewis Carroll');
  assert.deepEqual(d.sections.map((s) => s.title), [
    'Title Page',
    'Down The Rabbit-Hole',
    'The Pool Of Tears',
    'A Caucus-Race And A Long Tale',
    'The Rabbit Sends In A Little Bill',
    'Advice From A Caterpillar',
    'Pig And Pepper',
    'A Mad Tea-Party',
    "The Queen's Croquet Ground",
    'Who Stole The Tarts?',
    "Alice's Evidence",
  ]);
  for (const s of d.sections.slice(1)) assert.ok(d.text.slice(s.start).startsWith(s.title), `${s.title} starts at its heading`);
  assert.equal(sectionOf(d, 'Alice was beginning to get very tired of sitting by her sister on the bank'), 'Down The Rabbit-Hole');
  assert.equal(sectionOf(d, 'what a wonderful dream it had been'), "Alice's Evidence");
  assert.ok(d.text.endsWith('what a wonderful dream it had been.'));
  assert.ok(!/<\/?[a-z]+[ >]|&[a-z]+;|Illo\d/.test(d.text), 'no markup, entities or image labels');
  assert.ok(!d.text.includes('Contents'), 'the navigation document is not read as a chapter');
  checkPagesTile(d);
});
