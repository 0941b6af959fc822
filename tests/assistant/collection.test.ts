import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { after, test } from 'node:test';
import type { TextRange } from '../../common/document';
import { LongreadError } from '../../common/errors';
import { joinCollection, joinedPage, splitAtDocuments, collectionCitation } from '../../main/assistant/collection-reading';
import { Assistant } from '../../main/assistant/assistant';
import { quoteOf } from '../../main/assistant/text-ranges';
import { Library } from '../../main/library/library';
import { repoRoot } from '../library/helpers/corpus';
import { book, cleanupAll, needsBook, openTiny, tempHome } from './helpers';

after(cleanupAll);

const FRANKENSTEIN = 'books/pg84.txt';
const MOBY_DICK = 'books/pg2701.txt';
const PRIDE = 'books/pg1342.txt';
const bundled = path.join(repoRoot, 'models', 'default');

async function rejectsCode(p: Promise<unknown>, code: string) {
  await assert.rejects(p, (e: unknown) => {
    assert.ok(e instanceof LongreadError, String(e));
    assert.equal(e.code, code, e.message);
    return true;
  });
}

/** A document's own text tokenized word by word (offsets only matter here), as the engine would give it, with </s>. */
function wordTokens(text: string) {
  const words = [...text.matchAll(/\S+/g)];
  const ids = new Int32Array(words.length + 1).map((_, i) => (i < words.length ? 10 + i : 1));
  const offsets = new Int32Array(2 * (words.length + 1));
  words.forEach((m, i) => {
    offsets[2 * i] = m.index!;
    offsets[2 * i + 1] = m.index! + m[0].length;
  });
  offsets[2 * words.length] = text.length;
  offsets[2 * words.length + 1] = text.length;
  return { ids, offsets };
}

test('a collection joined: tokens, pages and ranges map back to each document', () => {
  const docs = ['Alpha beta gamma. Delta epsilon.', 'Zeta eta theta iota.', 'Kappa lambda mu nu xi omicron.'].map((text, i) => ({
    doc: { id: `doc${i}`, title: `Doc ${i}`, text, pages: [{ number: 1, start: 0, end: text.length }], sections: [] },
    tokens: wordTokens(text),
  }));
  const joined = joinCollection({ id: '7', name: 'Shelf' }, docs);
  assert.equal(joined.tokens.ids.length, 5 + 4 + 6 + 1, 'every document\'s tokens, one </s>');
  assert.deepEqual(joined.doc.pages.map((p) => p.number), [1, 2, 3]);
  assert.equal(joinedPage(joined, 'doc1', 1), 2);
  assert.equal(joinedPage(joined, 'doc1', 2), undefined);
  // every joined token's characters are that word of its own document
  for (const m of joined.members) {
    for (let t = 0; t < m.tokenCount; t++) {
      const j = m.tokenBase + t;
      assert.equal(joined.doc.text.slice(joined.tokens.offsets[2 * j]!, joined.tokens.offsets[2 * j + 1]!), m.doc.text.slice(m.tokens.offsets[2 * t]!, m.tokens.offsets[2 * t + 1]!));
    }
  }
  // a range over all three documents splits into one per document, each citing its own text
  const whole: TextRange = { start: 0, end: joined.doc.text.length };
  const parts = splitAtDocuments(joined, [whole]);
  assert.equal(parts.length, 3);
  parts.forEach((r, i) => {
    const c = collectionCitation(joined, r.start, r.end, 1);
    assert.equal(c.documentId, `doc${i}`);
    assert.equal(c.documentTitle, `Doc ${i}`);
    assert.deepEqual([c.start, c.end], [0, docs[i]!.doc.text.length]);
    assert.equal(c.quote, quoteOf(docs[i]!.doc.text, 0, docs[i]!.doc.text.length));
    assert.equal(c.page, 1);
  });
});

