/**
 * Training data for the default model, tokenized exactly as the engine will see it (engine/qa-format.ts):
 * encoder = qaQueryIds(question) ++ tok.encode(document) (with </s>), target = tok.encode(answer) (with </s>).
 * Documents are windows of real TRAINING text (never the evaluation books); questions are inserted facts at
 * random depths (1 to --max-facts per window, one asked, the others distractors) or cloze entity/number
 * questions from a real sentence of the window. Answers are spans of the document.
 *
 * Output (for models/recipe/train.py): OUT/train-<phase>.tokens (uint16 ids) and .index (int32 rows: encoder
 * offset, encoder length, query length, target offset, target length) per curriculum phase, the same for OUT/valid,
 * and OUT/sample.jsonl.
 *
 *   node bin/run-ts.mjs models/recipe/make-data.ts --tokenizer DIR --out DIR
 *     [--phases short:64-320:14000,medium:256-1024:6000,long:768-1800:2000]
 *        (name:MIN-MAX document tokens of real text:examples[:cloze share[:max facts[:reader share]]], the last three override the flags)
 *     [--valid 300] [--valid-range 256-1024] [--valid-split train] [--valid-cloze P] [--valid-reader P] [--reader 0] [--cloze 0.5] [--max-facts 3]
 *     [--same-kind 0] [--word-roles 0] [--open-values 0] [--seed 7]
 *   --reader     share of reader questions about real sentences (reader-questions.ts: "Who is the chief mate?"), each
 *                with distractor sentences of the same book that share its words; of the rest, --cloze are cloze
 *   --reader-rare N  keep a reader question whose answer is in more than N sentences of its book with chance N / count
 *   --reader-same-kind D  add up to D sentences of the book that give a question of the same kind with another answer
 *   --cloze      share of questions that are cloze questions from real sentences (the rest are inserted facts)
 *   --max-facts  facts inserted per document (1..N, one of them asked; the others are distractors)
 *   --same-kind  chance that the distractors use the asked fact's template, so only the role tells them apart
 *   --word-roles chance that a fact's role is a random word and a noun ("lantern keeper") instead of a listed role
 *   --open-values chance that a name, place, city or colour answer is a random word instead of a listed one
 *   --piece-words N add N made-up words (1-3 random letter pieces of the vocabulary, "glorvint") to the training
 *                words for roles, passwords and open values, so that every piece is sometimes an answer and
 *                copying has to work for any token, not only for the words it was trained to answer
 *   --valid-split eval: validation facts use the roles and values held out for evaluation (text is still training text)
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { loadTokenizer, type T5Tokenizer } from '../../engine/tokenizer';
import { qaQueryIds } from '../../engine/qa-format';
import { sentences, trainSources } from './corpus';
import { FACT_KINDS, makeCloze, makeFact, rng, type Rng, type Split } from './qa-gen';
import { bookNames, readerQuestions, type ReaderQuestion } from './reader-questions';

interface TokSource {
  name: string;
  sents: string[];
  ids: number[][];
  tokens: number;
  /** For reader questions: the book's names and lowercase words, the sentences that give a question, and word -> sentences. */
  names: Set<string>;
  vocab: Set<string>;
  askable: Map<string, number[]>;
  byWord: Map<string, number[]>;
}

interface Phase {
  name: string;
  range: [number, number];
  count: number;
  mix: Mix;
}

function parseRange(s: string): [number, number] {
  const m = /^(\d+)-(\d+)$/.exec(s);
  if (!m || Number(m[1]) > Number(m[2])) throw new Error(`bad length range "${s}" (want MIN-MAX)`);
  return [Number(m[1]), Number(m[2])];
}

