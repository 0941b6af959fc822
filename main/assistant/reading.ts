import type { DocumentPage, DocumentSection } from '../../common/document';
import { LongreadError } from '../../common/errors';
import { contentWords } from './sentences';
import { charEnd, charStart, mergeWindows, textTokenCount, tokenAtChar, type TokenWindow } from './text-ranges';
import type { AskOutcome, TokenizedText } from './types';

export interface ReadableDocument {
  id: string;
  title: string;
  text: string;
  pages: DocumentPage[];
  sections: DocumentSection[];
}

export interface ReadPlan {
  windows: TokenWindow[];
  read: AskOutcome['read'];
  /** Tokens of the whole document (its text, without </s>). */
  documentTokens: number;
}

/** Full-text search over the document's pages for one term: hit page numbers, best first. */
export type PageSearch = (term: string) => number[];

/** At most this many separate windows are read from a book over the limit. */
const MAX_WINDOWS = 4;

/** The token range of sections [from, to] (indices into the document's section list). */
export function sectionTokens(doc: ReadableDocument, tokens: TokenizedText, range: { from: number; to: number }): TokenWindow {
  const n = doc.sections.length;
  if (range.from > range.to || range.to >= n) {
    throw new LongreadError('section-not-found', `"${doc.title}" has ${n} section${n === 1 ? '' : 's'} (0–${Math.max(0, n - 1)}); sections ${range.from}–${range.to} do not exist.`);
  }
  const start = doc.sections[range.from]!.start;
  const end = Math.max(...doc.sections.slice(range.from, range.to + 1).map((s) => s.end));
  return { start: tokenAtChar(tokens, start), end: Math.min(textTokenCount(tokens), tokenAtChar(tokens, end)) };
}

const fmt = (n: number) => n.toLocaleString('en-US');

/**
 * What part of the document one encode reads. Within the limit: all of it (or the chosen
 * sections). Over it: the windows around the pages that full-text search finds most relevant to
 * the question (never a silent cut: the plan says which part was read and why).
 */
export function planRead(
  doc: ReadableDocument,
  tokens: TokenizedText,
  o: {
    limit: number;
    sections?: { from: number; to: number };
    question?: string;
    search?: PageSearch;
    /** What the notes call the text read (default: "the document", or the sections asked for). */
    scope?: string;
    /** How the notes name windows (default: token ranges with their pages). */
    describe?: (windows: TokenWindow[]) => string;
    /** Cut windows over the limit on whole segments of this size (alignWindows). */
    alignTo?: number;
  },
): ReadPlan {
  const documentTokens = textTokenCount(tokens);
  const base = o.sections ? sectionTokens(doc, tokens, o.sections) : { start: 0, end: documentTokens };
  const budget = Math.max(1, o.limit - 1); // one seat for </s>
  const scope = o.sections ? sectionsName(doc, o.sections) : (o.scope ?? 'the document');
  const describe = o.describe ?? ((ws: TokenWindow[]) => describeWindows(doc, tokens, ws));
  let windows: TokenWindow[];
  let note: string | undefined;
  if (base.end - base.start <= budget) {
    windows = [base];
    if (o.sections) note = `Read ${scope} (${describe(windows)}) as asked.`;
  } else {
    const scored = o.question && o.search ? scorePages(doc, o.question, o.search, tokens, base) : [];
    const terms = o.question ? [...new Set(contentWords(o.question))] : [];
    if (scored.length === 0) {
      windows = [{ start: base.start, end: base.start + budget }];
      note = `${cap(scope)} has ${fmt(base.end - base.start)} tokens, over the limit of ${fmt(o.limit)}; full-text search found no page with ${terms.length ? `the question's words (${terms.join(', ')})` : 'words from the question'}, so its beginning was read: ${describe(windows)}.`;
    } else {
      windows = chooseWindows(scored, base, budget);
      if (o.alignTo) windows = alignWindows(windows, o.alignTo, base);
      note = `${cap(scope)} has ${fmt(base.end - base.start)} tokens, over the limit of ${fmt(o.limit)}; read ${windows.length === 1 ? 'the window' : `${windows.length} windows`} around the pages where full-text search found ${terms.join(', ')}: ${describe(windows)}.`;
    }
  }
  const first = windows[0]!;
  const last = windows[windows.length - 1]!;
  const whole = !o.sections && windows.length === 1 && first.start === 0 && first.end === documentTokens;
  return {
    windows,
    documentTokens,
    read: {
      startToken: first.start,
      endToken: last.end,
      startChar: charStart(tokens, first.start),
      endChar: charEnd(tokens, last.end),
      whole,
      ...(note ? { note } : {}),
      windows: windows.map((w) => ({ startToken: w.start, endToken: w.end, startChar: charStart(tokens, w.start), endChar: charEnd(tokens, w.end) })),
    },
  };
}

