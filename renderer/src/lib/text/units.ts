import type { DocumentPage, DocumentSection } from '../../../../common/document';

/** A piece of a reflowed document shown at once: a chapter, or a run of pages when there are no chapters. */
export interface ReadingUnit {
  title: string;
  start: number;
  end: number;
  /** The index in `sections` when the unit is a section. */
  sectionIndex?: number;
}

export interface Paragraph {
  start: number;
  end: number;
  /** Pages (1-based) that start inside this paragraph. */
  pagesStarting: number[];
}

const MAX_UNIT = 150_000;
const PAGES_PER_UNIT = 10;

/**
 * Chapters to page through: the top-level sections (text before the first becomes "Beginning");
 * without sections, or for huge sections, groups of pages.
 */
export function readingUnits(text: string, sections: DocumentSection[], pages: DocumentPage[]): ReadingUnit[] {
  if (text.length === 0) return [];
  const top = sections.length ? Math.min(...sections.map((s) => s.level)) : 0;
  const chapters = sections.map((s, i) => ({ s, i })).filter(({ s }) => s.level === top && s.end > s.start);
  const units: ReadingUnit[] = [];
  if (chapters.length === 0) return pageUnits(0, text.length, pages, 'Pages');
  if (chapters[0]!.s.start > 0 && text.slice(0, chapters[0]!.s.start).trim()) units.push({ title: 'Beginning', start: 0, end: chapters[0]!.s.start });
  chapters.forEach(({ s, i }, k) => {
    const end = k + 1 < chapters.length ? chapters[k + 1]!.s.start : Math.max(s.end, text.length);
    if (end - s.start > MAX_UNIT) units.push(...pageUnits(s.start, end, pages, s.title));
    else units.push({ title: s.title, start: s.start, end, sectionIndex: i });
  });
  return units;
}

function pageUnits(start: number, end: number, pages: DocumentPage[], title: string): ReadingUnit[] {
  const inside = pages.filter((p) => p.end > start && p.start < end);
  if (inside.length === 0) return [{ title, start, end }];
  const units: ReadingUnit[] = [];
  for (let i = 0; i < inside.length; i += PAGES_PER_UNIT) {
    const group = inside.slice(i, i + PAGES_PER_UNIT);
    const first = group[0]!;
    const last = group.at(-1)!;
    units.push({
      title: `${title} (pages ${first.label ?? first.number}–${last.label ?? last.number})`,
      start: i === 0 ? start : Math.max(start, first.start),
      end: i + PAGES_PER_UNIT >= inside.length ? end : Math.min(end, last.end),
    });
  }
  return units;
}

/** The unit holding a character offset. */
export function unitAt(units: ReadingUnit[], offset: number): number {
  const i = units.findIndex((u) => offset >= u.start && offset < u.end);
  return i >= 0 ? i : offset >= (units.at(-1)?.end ?? 0) ? units.length - 1 : 0;
}

/** Splits a unit's text into paragraphs at blank lines, keeping offsets into the whole text. */
export function paragraphsOf(text: string, start: number, end: number, pages: DocumentPage[]): Paragraph[] {
  const out: Paragraph[] = [];
  const re = /\n\s*\n/g;
  re.lastIndex = start;
  let from = start;
  const push = (a: number, b: number) => {
    if (text.slice(a, b).trim()) out.push({ start: a, end: b, pagesStarting: [] });
  };
  for (let m = re.exec(text); m && m.index < end; m = re.exec(text)) {
    push(from, m.index);
    from = m.index + m[0].length;
  }
  push(from, end);
  for (const p of pages) {
    if (p.start < start || p.start >= end) continue;
    const para = out.find((x) => p.start < x.end) ?? out.at(-1);
    para?.pagesStarting.push(p.number);
  }
  return out;
}

/** The page holding a character offset (1-based), from the document's pages. */
export function pageAt(pages: DocumentPage[], offset: number): number | undefined {
  return pages.find((p) => offset >= p.start && offset < p.end)?.number ?? pages.at(-1)?.number;
}