test('asking a collection of three books: the answer is only in the second, and every citation names it; the cache follows the collection\'s documents', needsBook(FRANKENSTEIN, MOBY_DICK, PRIDE), async (t) => {
  if (!existsSync(path.join(bundled, 'config.json'))) return t.skip(`${bundled} is absent`);
  const home = tempHome();
  const library = Library.open({ home });
  // a small limit: windows are chosen by full-text search over the three books (no 128K read in a test)
  const limit = 4096;
  const assistant = await Assistant.open({ library, home, modelDir: bundled, threads: 1, maxDocumentTokens: limit });
  try {
    const ids: string[] = [];
    for (const rel of [FRANKENSTEIN, MOBY_DICK, PRIDE]) ids.push((await library.add(book(rel)!)).document.id);
    const moby = library.documents.load(ids[1]!)!;
    const shelf = library.collections.addDocuments(library.collections.create('Shelf').id, ids);
    const ask = (question: string, chatId?: string) => assistant.askCollection({ collectionId: String(shelf.id), question, ...(chatId ? { chatId } : {}) }, () => {}).result;

    const question = 'What is the name of the ship Ahab commands?';
    const r = await ask(question);
    assert.equal(r.cached, false);
    assert.ok(r.citations.length > 0);
    for (const c of r.citations) {
      assert.equal(c.documentId, moby.id, `"${c.quote.slice(0, 60)}…" is cited from ${c.documentTitle}`);
      assert.equal(c.documentTitle, moby.title);
      // ranges are the document's own: its text there, on the page of the document that holds it
      assert.ok(c.end <= moby.text.length && c.start < c.end);
      assert.equal(c.quote, quoteOf(moby.text, c.start, c.end));
      assert.equal(c.page, moby.pages.find((p) => p.start <= c.start && c.start < p.end)!.number);
    }
    assert.ok(r.citations.some((c) => /\bAhab\b/.test(c.quote)), 'a citation quotes the question\'s rarest word');
    // what was read of each book: within the limit, and only Moby-Dick's pages hold "Ahab"
    const read = r.collection!;
    assert.deepEqual(read.documents.map((d) => d.documentId), ids);
    const tokensRead = read.documents.flatMap((d) => d.windows).reduce((a, w) => a + w.endToken - w.startToken, 0);
    assert.ok(tokensRead > 0 && tokensRead <= limit - 1, `${tokensRead} tokens read`);
    assert.equal(r.documentTokens, read.documents.reduce((a, d) => a + d.documentTokens, 0));
    assert.ok(read.documents[1]!.windows.length > 0);
    assert.match(r.read.note!, /^The collection "Shelf" has [\d,]+ tokens, over the limit of 4,096; .*"Moby Dick; Or, The Whale" tokens/);
    for (const layer of r.evidence) for (const b of layer.blocks) {
      const doc = read.documents.find((d) => d.documentId === b.documentId);
      assert.ok(doc && b.endToken <= doc.documentTokens, 'each evidence block names its document and lies in it');
    }
    assert.deepEqual(library.chats.ofCollection(shelf.id).map((c) => String(c.id)), [r.chatId]);

    // the same question again: from the cache, unless the collection's documents changed
    const again = await ask(question);
    assert.equal(again.cached, true);
    assert.deepEqual(again.citations, r.citations);
    const note = path.join(home, 'note.txt');
    writeFileSync(note, 'A short note about nothing in particular, written for this test.\n');
    const extra = (await library.add(note)).document.id;
    library.collections.addDocuments(shelf.id, [extra]);
    const withNote = await ask(question);
    assert.equal(withNote.cached, false, 'a document added to the collection asks anew');
    assert.equal(withNote.collection!.documents.length, 4);
    library.collections.removeDocuments(shelf.id, [extra]);
    assert.equal((await ask(question)).cached, true);

    // a follow-up in the collection's chat is read with the turn before it
    const follow = await ask('and who is his mate?', r.chatId);
    assert.equal(follow.chatId, r.chatId);
    assert.match(follow.engine!.query, /^previous question: What is the name of the ship Ahab commands\? .*question: and who is his mate\? context:$/);
  } finally {
    await assistant.close();
    library.close();
  }
});

