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
 *        (name:MIN-MAX document tokens of real text:examples[:cloze share[:max facts]], the last two override the flags)
 *     [--valid 300] [--valid-range 256-1024] [--valid-split train] [--valid-cloze P] [--cloze 0.5] [--max-facts 3]
 *     [--same-kind 0] [--word-roles 0] [--open-values 0] [--seed 7]
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

interface TokSource {
  name: string;
  sents: string[];
  ids: number[][];
  tokens: number;
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
    const [name, range, count, cloze, maxFacts] = p.split(':');
    if (!name || !/^[a-z0-9]+$/.test(name) || !range || !count || !/^\d+$/.test(count)) throw new Error(`bad phase "${p}" (want name:MIN-MAX:COUNT[:CLOZE[:MAXFACTS]])`);
    const mix = { ...dflt, cloze: cloze ? Number(cloze) : dflt.cloze, maxFacts: maxFacts ? Number(maxFacts) : dflt.maxFacts };
    return { name, range: parseRange(range), count: Number(count), mix };
  });
}

interface Mix {
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

function makeExample(r: Rng, tok: T5Tokenizer, srcs: TokSource[], weights: number[], pool: string[], keepText: boolean, range: [number, number], mix: Mix, split: Split = 'train'): Example {
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
const mix: Mix = { cloze: Number(arg('cloze') ?? 0.5), maxFacts: Number(arg('max-facts') ?? 3), sameKind: Number(arg('same-kind') ?? 0), wordRoles: Number(arg('word-roles') ?? 0), openValues: Number(arg('open-values') ?? 0) };
const phases = parsePhases(arg('phases') ?? 'short:64-320:14000,medium:256-1024:6000,long:768-1800:2000', mix);
const nValid = Number(arg('valid') ?? 300);
const validRange = parseRange(arg('valid-range') ?? '256-1024');
const validSplit = (arg('valid-split') ?? 'train') as Split;
if (validSplit !== 'train' && validSplit !== 'eval') throw new Error(`bad --valid-split "${validSplit}" (want train or eval)`);
const validMix: Mix = { ...mix, cloze: Number(arg('valid-cloze') ?? mix.cloze) };
const srcs: TokSource[] = [];
for (const s of await trainSources()) {
  const sents = sentences(s.text).filter((x) => x.length > 0);
  if (sents.length < 5) continue;
  const ids = sents.map((x) => tok.encode(x, { addEos: false }));
  srcs.push({ name: s.name, sents, ids, tokens: ids.reduce((a, b) => a + b.length, 0) });
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
console.log(`sources: ${srcs.length}, tokens: ${srcs.reduce((a, s) => a + s.tokens, 0)}, word pool: ${pool.length} (training: ${trainPool.length})`);
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
