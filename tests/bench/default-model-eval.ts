/**
 * Benchmark (not a test): question answering with the bundled default model (models/default) over the
 * EVALUATION books only (Moby Dick pg2701, Pride and Prejudice pg1342; the model never trained on them).
 * For each context length, documents are windows of real text from each book; per document, made-up facts
 * are inserted at random depths (roles and values held out from training) and cloze entity/number questions
 * are built from real sentences at random depths of the window. Every answer is a span of the document.
 * Answers are quotes of the text each method reads, as the assistant answers (engine quoteFrom); --free
 * generates without that constraint. Exact match and F1 (SQuAD normalization) for:
 *   vcc-cached  VCC, the assistant's layout (local-layer states cached per document), answered from the whole
 *               compressed document (how the assistant answers with an imported model)
 *   vcc-reread  the same encode; the passages VCC ranked highest (main/assistant/passages.ts) read again densely
 *               and answered from (how the assistant answers with the bundled model)
 *   vcc-paper   VCC, the paper's layout (4K and 16K only: cheap there)
 *   trunc-4k    dense attention on the first 4K tokens (question + start of the document)
 *   dense       dense attention on everything (4K and 16K only; --dense16k limits it to a subset at 16K, ~20 s a question)
 *
 *   node bin/run-ts.mjs tests/bench/default-model-eval.ts [--model models/default] [--lengths 4096,16384,65536,131072]
 *        [--questions 16] [--dense16k 16] [--seed 11] [--free] [--compression accurate] [--fine-blocks H] [--json out.json]
 *        [--precision fp32|int8] [--groups 8:10] [--decoder-blocks N]
 * --compression takes the assistant's preset (block size k and fine blocks h; default accurate: k 16, h 90, the app's
 * default); --fine-blocks overrides h, for both layouts; --groups overrides the preset's groups of blocks (1:0: two levels);
 * --decoder-blocks the preset's blocks the decoder reads as tokens (0: every token).
 * Per VCC answer the JSON details give the score rank of the answer's block in each VCC layer (null: not kept).
 */
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { Engine, type EncodeRequest } from '../../engine/engine';
import { PRECISIONS, type Precision } from '../../engine/graph/quantize';
import type { LayerEvidence } from '../../engine/vcc/encoder';
import { qaQueryIds } from '../../engine/qa-format';
import type { CompressionPreset } from '../../common/api';
import { rereadWindows } from '../../main/assistant/passages';
import { PRESET_BLOCKS } from '../../main/assistant/presets';
import { feedIds } from '../../main/assistant/text-ranges';
import type { TokenizedText } from '../../main/assistant/types';
import type { T5Tokenizer } from '../../engine/tokenizer';
import { evalSources, sentences } from '../../models/recipe/corpus';
import { exactMatch, f1Score, makeCloze, makeFact, rng, type Rng } from '../../models/recipe/qa-gen';

const arg = (name: string, dflt: string) => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? process.argv[i + 1]! : dflt;
};
const modelDir = path.resolve(arg('model', 'models/default'));
const lengths = arg('lengths', '4096,16384,65536,131072').split(',').map(Number);
const perLength = Number(arg('questions', '16'));
const dense16k = Number(arg('dense16k', '16'));
const seed = Number(arg('seed', '11'));
const jsonOut = arg('json', '');
const quote = !process.argv.includes('--free');
const compression = arg('compression', 'accurate') as CompressionPreset;
if (!PRESET_BLOCKS[compression]) throw new Error(`--compression: one of ${Object.keys(PRESET_BLOCKS).join(', ')}`);
const fineBlocks = process.argv.includes('--fine-blocks') ? Number(arg('fine-blocks', '90')) : PRESET_BLOCKS[compression].fineBlocks;
const blockSize = PRESET_BLOCKS[compression].blockSize;
// Groups of blocks (blocks per group : groups kept); default the preset's, 1:0 the paper's two levels.
const [groupBlocks, keptGroups] = process.argv.includes('--groups') ? arg('groups', '1:0').split(':').map(Number) : [PRESET_BLOCKS[compression].groupBlocks, PRESET_BLOCKS[compression].keptGroups];
const decoderBlocks = process.argv.includes('--decoder-blocks') ? Number(arg('decoder-blocks', '0')) : PRESET_BLOCKS[compression].decoderBlocks;
const precision = arg('precision', 'fp32') as Precision;
if (!PRECISIONS.includes(precision)) throw new Error(`--precision: one of ${PRECISIONS.join(', ')}`);
const TRUNC = 4096;
const MAX_NEW = 12;

