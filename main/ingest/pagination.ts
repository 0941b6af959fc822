import type { DocumentPage, DocumentSection } from '../../common/document';

/** About one printed book page of prose. */
export const VIRTUAL_PAGE_CHARS = 2000;

/**
 * Cuts text that has no pages of its own into book-page-sized pieces, preferring paragraph
 * breaks, then sentence ends, then spaces, so a virtual page never splits a word.
 */
export function virtualPages(text: string, target = VIRTUAL_PAGE_CHARS): DocumentPage[] {
  const pages: DocumentPage[] = [];
  let start = 0;
  while (start < text.length) {
    let end = Math.min(text.length, start + target);
    if (end < text.length) end = breakPoint(text, start, end, target);
    pages.push({ number: pages.length + 1, start, end });
    start = end;
    while (start < text.length && /\s/.test(text[start]!)) start++;
  }
  return pages;
}

function breakPoint(text: string, start: number, end: number, target: number): number {
  const lo = start + Math.floor(target * 0.6);
  const hi = Math.min(text.length, start + Math.floor(target * 1.3));
  const para = nearest(text, '\n\n', lo, end, hi);
  if (para >= 0) return para;
  const window = text.slice(lo, hi);
  let best = -1;
  for (const m of window.matchAll(/[.!?]["'”’)]?\s/g)) {
    const at = lo + m.index! + m[0].length - 1;
    if (best < 0 || Math.abs(at - end) < Math.abs(best - end)) best = at;
  }
  if (best >= 0) return best;
  // searches stay inside the page's window: unbounded ones made text without spaces quadratic
  for (let i = end; i > start; i--) if (text[i] === ' ') return i;
  return end;
}

/** Position of `needle` in [lo, hi) closest to `around`, or -1. */
function nearest(text: string, needle: string, lo: number, around: number, hi: number): number {
  const window = text.slice(lo, hi + needle.length - 1);
  const before = window.lastIndexOf(needle, around - lo);
  const after = window.indexOf(needle, around - lo);
  const candidates = [before, after].filter((i) => i >= 0 && i + lo < hi).map((i) => i + lo);
  if (candidates.length === 0) return -1;
  return candidates.reduce((a, b) => (Math.abs(a - around) <= Math.abs(b - around) ? a : b));
}

/** 1-based number of the page containing `offset` (pages sorted, non-overlapping). */
export function pageAt(pages: DocumentPage[], offset: number): number {
  let lo = 0;
  let hi = pages.length - 1;
  let found = pages.length > 0 ? pages[0]!.number : 1;
  while (lo <= hi) {
    const mid = (lo + hi) >> 1;
    if (pages[mid]!.start <= offset) {
      found = pages[mid]!.number;
      lo = mid + 1;
    } else hi = mid - 1;
  }
  return found;
}

export interface SectionStart {
  title: string;
  level: number;
  start: number;
}

/**
 * Turns section starts (in any order) into ranges: a section runs until the next section
 * of the same or a higher level, or the end of the text (trailing blank lines left out).
 */
export function sectionRanges(starts: SectionStart[], text: string, pages: DocumentPage[]): DocumentSection[] {
  const textLength = text.length;
  const sorted = starts
    .map((s, i) => ({ ...s, i }))
    .filter((s) => s.title.trim().length > 0 && s.start >= 0 && s.start <= textLength)
    .sort((a, b) => a.start - b.start || a.i - b.i);
  // The end of each section is the start of the next one at its level or above: found with a
  // stack of open sections (levels rising), so deep tables of contents stay linear.
  const ends = new Array<number>(sorted.length).fill(textLength);
  const open: number[] = [];
  sorted.forEach((s, k) => {
    while (open.length > 0 && sorted[open[open.length - 1]!]!.level >= s.level) ends[open.pop()!] = s.start;
    open.push(k);
  });
  const trimmed = new Map<number, number>(); // trailing whitespace is dropped once per end
  return sorted.map((s, k) => {
    const raw = ends[k]!;
    let end = trimmed.get(raw);
    if (end === undefined) {
      end = raw;
      while (end > 0 && /\s/.test(text[end - 1]!)) end--;
      trimmed.set(raw, end);
    }
    return { title: s.title.trim(), level: s.level, start: s.start, end: Math.max(end, s.start), page: pageAt(pages, s.start) };
  });
}