test('a collection\'s summaries are its documents\' own (cached as they are); an unknown or empty collection is a typed error', async () => {
  const o = await openTiny({ maxDocumentTokens: 2048 });
  const write = (name: string, body: string) => {
    const file = path.join(o.home, name);
    writeFileSync(file, `${name}\n\n${Array.from({ length: 30 }, (_, i) => `Sentence ${i + 1} of ${name} is about ${body} and nothing more than that.`).join(' ')}\n`);
    return file;
  };
  const a = (await o.library.add(write('harbour.txt', 'the harbour'))).document.id;
  const b = (await o.library.add(write('lighthouse.txt', 'the lighthouse'))).document.id;
  const empty = o.library.collections.create('Empty');
  const pair = o.library.collections.addDocuments(o.library.collections.create('Pair').id, [b, a]);

  await rejectsCode(o.assistant.askCollection({ collectionId: String(empty.id), question: 'Who?' }, () => {}).result, 'collection-empty');
  await rejectsCode(o.assistant.askCollection({ collectionId: '999', question: 'Who?' }, () => {}).result, 'collection-not-found');
  await rejectsCode(o.assistant.summarizeCollection({ collectionId: String(empty.id), length: 'short' }, () => {}).result, 'collection-empty');

  const alone = await o.assistant.summarize({ documentId: a, length: 'short' }, () => {}).result;
  const both = await o.assistant.summarizeCollection({ collectionId: String(pair.id), length: 'short' }, () => {}).result;
  assert.deepEqual(both.documents.map((d) => d.documentId), [b, a], "in the collection's order");
  assert.deepEqual(both.documents.map((d) => d.title), [o.library.documents.get(b)!.title, o.library.documents.get(a)!.title]);
  assert.equal(both.cached, false, 'one of them was not summarized yet');
  const fromCollection = both.documents[1]!.summary;
  assert.equal(fromCollection.cached, true, "the document's own cached summary");
  assert.equal(fromCollection.summary, alone.summary);
  assert.deepEqual(fromCollection.citations, alone.citations);
  const again = await o.assistant.summarizeCollection({ collectionId: String(pair.id), length: 'short' }, () => {}).result;
  assert.equal(again.cached, true);
  assert.deepEqual(again.documents.map((d) => d.summary.summary), both.documents.map((d) => d.summary.summary));
});

function longread(home: string, ...args: string[]) {
  const r = spawnSync(process.execPath, [path.join(repoRoot, 'bin', 'longread.mjs'), ...args], { cwd: repoRoot, env: { ...process.env, LONGREAD_HOME: home }, encoding: 'utf8' });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr, json: () => JSON.parse(r.stdout) };
}

test('longread ask|summarize --collection: typed errors for an unknown or empty collection, usage errors for a file or --chapter with it', async () => {
  const home = tempHome();
  assert.equal(longread(home, 'library', 'collection', 'create', 'Empty').code, 0);
  const unknown = longread(home, 'ask', '--collection', 'Nowhere', 'Who?', '--json');
  assert.equal(unknown.code, 1);
  assert.equal(unknown.json().error.code, 'collection-not-found');
  const empty = longread(home, 'summarize', '--collection', 'empty', '--json');
  assert.equal(empty.code, 1);
  assert.equal(empty.json().error.code, 'collection-empty');
  assert.match(empty.json().error.message, /"Empty" has no documents/);
  const both = longread(home, 'ask', 'book.txt', 'Who?', '--collection', 'Empty');
  assert.equal(both.code, 2);
  assert.match(both.stderr, /with --collection give only the question/);
  assert.equal(longread(home, 'ask', 'Who?', '--collection', 'Empty', '--chapter', '2').code, 2);
  assert.equal(longread(home, 'ask', 'Who?').code, 2, 'a question without a file or a collection');
});