function sectionsName(doc: ReadableDocument, r: { from: number; to: number }): string {
  const title = (i: number) => `"${doc.sections[i]!.title}"`;
  return r.from === r.to ? `section ${r.from + 1} (${title(r.from)})` : `sections ${r.from + 1}–${r.to + 1} (${title(r.from)} to ${title(r.to)})`;
}

function cap(s: string): string {
  return s[0]!.toUpperCase() + s.slice(1);
}

function describeWindows(doc: ReadableDocument, tokens: TokenizedText, windows: TokenWindow[]): string {
  return windows
    .map((w) => {
      const pages = pagesOf(doc.pages, charStart(tokens, w.start), charEnd(tokens, w.end));
      return `tokens ${fmt(w.start)}–${fmt(w.end)}${pages ? ` (${pages})` : ''}`;
    })
    .join(', ');
}

export function pagesOf(pages: DocumentPage[], start: number, end: number): string | null {
  const inside = pages.filter((p) => p.end > start && p.start < end);
  if (inside.length === 0) return null;
  const a = inside[0]!.number;
  const b = inside[inside.length - 1]!.number;
  return a === b ? `page ${a}` : `pages ${a}–${b}`;
}

interface ScoredPage {
  start: number;
  end: number;
  score: number;
}

/** Pages inside `base` that contain question words, weighted by how rare each word is in the document (idf). */
function scorePages(doc: ReadableDocument, question: string, search: PageSearch, tokens: TokenizedText, base: TokenWindow): ScoredPage[] {
  const byNumber = new Map(doc.pages.map((p) => [p.number, p]));
  const scores = new Map<number, number>();
  for (const term of new Set(contentWords(question))) {
    const hits = search(term);
    if (hits.length === 0) continue;
    const idf = Math.log(1 + doc.pages.length / hits.length);
    for (const page of hits) scores.set(page, (scores.get(page) ?? 0) + idf);
  }
  const out: ScoredPage[] = [];
  for (const [number, score] of scores) {
    const p = byNumber.get(number);
    if (!p) continue;
    const start = Math.max(base.start, tokenAtChar(tokens, p.start));
    const end = Math.min(base.end, tokenAtChar(tokens, p.end));
    if (end > start) out.push({ start, end, score });
  }
  return out.sort((a, b) => b.score - a.score || a.start - b.start);
}

/**
 * Windows centred on the best pages: up to MAX_WINDOWS seeds share the budget; overlapping
 * windows merge, and what merging frees is spent widening the windows evenly.
 */
function chooseWindows(pages: ScoredPage[], base: TokenWindow, budget: number): TokenWindow[] {
  const seeds: ScoredPage[] = [];
  const share = Math.floor(budget / MAX_WINDOWS);
  for (const p of pages) {
    if (seeds.length === MAX_WINDOWS) break;
    const centre = (p.start + p.end) / 2;
    if (seeds.some((s) => Math.abs((s.start + s.end) / 2 - centre) < share)) continue;
    seeds.push(p);
  }
  const per = Math.floor(budget / seeds.length);
  let windows = seeds.map((p) => clamp(Math.round((p.start + p.end) / 2 - per / 2), per, base));
  windows = mergeWindows(windows);
  for (let guard = 0; guard < 64; guard++) {
    const used = windows.reduce((a, w) => a + w.end - w.start, 0);
    const left = budget - used;
    if (left <= 0) break;
    const grow = Math.max(1, Math.floor(left / (2 * windows.length)));
    const before = used;
    windows = mergeWindows(windows.map((w) => ({ start: Math.max(base.start, w.start - grow), end: Math.min(base.end, w.end + grow) })));
    let total = windows.reduce((a, w) => a + w.end - w.start, 0);
    // growing may overshoot the budget by a few tokens when windows meet the base's edges
    while (total > budget) {
      const last = windows[windows.length - 1]!;
      const cut = Math.min(total - budget, last.end - last.start - 1);
      last.end -= cut;
      total -= cut;
    }
    if (total === before) break;
  }
  return windows;
}

/**
 * Windows moved onto whole segments of the document (multiples of `size` from its start), never
 * longer than they were: then the local layers of VCC's cached layout see the same segments
 * whatever the question, and their states are found in the engine-state store (prepared ahead,
 * or left by an earlier question). A window shorter than a segment stays as it is.
 */
export function alignWindows(windows: TokenWindow[], size: number, base: TokenWindow): TokenWindow[] {
  const down = (t: number) => base.start + Math.floor((t - base.start) / size) * size;
  const aligned = windows.map((w) => {
    if (w.end - w.start < size) return w;
    if (w.end === base.end) return { start: Math.min(w.end - 1, down(w.start + size - 1)), end: w.end };
    const start = down(w.start);
    return { start, end: start + Math.floor((w.end - w.start) / size) * size };
  });
  return mergeWindows(aligned);
}

function clamp(start: number, length: number, base: TokenWindow): TokenWindow {
  const s = Math.max(base.start, Math.min(start, base.end - length));
  return { start: s, end: Math.min(base.end, s + length) };
}