function parsePhases(s: string, dflt: Mix): Phase[] {
  return s.split(',').map((p) => {
    const [name, range, count, cloze, maxFacts, reader] = p.split(':');
    if (!name || !/^[a-z0-9]+$/.test(name) || !range || !count || !/^\d+$/.test(count)) throw new Error(`bad phase "${p}" (want name:MIN-MAX:COUNT[:CLOZE[:MAXFACTS[:READER]]])`);
    const mix = { ...dflt, cloze: cloze ? Number(cloze) : dflt.cloze, maxFacts: maxFacts ? Number(maxFacts) : dflt.maxFacts, reader: reader ? Number(reader) : dflt.reader };
    return { name, range: parseRange(range), count: Number(count), mix };
  });
}

interface Mix {
  /** Share of reader questions (reader-questions.ts), drawn before cloze and facts; --reader-rare, --reader-same-kind. */
  reader: number;
  readerRare: number;
  readerSameKind: number;
  cloze: number;
  maxFacts: number;
  sameKind: number;
  wordRoles: number;
  openValues: number;
}

function wordPool(sources: TokSource[]): string[] {
  const counts = new Map<string, number>();
  for (const s of sources) for (const sent of s.sents) for (const w of sent.split(' ')) if (/^[a-z]{4,10}$/.test(w)) counts.set(w, (counts.get(w) ?? 0) + 1);
  return [...counts.entries()].filter(([, c]) => c >= 2).map(([w]) => w).sort();
}

/** Made-up lowercase words joined from random letter-only pieces of the tokenizer's vocabulary (distinct, sorted). */
function pieceWords(tok: T5Tokenizer, n: number, r: Rng): string[] {
  const vocab = Array.from({ length: tok.vocabSize }, (_, id) => tok.piece(id) ?? '');
  const starts = vocab.filter((p) => /^▁[a-zA-Z]{2,}$/.test(p)).map((p) => p.slice(1).toLowerCase());
  const inner = vocab.filter((p) => /^[a-z]+$/.test(p));
  const out = new Set<string>();
  while (out.size < n) {
    let w = r.pick(starts);
    for (let k = r.int(0, 2); k > 0; k--) w += r.pick(inner);
    if (w.length >= 3 && w.length <= 14) out.add(w);
  }
  return [...out].sort();
}

interface Example {
  question: string;
  answer: string;
  kind: string;
  docIds: number[];
  docText?: string;
}

const byKind = new WeakMap<TokSource[], Map<string, Array<[TokSource, number]>>>();
/** Every source's sentences that give a reader question, by kind of question (built once per source list). */
function askableByKind(srcs: TokSource[]): Map<string, Array<[TokSource, number]>> {
  let m = byKind.get(srcs);
  if (!m) {
    m = new Map();
    for (const s of srcs) for (const [kind, ks] of s.askable) m.set(kind, [...(m.get(kind) ?? []), ...ks.map((k): [TokSource, number] => [s, k])]);
    byKind.set(srcs, m);
  }
  return m;
}

/**
 * A reader question about a sentence of a book, in a window of L tokens around it at a random depth, with
 * one to four sentences from elsewhere in the book that share the question's words (and lack the answer)
 * put in at random places, so that the words alone do not find the answer.
 */