interface Book {
  name: string;
  sents: string[];
  ids: number[][];
}
interface Question {
  question: string;
  answer: string;
  kind: 'fact' | 'cloze';
  /** Token position of the answer's sentence in the document (0..1). */
  depth: number;
  /** Whether the answer's sentence lies inside the first 4K tokens of the encoder input. */
  inFirst4k: boolean;
  /** Token range [start, end) of the answer's sentence in the document. */
  span: [number, number];
}
interface Doc {
  book: string;
  ids: number[];
  /** The document as the assistant holds it: its text, and ids with each token's character range. */
  text: string;
  tokens: TokenizedText;
  questions: Question[];
}

function buildDoc(r: Rng, tok: T5Tokenizer, book: Book, length: number, nQ: number, words: string[]): Doc {
  const budget = length - 40; // room for the question (the encoder input is question + document ≤ length)
  let total = 0;
  for (const s of book.ids) total += s.length;
  const factIds = (t: string) => tok.encode(t, { addEos: false });
  // choose a window of whole sentences of ~budget tokens (minus room for the inserted facts)
  const nFacts = Math.ceil(nQ / 2);
  const nCloze = nQ - nFacts;
  const room = budget - nFacts * 16;
  if (total < room) throw new Error(`${book.name} has only ${total} tokens, fewer than ${room}`);
  let start = r.int(0, book.sents.length - 1);
  let end = start;
  let n = 0;
  while (end < book.sents.length && n + book.ids[end]!.length <= room) n += book.ids[end++]!.length;
  while (start > 0 && n + book.ids[start - 1]!.length <= room) n += book.ids[--start]!.length;
  const sents: Array<{ text: string; ids: number[]; q?: Question }> = [];
  for (let k = start; k < end; k++) sents.push({ text: book.sents[k]!, ids: book.ids[k]! });
  // cloze questions from real sentences at random depths (one per sentence, distinct sentences)
  const used = new Set<number>();
  let tries = 0;
  let made = 0;
  while (made < nCloze && tries++ < 5000) {
    const k = r.int(0, sents.length - 1);
    if (used.has(k)) continue;
    const c = makeCloze(sents[k]!.text, r);
    if (!c) continue;
    used.add(k);
    sents[k]!.q = { question: c.question, answer: c.answer, kind: 'cloze', depth: 0, inFirst4k: false, span: [0, 0] };
    made++;
  }
  // inserted facts (held-out roles and values), each at a uniformly random depth
  const roles = new Set<string>();
  for (let i = 0; i < nFacts; i++) {
    const f = makeFact(r, 'eval', words, roles);
    const at = r.int(0, sents.length);
    sents.splice(at, 0, { text: f.statement, ids: factIds(f.statement), q: { question: f.question, answer: f.answer, kind: 'fact', depth: 0, inFirst4k: false, span: [0, 0] } });
  }
  const ids: number[] = [];
  const offsets: number[] = [];
  let text = '';
  const questions: Question[] = [];
  for (const s of sents) {
    const o = tok.encodeWithOffsets(s.text);
    if (o.ids.join() !== s.ids.join()) throw new Error(`tokenizing with offsets gave other ids for: ${s.text}`);
    for (const [a, b] of o.offsets) offsets.push(text.length + a, text.length + b);
    text += s.text + ' ';
    if (s.q) {
      const qLen = qaQueryIds(tok, s.q.question).length;
      s.q.depth = ids.length;
      s.q.span = [ids.length, ids.length + s.ids.length];
      s.q.inFirst4k = qLen + ids.length + s.ids.length <= TRUNC - 1;
      questions.push(s.q);
    }
    for (const id of s.ids) ids.push(id);
  }
  ids.push(tok.eosId);
  offsets.push(text.length, text.length);
  for (const q of questions) q.depth /= ids.length;
  return { book: book.name, ids, text, tokens: { ids: Int32Array.from(ids), offsets: Int32Array.from(offsets) }, questions: questions.slice(0, nQ) };
}

type Method = 'vcc-cached' | 'vcc-reread' | 'vcc-paper' | 'trunc-4k' | 'dense';
interface Cell {
  em: number;
  f1: number;
  n: number;
  seconds: number;
  /** VCC: questions whose answer's sentence the last VCC layer kept at full resolution, and their EM. */
  kept?: number;
  keptEm?: number;
}

/**
 * Per VCC layer, the score rank of the first kept block that overlaps the answer's sentence, or null
 * when VCC did not keep it: tells a missed selection apart from a kept block the model misread.
 * 'all' when the layer kept every block (a text of at most h blocks: nothing is ranked).
 */
