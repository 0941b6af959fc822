import type { TextRange } from '../../common/document';
import { contentWords } from './sentences';

/** A passage of the text read, ranked by the fusion of its lexical and its VCC evidence. */
export interface RankedPassage extends TextRange {
  /** Reciprocal-rank fusion of the two ranks below. */
  score: number;
  /** BM25 of the question's words (0: none of them occurs). */
  lexical: number;
  /** Attention of the question's VIP tokens on the passage: the VCC fine-block scores that fall in it. */
  attention: number;
}

/** Passages hold about this many words, cut at a sentence end where one comes soon enough. */
export const PASSAGE_WORDS = 120;
const MIN_WORDS = 90;
const MAX_WORDS = 160;
const TAIL_WORDS = 20;
const SENTENCE_END = /[.!?]["”’)\]_]*$/;

/**
 * Splits each range of `text` into passages of about PASSAGE_WORDS words, each ending at a
 * sentence end when one falls between MIN_WORDS and MAX_WORDS words. Linear in the text's length.
 */
export function passagesOf(text: string, ranges: TextRange[]): TextRange[] {
  const out: TextRange[] = [];
  const word = /\S+/g;
  for (const r of ranges) {
    word.lastIndex = r.start;
    let start = -1;
    let end = r.start;
    let count = 0;
    for (let m = word.exec(text); m && m.index < r.end; m = word.exec(text)) {
      if (start < 0) start = m.index;
      end = Math.min(r.end, m.index + m[0].length);
      count++;
      if ((count >= MIN_WORDS && SENTENCE_END.test(m[0])) || count >= MAX_WORDS) {
        out.push({ start, end });
        start = -1;
        count = 0;
      }
    }
    // a short tail joins the passage before it (when there is one in this range)
    if (start >= 0) {
      const prev = out[out.length - 1];
      if (count < TAIL_WORDS && prev && prev.start >= r.start) prev.end = end;
      else out.push({ start, end });
    }
  }
  return out;
}

const K1 = 1.2;
const B = 0.75;

/** Okapi BM25 of the question's content words in each passage (document frequencies over these passages). */
export function bm25(text: string, passages: TextRange[], question: string): Float64Array {
  const terms = [...new Set(contentWords(question))];
  const scores = new Float64Array(passages.length);
  if (terms.length === 0 || passages.length === 0) return scores;
  const index = new Map(terms.map((t, i) => [t, i]));
  const tf = passages.map(() => new Uint16Array(terms.length));
  const lengths = new Float64Array(passages.length);
  const df = new Float64Array(terms.length);
  passages.forEach((p, i) => {
    const words = contentWords(text.slice(p.start, p.end));
    lengths[i] = words.length;
    for (const w of words) {
      const t = index.get(w);
      if (t !== undefined && tf[i]![t]! < 65535) tf[i]![t]!++;
    }
    for (let t = 0; t < terms.length; t++) if (tf[i]![t]! > 0) df[t]++;
  });
  const avg = lengths.reduce((a, b) => a + b, 0) / passages.length || 1;
  const n = passages.length;
  for (let i = 0; i < n; i++) {
    let s = 0;
    for (let t = 0; t < terms.length; t++) {
      const f = tf[i]![t]!;
      if (f === 0) continue;
      const idf = Math.log(1 + (n - df[t]! + 0.5) / (df[t]! + 0.5));
      s += (idf * f * (K1 + 1)) / (f + K1 * (1 - B + (B * lengths[i]!) / avg));
    }
    scores[i] = s;
  }
  return scores;
}

/** Per passage: the fine-block scores (character ranges) that fall in it, split by overlap. */
export function attentionScores(passages: TextRange[], blocks: Array<TextRange & { score: number }>): Float64Array {
  const out = new Float64Array(passages.length);
  const starts = passages.map((p) => p.start);
  for (const b of blocks) {
    if (b.end <= b.start) continue;
    // first passage that ends after the block starts
    let lo = 0;
    let hi = passages.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (passages[mid]!.end <= b.start) lo = mid + 1;
      else hi = mid;
    }
    for (let i = lo; i < passages.length && starts[i]! < b.end; i++) {
      const overlap = Math.min(b.end, passages[i]!.end) - Math.max(b.start, passages[i]!.start);
      if (overlap > 0) out[i] += (b.score * overlap) / (b.end - b.start);
    }
  }
  return out;
}

/**
 * The fusion, chosen on the tune split of tests/bench/data/real-questions.json with the bundled model
 * at a 32K limit (tests/bench/real-questions.ts; citation recall of the five best: BM25 alone 27 of 42,
 * VCC attention alone 7, reciprocal-rank fusion of both over every passage 16, this 32): BM25's best
 * LEXICAL_CANDIDATES passages are reordered by reciprocal-rank fusion with their attention rank among
 * them. Lexical evidence chooses the candidates (the bundled model's attention alone rarely finds the
 * passage); attention decides among them.
 */
const LEXICAL_CANDIDATES = 10;
const RRF_K = 5;
const ATTENTION_WEIGHT = 0.5;

function ranksOf(scores: ArrayLike<number>): Float64Array {
  const order = Array.from({ length: scores.length }, (_, i) => i)
    .filter((i) => scores[i]! > 0)
    .sort((a, b) => scores[b]! - scores[a]! || a - b);
  const rank = new Float64Array(scores.length).fill(Infinity);
  order.forEach((i, r) => (rank[i] = r + 1));
  return rank;
}

/**
 * The passages of `ranges` best first: BM25's best candidates (the question's words) reordered by
 * their fusion with the VIP tokens' attention (VCC's fine blocks). When no question word occurs,
 * the attention alone ranks. Passages neither signal finds are left out.
 */
export function rankPassages(text: string, ranges: TextRange[], question: string, blocks: Array<TextRange & { score: number }>): RankedPassage[] {
  const passages = passagesOf(text, ranges);
  const lexical = bm25(text, passages, question);
  const attention = attentionScores(passages, blocks);
  const lexicalRank = ranksOf(lexical);
  const candidates = passages.flatMap((_, i) => (lexicalRank[i]! <= LEXICAL_CANDIDATES ? [i] : []));
  const ranked = (indices: number[], score: (i: number, attentionRank: number) => number): RankedPassage[] => {
    const attentionRank = ranksOf(indices.map((i) => attention[i]!));
    return indices
      .map((i, j) => ({ ...passages[i]!, score: score(i, attentionRank[j]!), lexical: lexical[i]!, attention: attention[i]! }))
      .filter((p) => p.score > 0)
      .sort((a, b) => b.score - a.score || a.start - b.start);
  };
  if (candidates.length === 0) return ranked([...passages.keys()], (_, r) => 1 / r);
  return ranked(candidates, (i, r) => 1 / (RRF_K + lexicalRank[i]!) + ATTENTION_WEIGHT / (RRF_K + r));
}