function readerExample(r: Rng, tok: T5Tokenizer, srcs: TokSource[], L: number, keepText: boolean, mix: Mix): Example | null {
  // a kind of question with weight sqrt(its sentences), so that the commonest ("Who said ...?") does not
  // crowd out the rest and the rarest are not learned by heart; then a sentence of that kind
  const sentsOf = askableByKind(srcs);
  const kinds = [...sentsOf.keys()].sort();
  if (kinds.length === 0) return null;
  let u = r.next() * kinds.reduce((a, k) => a + Math.sqrt(sentsOf.get(k)!.length), 0);
  const kind = kinds.find((k) => (u -= Math.sqrt(sentsOf.get(k)!.length)) < 0) ?? kinds[kinds.length - 1]!;
  let src: TokSource;
  let at: number;
  let q: ReaderQuestion | undefined;
  for (let tries = 0; ; tries++) {
    [src, at] = r.pick(sentsOf.get(kind)!);
    const qs = readerQuestions(src.sents[at]!, src.names, src.vocab, r);
    q = r.pick(qs.filter((x) => x.kind === kind).length > 0 ? qs.filter((x) => x.kind === kind) : qs);
    // --reader-rare N: an answer found in more than N sentences of its book (the heroine) is kept with
    // chance N / count, so that naming the book's commonest name is not a good guess
    if (!q || mix.readerRare <= 0 || tries >= 30 || r.next() < mix.readerRare / sentencesWith(src, q.answer)) break;
  }
  if (!q) return null;
  let start = at;
  let end = at + 1;
  let n = src.ids[at]!.length;
  const before = r.int(0, L);
  while (start > 0 && n < before) n += src.ids[--start]!.length;
  while (end < src.sents.length && n < L) n += src.ids[end++]!.length;
  const doc: Array<{ text: string; ids: number[] }> = [];
  for (let k = start; k < end; k++) doc.push({ text: src.sents[k]!, ids: src.ids[k]! });
  const shared = new Map<number, number>();
  for (const w of q.keywords) for (const k of src.byWord.get(w) ?? []) if ((k < start || k >= end) && !src.sents[k]!.includes(q.answer)) shared.set(k, (shared.get(k) ?? 0) + 1);
  // the sentences sharing most of the question's words (ties in book order)
  const pool = [...shared].sort((a, b) => b[1] - a[1] || a[0] - b[0]).slice(0, 8).map(([k]) => k);
  for (let d = Math.min(pool.length, r.int(1, 4)); d > 0; d--) {
    const k = pool.splice(r.int(0, pool.length - 1), 1)[0]!;
    doc.splice(r.int(0, doc.length), 0, { text: src.sents[k]!, ids: src.ids[k]! });
  }
  // --reader-same-kind D: up to D sentences that give a question of the same kind with another answer
  // ("“...,” said Tom" beside "“...,” said Daisy"), so the pattern alone does not find the answer
  const sameKind = (src.askable.get(kind) ?? []).filter((k) => (k < start || k >= end) && !src.sents[k]!.includes(q.answer));
  for (let d = Math.min(sameKind.length, mix.readerSameKind > 0 ? r.int(1, mix.readerSameKind) : 0); d > 0; d--) {
    const k = sameKind.splice(r.int(0, sameKind.length - 1), 1)[0]!;
    doc.splice(r.int(0, doc.length), 0, { text: src.sents[k]!, ids: src.ids[k]! });
  }
  const docIds = doc.flatMap((s) => s.ids);
  docIds.push(tok.eosId);
  return { question: q.question, answer: q.answer, kind: `reader-${q.kind}`, docIds, docText: keepText ? doc.map((s) => s.text).join(' ') : undefined };
}

const sentenceCounts = new WeakMap<TokSource, Map<string, number>>();
/** Sentences of the source that contain `text` (cached). */
function sentencesWith(src: TokSource, text: string): number {
  let counts = sentenceCounts.get(src);
  if (!counts) sentenceCounts.set(src, (counts = new Map()));
  let n = counts.get(text);
  if (n === undefined) counts.set(text, (n = src.sents.filter((x) => x.includes(text)).length));
  return Math.max(1, n);
}