type Rank = number | null | 'all';
function answerRanks(evidence: LayerEvidence[], [start, end]: [number, number]): Rank[] {
  return evidence.map((layer) => {
    if (layer.blocks.length === 0) return 'all';
    const i = [...layer.blocks].sort((a, b) => b.score - a.score).findIndex((b) => b.end > start && b.start < end);
    return i < 0 ? null : i + 1;
  });
}

/** The bundled model's answer: VCC's best passages (the assistant's rereadWindows) read again densely. */
async function reread(engine: Engine, tok: T5Tokenizer, doc: Doc, queryIds: number[], evidence: LayerEvidence[]): Promise<string> {
  const windows = rereadWindows(evidence, [{ start: 0, end: doc.ids.length - 1 }], doc.tokens, doc.text);
  const documentIds = windows.length > 0 ? Array.from(feedIds(doc.tokens, windows, tok.eosId)) : doc.ids;
  const enc = await engine.encode({ queryIds, documentIds, attention: 'dense' });
  const out = await engine.generate(enc, { maxNewTokens: MAX_NEW, quoteFrom: quote ? documentIds : undefined });
  return tok.decode(out.outputIds, { skipSpecial: true }).trim();
}

/** The method's answer; for vcc-cached also the reread answer from the same encode. */
async function answer(engine: Engine, tok: T5Tokenizer, doc: Doc, q: Question, method: Method, cache: Map<string, Float32Array>): Promise<{ pred: string; ranks?: Rank[]; reread?: string }> {
  const queryIds = qaQueryIds(tok, q.question);
  let req: EncodeRequest;
  if (method === 'trunc-4k') {
    const keep = Math.max(0, TRUNC - queryIds.length - 1);
    const documentIds = doc.ids.length > keep + 1 ? [...doc.ids.slice(0, keep), tok.eosId] : doc.ids;
    req = { queryIds, documentIds, attention: 'dense' };
  } else if (method === 'dense') {
    req = { queryIds, documentIds: doc.ids, attention: 'dense' };
  } else {
    req = { queryIds, documentIds: doc.ids, attention: 'vcc', vcc: { layout: method === 'vcc-cached' ? 'cached' : 'paper', blockSize, fineBlocks, groupBlocks, keptGroups, decoderBlocks }, localCache: method === 'vcc-cached' ? { get: (keys) => keys.map((k) => cache.get(k)), set: (entries) => entries.forEach((e) => cache.set(e.key, e.states)) } : undefined };
  }
  const enc = await engine.encode(req);
  const out = await engine.generate(enc, { maxNewTokens: MAX_NEW, quoteFrom: quote ? req.documentIds : undefined });
  const pred = tok.decode(out.outputIds, { skipSpecial: true }).trim();
  if (req.attention !== 'vcc') return { pred };
  return { pred, ranks: answerRanks(enc.evidence, q.span), reread: method === 'vcc-cached' ? await reread(engine, tok, doc, queryIds, enc.evidence) : undefined };
}

const engine = await Engine.open(modelDir, { threads: 2, precision });
const tok = await engine.tokenizer();
const books: Book[] = (await evalSources()).map((s) => {
  const sents = sentences(s.text);
  return { name: s.name, sents, ids: sents.map((x) => tok.encode(x, { addEos: false })) };
});
const words = [...new Set(books.flatMap((b) => b.sents.flatMap((s) => s.split(' ')).filter((w) => /^[a-z]{4,10}$/.test(w))))].sort();

const results: Record<string, Record<string, Cell & { byKind: Record<string, { em: number; n: number }> }>> = {};
const details: unknown[] = [];
const started = Date.now();
const label = (n: number) => `${Math.round(n / 1024)}K`;

