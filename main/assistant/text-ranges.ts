import type { DocumentPage, DocumentSection } from '../../common/document';
import type { TokenizedText } from './types';

/** A run of original document tokens [start, end) that was fed to the engine. */
export interface TokenWindow {
  start: number;
  end: number;
}

/** Index of the first token whose range starts at or after `char` (ids.length when none). */
export function tokenAtChar(t: TokenizedText, char: number): number {
  let lo = 0;
  let hi = t.ids.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (t.offsets[2 * mid]! < char) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

export function charStart(t: TokenizedText, token: number): number {
  return t.offsets[2 * token]!;
}

export function charEnd(t: TokenizedText, tokenEnd: number): number {
  return tokenEnd > 0 ? t.offsets[2 * (tokenEnd - 1) + 1]! : 0;
}

/** Tokens of the text proper: documents are tokenized with </s> appended, which is left out here. */
export function textTokenCount(t: TokenizedText): number {
  return Math.max(0, t.ids.length - 1);
}

export function eosIdOf(t: TokenizedText): number {
  return t.ids[t.ids.length - 1]!;
}

/** The ids fed to the engine for `windows`: their tokens in order, then </s>. */
export function feedIds(t: TokenizedText, windows: TokenWindow[], eosId: number): Int32Array {
  const total = windows.reduce((a, w) => a + w.end - w.start, 0);
  const out = new Int32Array(total + 1);
  let at = 0;
  for (const w of windows) {
    out.set(t.ids.subarray(w.start, w.end), at);
    at += w.end - w.start;
  }
  out[at] = eosId;
  return out;
}

/** The windows in document order, overlapping or touching ones joined. */
export function mergeWindows(ws: TokenWindow[]): TokenWindow[] {
  const sorted = [...ws].sort((a, b) => a.start - b.start);
  const out: TokenWindow[] = [];
  for (const w of sorted) {
    const last = out[out.length - 1];
    if (last && w.start <= last.end) last.end = Math.max(last.end, w.end);
    else out.push({ ...w });
  }
  return out;
}

/** Maps a fed token range [start, end) back to original token ranges (split at window seams; the </s> drops out). */
export function originalRanges(windows: TokenWindow[], start: number, end: number): TokenWindow[] {
  const out: TokenWindow[] = [];
  let fed = 0;
  for (const w of windows) {
    const len = w.end - w.start;
    const s = Math.max(start, fed);
    const e = Math.min(end, fed + len);
    if (e > s) out.push({ start: w.start + s - fed, end: w.start + e - fed });
    fed += len;
  }
  return out;
}

/** The page holding character `char` (1-based number), or undefined when the document has no pages. */
export function pageAt(pages: DocumentPage[], char: number): number | undefined {
  let lo = 0;
  let hi = pages.length - 1;
  let found: DocumentPage | undefined;
  while (lo <= hi) {
    const mid = (lo + hi) >> 1;
    if (pages[mid]!.start <= char) {
      found = pages[mid];
      lo = mid + 1;
    } else hi = mid - 1;
  }
  return found?.number;
}

/** The innermost section containing `char`, with its index in the document's section list. */
export function sectionAt(sections: DocumentSection[], char: number): { index: number; title: string } | undefined {
  let best: { index: number; title: string; level: number } | undefined;
  sections.forEach((s, index) => {
    if (s.start <= char && char < s.end && (!best || s.level >= best.level)) best = { index, title: s.title, level: s.level };
  });
  return best ? { index: best.index, title: best.title } : undefined;
}

/** Text as quoted: whitespace runs (line wraps) become single spaces. */
export function quoteOf(text: string, start: number, end: number): string {
  return text.slice(start, end).replace(/\s+/g, ' ').trim();
}