function makeExample(r: Rng, tok: T5Tokenizer, srcs: TokSource[], weights: number[], pool: string[], keepText: boolean, range: [number, number], mix: Mix, split: Split = 'train'): Example {
  if (mix.reader > 0 && range[1] > 0 && r.next() < mix.reader) {
    const e = readerExample(r, tok, srcs, r.int(range[0], range[1]), keepText, mix);
    if (e) return e;
  }
  // source by token count
  let u = r.next() * weights[weights.length - 1]!;
  let si = weights.findIndex((w) => w >= u);
  if (si < 0) si = srcs.length - 1;
  const src = srcs[si]!;
  const L = r.int(range[0], range[1]);
  // window of whole sentences
  let start = r.int(0, Math.max(0, src.sents.length - 1));
  let end = start;
  let n = 0;
  while (end < src.sents.length && n < L) n += src.ids[end++]!.length;
  while (n < L && start > 0) n += src.ids[--start]!.length;
  const sentIdx = Array.from({ length: end - start }, (_, k) => start + k);
  const docSents: Array<{ text: string; ids: number[] }> = sentIdx.map((k) => ({ text: src.sents[k]!, ids: src.ids[k]! }));
  // trim to at most ~1.1 L tokens (a single long sentence can overshoot)
  let q: { question: string; answer: string; kind: string } | null = null;
  if (docSents.length > 0 && r.next() < mix.cloze) {
    for (let tries = 0; tries < 12 && !q; tries++) {
      const k = r.int(0, docSents.length - 1);
      const c = makeCloze(docSents[k]!.text, r);
      if (c) q = { question: c.question, answer: c.answer, kind: `cloze-${c.kind}` };
    }
  }
  if (!q) {
    const nFacts = r.int(1, mix.maxFacts);
    const used = new Set<string>();
    const kind = r.next() < mix.sameKind ? r.int(0, FACT_KINDS - 1) : undefined;
    const facts = Array.from({ length: nFacts }, () => makeFact(r, split, pool, used, kind, mix.wordRoles, mix.openValues));
    for (const f of facts) {
      const at = r.int(0, docSents.length);
      docSents.splice(at, 0, { text: f.statement, ids: tok.encode(f.statement, { addEos: false }) });
    }
    const f = r.pick(facts);
    q = { question: f.question, answer: f.answer, kind: `fact-${f.kind}` };
  }
  const docIds: number[] = [];
  for (const s of docSents) for (const id of s.ids) docIds.push(id);
  docIds.push(tok.eosId);
  return { ...q, docIds, docText: keepText ? docSents.map((s) => s.text).join(' ') : undefined };
}

function writeSplit(out: string, name: string, examples: Example[], tok: T5Tokenizer): number {
  const chunks: Uint16Array[] = [];
  const index = new Int32Array(examples.length * 5);
  let off = 0;
  examples.forEach((e, i) => {
    const qIds = qaQueryIds(tok, e.question);
    const enc = Uint16Array.from([...qIds, ...e.docIds]);
    const tgt = Uint16Array.from(tok.encode(e.answer, { addEos: true }));
    index.set([off, enc.length, qIds.length, off + enc.length, tgt.length], i * 5);
    chunks.push(enc, tgt);
    off += enc.length + tgt.length;
  });
  const all = new Uint16Array(off);
  let p = 0;
  for (const c of chunks) {
    all.set(c, p);
    p += c.length;
  }
  writeFileSync(path.join(out, `${name}.tokens`), all);
  writeFileSync(path.join(out, `${name}.index`), index);
  return off;
}

function arg(name: string): string | undefined {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1] : undefined;
}