for (const length of lengths) {
  const r = rng(seed + length);
  // two documents per length, one from each book
  const docs = books.map((b) => buildDoc(r, tok, b, length, Math.ceil(perLength / books.length), words));
  const methods: Method[] = length <= 4096 ? ['vcc-cached', 'vcc-paper', 'dense'] : length <= 16384 ? ['vcc-cached', 'vcc-paper', 'trunc-4k', 'dense'] : ['vcc-cached', 'trunc-4k'];
  const row: (typeof results)[string] = {};
  const pct = (cell: Cell, x: number) => ((100 * x) / Math.max(1, cell.n)).toFixed(1);
  const newCell = () => ({ em: 0, f1: 0, n: 0, seconds: 0, kept: 0, keptEm: 0, byKind: {} as Record<string, { em: number; n: number }> });
  for (const method of methods) {
    const cache = new Map<string, Float32Array>();
    const cells: Partial<Record<Method, ReturnType<typeof newCell>>> = {};
    const score = (m: Method, doc: Doc, q: Question, pred: string, ranks?: Rank[]) => {
      const cell = (cells[m] ??= newCell());
      const em = exactMatch(pred, q.answer);
      cell.em += em;
      cell.f1 += f1Score(pred, q.answer);
      cell.n++;
      const k = (cell.byKind[q.kind] ??= { em: 0, n: 0 });
      k.em += em;
      k.n++;
      details.push({ length, method: m, book: doc.book, tokens: doc.ids.length, kind: q.kind, depth: Number(q.depth.toFixed(3)), inFirst4k: q.inFirst4k, question: q.question, answer: q.answer, pred, em, ranks });
      if (ranks && ranks[ranks.length - 1] !== null) {
        cell.kept++;
        cell.keptEm += em;
      }
    };
    const t0 = Date.now();
    // dense at 16K runs on a subset (the first questions of each document), VCC on the same subset is reported too
    const limit = method === 'dense' && length > 4096 ? Math.ceil(dense16k / docs.length) : Infinity;
    for (const doc of docs) {
      for (const q of doc.questions.slice(0, limit)) {
        const { pred, ranks, reread } = await answer(engine, tok, doc, q, method, cache);
        score(method, doc, q, pred, ranks);
        if (reread !== undefined) score('vcc-reread', doc, q, reread, ranks);
      }
    }
    for (const [m, cell] of Object.entries(cells) as Array<[Method, ReturnType<typeof newCell>]>) {
      cell.seconds = (Date.now() - t0) / 1000;
      row[m] = cell;
      const kept = m.startsWith('vcc') ? `; answer's sentence kept by the last VCC layer for ${cell.kept}, answered ${cell.keptEm} of those` : '';
      const shared = m === 'vcc-reread' ? ', time shared with vcc-cached' : '';
      console.log(`${label(length)} ${m}: EM ${pct(cell, cell.em)} F1 ${pct(cell, cell.f1)} (n=${cell.n}, ${cell.seconds.toFixed(0)} s${shared}${kept})`);
    }
    if (method === 'dense' && length > 4096) {
      // VCC (cached) on exactly the dense subset, for the within-5-EM comparison
      const sub = details.filter((d: any) => d.length === length && d.method === 'vcc-cached' && docs.some((doc) => doc.book === d.book && doc.questions.slice(0, limit).some((q) => q.question === d.question)));
      const em = sub.reduce((a: number, d: any) => a + d.em, 0);
      row['vcc-cached@dense-subset'] = { em, f1: NaN, n: sub.length, seconds: 0, byKind: {} };
      console.log(`${label(length)} vcc-cached on the dense subset: EM ${((100 * em) / Math.max(1, sub.length)).toFixed(1)} (n=${sub.length})`);
    }
  }
  const inFirst = docs.flatMap((d) => d.questions).filter((q) => q.inFirst4k).length;
  console.log(`${label(length)}: ${inFirst} of ${docs.reduce((a, d) => a + d.questions.length, 0)} answers lie in the first 4K tokens`);
  results[label(length)] = row;
  if (jsonOut) writeFileSync(jsonOut, JSON.stringify({ model: modelDir, precision, seed, results, details }, null, 1));
}

const cols: Array<[string, string]> = [
  ['vcc-cached', 'VCC (cached)'],
  ['vcc-reread', 'VCC + reread'],
  ['vcc-paper', 'VCC (paper)'],
  ['trunc-4k', 'trunc 4K'],
  ['dense', 'dense'],
];
const fmt = (c?: Cell) => (c ? `${((100 * c.em) / c.n).toFixed(1)} / ${((100 * c.f1) / c.n).toFixed(1)}`.padEnd(13) : '—'.padEnd(13));
console.log(`\nEM / F1 (%), ${precision}, ${quote ? 'quoted' : 'free'} answers, questions per length: ${perLength} (dense at 16K: ${dense16k}); ${((Date.now() - started) / 60000).toFixed(1)} min`);
console.log(`| length | ${cols.map(([, h]) => h.padEnd(13)).join(' | ')} |`);
console.log(`|---|${cols.map(() => '---').join('|')}|`);
for (const [len, row] of Object.entries(results)) {
  // at 4K the truncation is the whole input: dense 4K is truncation 4K
  const trunc = row['trunc-4k'] ?? (len === '4K' ? row['dense'] : undefined);
  console.log(`| ${len} | ${[fmt(row['vcc-cached']), fmt(row['vcc-reread']), fmt(row['vcc-paper']), fmt(trunc), fmt(row['dense'])].join(' | ')} |`);
}
await engine.close();
