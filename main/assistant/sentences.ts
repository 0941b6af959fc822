import type { TextRange } from '../../common/document';

const segmenter = new Intl.Segmenter('en', { granularity: 'sentence' });

/**
 * Line breaks inside paragraphs (hard-wrapped plain text) would end a sentence for the
 * segmenter; they become spaces (same length, so offsets stay valid). Blank lines stay breaks.
 */
function unwrap(text: string): string {
  return text.replace(/([^\n])\r?\n(?![ \t\r]*\n)/g, (m, before: string) => before + ' '.repeat(m.length - 1));
}

/** Longest piece handed to the segmenter at once: its cost grows much faster than linearly with the input. */
const PIECE = 2000;

/**
 * Paragraphs (split at blank lines), long ones cut further after a sentence-ending mark, so
 * every piece stays near PIECE characters. Offsets relative to `s`.
 */
function pieces(s: string): Array<[number, number]> {
  const out: Array<[number, number]> = [];
  const push = (a: number, b: number) => {
    while (b - a > 2 * PIECE) {
      const window = s.slice(a + PIECE, a + 2 * PIECE);
      const m = /[.!?]["”’)\]]*\s/.exec(window) ?? /\s/.exec(window);
      const cut = m ? a + PIECE + m.index + m[0].length : a + 2 * PIECE;
      out.push([a, cut]);
      a = cut;
    }
    if (b > a) out.push([a, b]);
  };
  let at = 0;
  for (const m of s.matchAll(/\n[ \t\r]*\n/g)) {
    push(at, m.index!);
    at = m.index! + m[0].length;
  }
  push(at, s.length);
  return out;
}

/** Sentences of text[start, end) as trimmed character ranges into `text`. */
export function sentencesIn(text: string, start = 0, end = text.length): TextRange[] {
  const slice = unwrap(text.slice(start, end));
  const out: TextRange[] = [];
  for (const [a, b] of pieces(slice)) {
    for (const seg of segmenter.segment(slice.slice(a, b))) {
      const s = seg.segment;
      const lead = s.length - s.trimStart().length;
      const trail = s.length - s.trimEnd().length;
      if (s.length - lead - trail <= 0) continue;
      out.push({ start: start + a + seg.index + lead, end: start + a + seg.index + s.length - trail });
    }
  }
  return out;
}

const MAX_QUOTE = 320;

/**
 * Widens [start, end) to the sentence(s) it touches when that stays short, otherwise to whole
 * words around its middle, at most MAX_QUOTE characters.
 */
export function snapQuote(text: string, start: number, end: number): TextRange {
  const from = Math.max(0, start - MAX_QUOTE);
  const to = Math.min(text.length, end + MAX_QUOTE);
  const touched = sentencesIn(text, from, to).filter((s) => s.end > start && s.start < end);
  if (touched.length > 0) {
    const s = touched[0]!.start;
    const e = touched[touched.length - 1]!.end;
    if (e - s <= MAX_QUOTE && s > from && e < to) return { start: s, end: e };
  }
  let s = start;
  let e = end;
  if (e - s > MAX_QUOTE) {
    const mid = (s + e) >> 1;
    s = mid - MAX_QUOTE / 2;
    e = mid + MAX_QUOTE / 2;
  }
  while (s > 0 && /\S/.test(text[s - 1]!) && start - s < 40) s--;
  while (e < text.length && /\S/.test(text[e]!) && e - end < 40) e++;
  while (s < e && /\s/.test(text[s]!)) s++;
  while (e > s && /\s/.test(text[e - 1]!)) e--;
  return { start: s, end: e };
}

const STOP = new Set(
  'the a an and or of to in on at by for with from as is was were be been are it its this that these those he she they we you i his her their our your him them me my not but so if then than there here which who whom what when where how all any some no nor into upon out up down over under about after before again very can could would should will shall may might must do did does done had has have having said'.split(' '),
);

/** Lower-cased content words (no stop words), for overlap measures and search terms. */
export function contentWords(s: string): string[] {
  return (s.toLowerCase().match(/[\p{L}\p{N}']+/gu) ?? []).map((w) => w.replace(/'s$/, '')).filter((w) => w.length > 2 && !STOP.has(w));
}

function jaccard(a: Set<string>, b: Set<string>): number {
  if (a.size === 0 || b.size === 0) return 0;
  let inter = 0;
  for (const w of a) if (b.has(w)) inter++;
  return inter / (a.size + b.size - inter);
}

export interface ScoredSentence extends TextRange {
  score: number;
}

/** Word overlap above which two sentences say the same thing: the later one is never taken. */
const NEAR_DUPLICATE = 0.6;

/**
 * Maximal marginal relevance: repeatedly takes the sentence with the best
 * λ·relevance − (1 − λ)·(word overlap with what was taken), never one that nearly repeats a
 * sentence already taken. Returns the chosen sentences in document order.
 */
export function pickSentences(text: string, candidates: ScoredSentence[], count: number, lambda = 0.7): ScoredSentence[] {
  const pool = candidates.filter((c) => c.score > 0);
  if (pool.length === 0) return [];
  const top = Math.max(...pool.map((c) => c.score));
  const words = pool.map((c) => new Set(contentWords(text.slice(c.start, c.end))));
  const chosen: number[] = [];
  const used = new Uint8Array(pool.length);
  while (chosen.length < count) {
    let best = -1;
    let bestValue = -Infinity;
    for (let i = 0; i < pool.length; i++) {
      if (used[i]) continue;
      const overlap = chosen.reduce((m, j) => Math.max(m, jaccard(words[i]!, words[j]!)), 0);
      if (overlap > NEAR_DUPLICATE) {
        used[i] = 1;
        continue;
      }
      const value = lambda * (pool[i]!.score / top) - (1 - lambda) * overlap;
      if (value > bestValue) [best, bestValue] = [i, value];
    }
    if (best < 0) break;
    used[best] = 1;
    chosen.push(best);
  }
  return chosen.map((i) => pool[i]!).sort((a, b) => a.start - b.start);
}
