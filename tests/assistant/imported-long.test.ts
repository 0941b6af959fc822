import assert from 'node:assert/strict';
import { after, test } from 'node:test';
import { book, cleanupAll, needsBook, openTiny, recorder, tinyModel } from './helpers';

after(cleanupAll);

const BOOK = 'books/pg84.txt';

// An imported model answers from the whole compressed text; over 16,384 tokens its decoder reads
// the best blocks token by token and the rest as block means (presets.ts: decoderBlocks).
test('an imported model asked about 32K tokens of a real book answers with quotes of the text read', needsBook(BOOK), async () => {
  const o = await openTiny({ maxDocumentTokens: 32_768, confidentAt: 0 });
  await o.assistant.models.import(await tinyModel());
  const docId = (await o.library.add(book(BOOK)!)).document.id;
  const ask = async (question: string) => {
    const rec = recorder();
    const r = await o.assistant.ask({ documentId: docId, question }, rec.on).result;
    return { r, rec };
  };
  const flat = (t: string) => t.replace(/\s+/g, ' ').trim();
  const text = o.library.documents.load(docId)!.text;
  for (const question of ['Who does Victor Frankenstein marry?', 'Where was the monster created?']) {
    const { r, rec } = await ask(question);
    assert.equal(r.model, 'tiny-assistant');
    assert.equal(r.answeredFrom, 'whole');
    const readTokens = r.read.windows.reduce((a, w) => a + w.endToken - w.startToken, 0);
    assert.ok(readTokens > 16_384, `more is read than the decoder reads token by token (${readTokens})`);
    const read = r.read.windows.map((w) => flat(text.slice(w.startChar, w.endChar))).join(' ');
    assert.ok(r.answer.length > 0, 'every answer is shown at confidentAt 0');
    assert.ok(read.includes(flat(r.answer)), `the answer "${r.answer}" is a quote of the text read`);
    assert.equal(rec.tokens(), r.answer);
    assert.ok(r.citations.length > 0);
  }
});