const tokDir = arg('tokenizer');
const out = arg('out');
if (!tokDir || !out) {
  console.error('usage: make-data.ts --tokenizer DIR --out DIR [--phases name:MIN-MAX:COUNT,...] [--valid N] [--valid-range MIN-MAX] [--cloze P] [--max-facts N] [--same-kind P] [--word-roles P] [--seed S]');
  process.exit(2);
}
const tok = await loadTokenizer(tokDir);
if (tok.vocabSize > 65535) throw new Error('uint16 ids need a vocabulary below 65536');
const seed = Number(arg('seed') ?? 7);
const mix: Mix = { reader: Number(arg('reader') ?? 0), readerRare: Number(arg('reader-rare') ?? 0), readerSameKind: Number(arg('reader-same-kind') ?? 0), cloze: Number(arg('cloze') ?? 0.5), maxFacts: Number(arg('max-facts') ?? 3), sameKind: Number(arg('same-kind') ?? 0), wordRoles: Number(arg('word-roles') ?? 0), openValues: Number(arg('open-values') ?? 0) };
const phases = parsePhases(arg('phases') ?? 'short:64-320:14000,medium:256-1024:6000,long:768-1800:2000', mix);
const nValid = Number(arg('valid') ?? 300);
const validRange = parseRange(arg('valid-range') ?? '256-1024');
const validSplit = (arg('valid-split') ?? 'train') as Split;
if (validSplit !== 'train' && validSplit !== 'eval') throw new Error(`bad --valid-split "${validSplit}" (want train or eval)`);
const validMix: Mix = { ...mix, cloze: Number(arg('valid-cloze') ?? mix.cloze), reader: Number(arg('valid-reader') ?? mix.reader) };
const srcs: TokSource[] = [];
for (const s of await trainSources()) {
  const sents = sentences(s.text).filter((x) => x.length > 0);
  if (sents.length < 5) continue;
  const ids = sents.map((x) => tok.encode(x, { addEos: false }));
  const names = bookNames(sents);
  const vocab = new Set(sents.flatMap((x) => x.toLowerCase().split(/[^a-z]+/)).filter(Boolean));
  const probe = rng(0);
  const askable = new Map<string, number[]>();
  if (!s.name.includes('/')) sents.forEach((x, k) => {
    for (const kind of new Set(readerQuestions(x, names, vocab, probe).map((q) => q.kind))) askable.set(kind, [...(askable.get(kind) ?? []), k]);
  });
  const byWord = new Map<string, number[]>();
  sents.forEach((x, k) => {
    for (const w of new Set(x.toLowerCase().replace(/[^a-z' -]/g, ' ').split(/\s+/))) {
      if (w.length <= 2) continue;
      const list = byWord.get(w);
      if (list) list.push(k);
      else byWord.set(w, [k]);
    }
  });
  srcs.push({ name: s.name, sents, ids, tokens: ids.reduce((a, b) => a + b.length, 0), names, vocab, askable, byWord });
}
// Books are most of the prose; the license texts count half, so legal prose does not crowd out stories.
const weights: number[] = [];
let acc = 0;
for (const s of srcs) {
  acc += s.name.includes('/') ? s.tokens * 0.5 : s.tokens;
  weights.push(acc);
}
const pool = wordPool(srcs);
const trainPool = [...pool, ...pieceWords(tok, Number(arg('piece-words') ?? 0), rng(seed + 500))];
console.log(`sources: ${srcs.length}, tokens: ${srcs.reduce((a, s) => a + s.tokens, 0)}, sentences with reader questions: ${JSON.stringify(Object.fromEntries(srcs.flatMap((s) => [...s.askable].map(([k, v]) => [`${s.name}:${k}`, v.length]))))}, word pool: ${pool.length} (training: ${trainPool.length})`);
mkdirSync(out, { recursive: true });
const kinds = new Map<string, number>();
let sample: Example[] = [];
phases.forEach(({ name, range, count, mix: phaseMix }, k) => {
  const r = rng(seed + k);
  const ex = Array.from({ length: count }, (_, i) => makeExample(r, tok, srcs, weights, trainPool, i < 10, range, phaseMix));
  const t = writeSplit(out, `train-${name}`, ex, tok);
  console.log(`train-${name}: ${ex.length} examples, ${t} tokens`);
  for (const e of ex) kinds.set(e.kind, (kinds.get(e.kind) ?? 0) + 1);
  sample = sample.concat(ex.slice(0, 10));
});
const rv = rng(seed + 1000);
const valid = Array.from({ length: nValid }, () => makeExample(rv, tok, srcs, weights, pool, false, validRange, validMix, validSplit));
console.log(`valid: ${valid.length} examples, ${writeSplit(out, 'valid', valid, tok)} tokens`);
writeFileSync(
  path.join(out, 'sample.jsonl'),
  sample.map((e) => JSON.stringify({ kind: e.kind, question: e.question, answer: e.answer, docTokens: e.docIds.length, doc: e.docText })).join('\n') + '\n',
);
console.log('kinds:', JSON.stringify(Object.fromEntries([...kinds].sort())));
