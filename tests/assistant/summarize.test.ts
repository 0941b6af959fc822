import assert from 'node:assert/strict';
import { cpSync, existsSync, mkdirSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { after, test } from 'node:test';
import { contentWords } from '../../main/assistant/sentences';
import { quoteOf } from '../../main/assistant/text-ranges';
import { book, cleanupAll, needsBook, openTiny, recorder, tempHome, tinyModel } from './helpers';

after(cleanupAll);

const FRANKENSTEIN = 'books/pg84.txt';
const ALICE = 'books/alice.epub';

function overlap(a: string, b: string): number {
  const x = new Set(contentWords(a));
  const y = new Set(contentWords(b));
  let inter = 0;
  for (const w of x) if (y.has(w)) inter++;
  return x.size + y.size - inter === 0 ? 0 : inter / (x.size + y.size - inter);
}

test('extractive chapter summary: sentences chosen by the engine, in document order, no near-duplicates, cached', needsBook(FRANKENSTEIN), async () => {
  const o = await openTiny({ maxDocumentTokens: 32_768 });
  const docId = (await o.library.add(book(FRANKENSTEIN)!)).document.id;
  const doc = o.library.documents.load(docId)!;
  const short = await o.assistant.summarize({ documentId: docId, section: 4, length: 'short' }, () => {}).result;
  assert.equal(short.kind, 'extractive');
  assert.equal(short.cached, false);
  assert.deepEqual(short.sections.map((s) => [s.index, s.title]), [[4, 'Chapter 1']]);
  assert.equal(short.sections[0]!.summary, short.summary);
  assert.ok(short.citations.length >= 2 && short.citations.length <= 5, `${short.citations.length} sentences`);
  assert.equal(short.summary, short.citations.map((c) => c.quote).join(' '), 'the summary is the chosen sentences');
  const section = doc.sections[4]!;
  for (const c of short.citations) {
    assert.equal(c.quote, quoteOf(doc.text, c.start, c.end));
    assert.ok(c.start >= section.start && c.end <= section.end, 'from the chapter');
    assert.ok(c.score > 0, 'ranked by the engine');
  }
  const starts = short.citations.map((c) => c.start);
  assert.deepEqual(starts, [...starts].sort((a, b) => a - b), 'document order');
  for (let i = 0; i < short.citations.length; i++)
    for (let j = i + 1; j < short.citations.length; j++) assert.ok(overlap(short.citations[i]!.quote, short.citations[j]!.quote) <= 0.6, 'no near-duplicates');

  const detailed = await o.assistant.summarize({ documentId: docId, section: 4, length: 'detailed' }, () => {}).result;
  assert.ok(detailed.citations.length > short.citations.length, 'detailed is longer');

  const t0 = performance.now();
  const again = await o.assistant.summarize({ documentId: docId, section: 4, length: 'short' }, () => {}).result;
  assert.ok(performance.now() - t0 < 300);
  assert.equal(again.cached, true);
  assert.equal(again.summary, short.summary);
  const fresh = await o.assistant.summarize({ documentId: docId, section: 4, length: 'short', regenerate: true }, () => {}).result;
  assert.equal(fresh.cached, false);
  assert.equal(fresh.summary, short.summary, 'the same engine run gives the same sentences');

  const rec = recorder();
  await assert.rejects(o.assistant.summarize({ documentId: docId, section: 99, length: 'short' }, rec.on).result, (e: { code?: string }) => e.code === 'section-not-found');
});

test('a book over the limit is summarized map–reduce: chapters first (each cached), then a summary of those', needsBook(ALICE), async () => {
  const o = await openTiny({ maxDocumentTokens: 16_384 });
  const docId = (await o.library.add(book(ALICE)!)).document.id;
  const doc = o.library.documents.load(docId)!;
  const rec = recorder();
  const r = await o.assistant.summarize({ documentId: docId, length: 'short' }, rec.on).result;
  assert.equal(r.kind, 'extractive');
  assert.ok(r.sections.length >= 10, `per-chapter summaries (${r.sections.length})`);
  const partRows = o.library.db.prepare("SELECT count(*) AS n FROM summary_cache WHERE scope LIKE 'part:%'").get() as { n: number };
  assert.ok(partRows.n >= r.sections.length, 'every map step is cached');
  const details = rec.events.filter((e) => e.type === 'progress' && e.stage === 'summarizing').map((e) => (e as { detail?: string }).detail ?? '');
  assert.ok(details.some((d) => /^part 1 of \d+/.test(d)) && details.includes('summary of the parts'));
  // the final sentences come from the chapter summaries
  const chapterText = r.sections.map((s) => s.summary).join(' ');
  assert.ok(r.citations.length > 0 && r.citations.length <= 5);
  for (const c of r.citations) {
    assert.ok(chapterText.includes(c.quote), 'a final sentence is one of the chapter sentences');
    assert.equal(c.quote, quoteOf(doc.text, c.start, c.end));
  }
  const starts = r.citations.map((c) => c.start);
  assert.deepEqual(starts, [...starts].sort((a, b) => a - b));
  const again = await o.assistant.summarize({ documentId: docId, length: 'short' }, () => {}).result;
  assert.equal(again.cached, true);
  assert.deepEqual(again.sections, r.sections);
});

test('models: import (validated, copied, active, abstractive), use, remove; bundled stays; bad folders are typed errors', needsBook(FRANKENSTEIN), async () => {
  const o = await openTiny({ maxDocumentTokens: 32_768, maxSummaryTokens: 12 });
  const source = await tinyModel();
  let list = o.assistant.models.list();
  assert.deepEqual(list.map((m) => [m.id, m.bundled, m.active, m.summaries, m.answers]), [['default', true, true, 'extractive', 'passages']]);
  assert.ok(list[0]!.parameters > 50_000);

  const progress: Array<{ done: number; total: number }> = [];
  const imported = await o.assistant.models.import(source, (p) => progress.push(p as { done: number; total: number }));
  assert.equal(imported.id, 'tiny-assistant');
  assert.equal(imported.active, true);
  assert.equal(imported.summaries, 'abstractive');
  assert.equal(imported.answers, 'whole');
  assert.equal(imported.dir, path.join(o.home, 'models', 'tiny-assistant'));
  assert.ok(existsSync(path.join(imported.dir, 'model.safetensors')) && existsSync(path.join(imported.dir, 'tokenizer.json')));
  assert.equal(progress.at(-1)!.done, progress.at(-1)!.total);

  const docId = (await o.library.add(book(FRANKENSTEIN)!)).document.id;
  const rec = recorder();
  const s = await o.assistant.summarize({ documentId: docId, section: 4, length: 'short' }, rec.on).result;
  assert.equal(s.kind, 'abstractive');
  assert.equal(s.model, 'tiny-assistant');
  assert.equal(rec.tokens().trim(), s.summary, 'an abstractive summary streams');
  const ask = await o.assistant.ask({ documentId: docId, question: 'Who?', sections: { from: 4, to: 4 }, modelId: 'default' }, () => {}).result;
  assert.equal(ask.model, 'default', 'a request can name its model');
  assert.equal(ask.answeredFrom, 'passages');

  // each model keeps its own compiled graphs (opening one must not prune the other's)
  const graphs = (id: string) => (existsSync(path.join(o.home, 'graph-cache', id)) ? readdirSync(path.join(o.home, 'graph-cache', id), { recursive: true }).filter((f) => String(f).endsWith('.onnx')) : []);
  assert.ok(graphs('default').length > 0 && graphs('tiny-assistant').length > 0, 'both models keep their graph caches');

  list = o.assistant.models.setActive('default');
  assert.deepEqual(list.filter((m) => m.active).map((m) => m.id), ['default']);
  await assert.rejects(async () => o.assistant.models.remove('default'), (e: { code?: string }) => e.code === 'model-bundled');
  list = await o.assistant.models.remove('tiny-assistant');
  assert.deepEqual(list.map((m) => m.id), ['default']);
  assert.ok(!existsSync(imported.dir));
  assert.deepEqual(graphs('tiny-assistant'), [], 'its graphs went with it');
  assert.ok(graphs('default').length > 0);
  await assert.rejects(async () => o.assistant.models.setActive('tiny-assistant'), (e: { code?: string }) => e.code === 'model-not-found');

  // a folder without weights, a missing folder
  const bad = path.join(tempHome(), 'no-weights');
  mkdirSync(bad);
  cpSync(path.join(source, 'config.json'), path.join(bad, 'config.json'));
  cpSync(path.join(source, 'tokenizer.json'), path.join(bad, 'tokenizer.json'));
  await assert.rejects(o.assistant.models.import(bad), (e: { code?: string; message: string }) => e.code === 'model-file-missing' && e.message.includes(bad));
  await assert.rejects(o.assistant.models.import(path.join(bad, 'nope')), (e: { code?: string }) => e.code === 'model-not-found');
  assert.deepEqual(readdirSync(path.join(o.home, 'models')).filter((f) => !f.endsWith('.json')), [], 'a refused import leaves nothing behind');
});

test('no model: ask and summarize fail with the typed no-model error', needsBook(FRANKENSTEIN), async () => {
  const home = tempHome();
  const o = await openTiny({ modelDir: path.join(home, 'absent') }, home);
  const docId = (await o.library.add(book(FRANKENSTEIN)!)).document.id;
  assert.deepEqual(o.assistant.models.list(), []);
  for (const job of [o.assistant.ask({ documentId: docId, question: 'Who?' }, () => {}), o.assistant.summarize({ documentId: docId, length: 'short' }, () => {})]) {
    await assert.rejects(job.result, (e: { code?: string }) => e.code === 'no-model');
  }
});
