import type { SectionStart } from './pagination';

const NUMBER = String.raw`(?:\d+|[IVXLCDM]+|one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|first|second|third|fourth|fifth|last)`;
const CHAPTER = new RegExp(String.raw`^(chapter|letter|stave|canto|section)\s+${NUMBER}\b`, 'i');
const PART = new RegExp(String.raw`^(book|part|volume|act)\s+${NUMBER}\b`, 'i');
const ROMAN_ALONE = /^[IVXLC]{1,7}\.?$/;
const NAMED = /^(preface|prologue|epilogue|introduction|afterword|foreword|conclusion)\.?$/i;

/**
 * Finds chapter-like headings among plain-text paragraphs (as Project Gutenberg books set
 * them). Tables of contents repeat the same lines, so for repeated titles only the last
 * occurrence counts, and runs of headings with almost no text between them are dropped.
 */
export function findHeadings(paragraphs: string[], starts: number[], textLength: number): SectionStart[] {
  const found: { title: string; kind: 'part' | 'chapter'; start: number }[] = [];
  paragraphs.forEach((p, i) => {
    if (p.length > 100 || p.includes('\n\n')) return;
    const line = p.replace(/^\[(?:Illustration:[^\]]*?)?\s*/, '').replace(/\]$/, '').trim();
    const firstLine = line.split('\n').pop()!.trim();
    let kind: 'part' | 'chapter' | null = null;
    if (PART.test(firstLine)) kind = 'part';
    else if (CHAPTER.test(firstLine) || ROMAN_ALONE.test(firstLine) || NAMED.test(firstLine)) kind = 'chapter';
    if (kind) found.push({ title: firstLine.replace(/\s+/g, ' '), kind, start: starts[i]! });
  });
  const key = (t: string) => t.toLowerCase().replace(/[^a-z0-9]+/g, ' ').trim();
  const last = new Map<string, number>();
  found.forEach((h, i) => last.set(key(h.title), i));
  const unique = found.filter((h, i) => last.get(key(h.title)) === i);
  const kept = unique.filter((h, i) => {
    const next = unique[i + 1]?.start ?? textLength;
    return next - h.start >= 200;
  });
  const hasParts = kept.some((h) => h.kind === 'part') && kept.some((h) => h.kind === 'chapter');
  return kept.map((h) => ({ title: h.title, level: hasParts && h.kind === 'chapter' ? 2 : 1, start: h.start }));
}

const NUMBERED = /^(\d{1,2}(?:\.\d{1,2}){0,3})\.?\s+(\p{Lu}[^\n]{0,80})$/u;
const PAPER_PART = /^(abstract|references|bibliography|acknowledge?ments?|appendix(?: [A-Z])?)$/i;

/**
 * Section headings of a paper without bookmarks: paragraphs that are just "3. Trace Trees"
 * or "4.1 Nesting Algorithm" (numbers in order), plus Abstract, References and the like.
 * At least three numbered headings in sequence are needed, so numbered lists are not taken.
 */
export function numberedHeadings(text: string): SectionStart[] {
  const found: (SectionStart & { numbers: number[] | null })[] = [];
  let pos = 0;
  for (const para of text.split('\n\n')) {
    const p = para.trim();
    const m = NUMBERED.exec(p);
    if (m && !/[.,;:]$/.test(p)) {
      const numbers = m[1]!.split('.').map(Number);
      found.push({ title: p, level: numbers.length, start: pos, numbers });
    } else if (PAPER_PART.test(p)) found.push({ title: p, level: 1, start: pos, numbers: null });
    pos += para.length + 2;
  }
  // keep numbered headings that continue the numbering: 1, 2, 2.1, 2.2, 3, …
  const kept: typeof found = [];
  let last: number[] = [0];
  for (const h of found) {
    if (!h.numbers) {
      kept.push(h);
      continue;
    }
    if (follows(last, h.numbers)) {
      kept.push(h);
      last = h.numbers;
    }
  }
  if (kept.filter((h) => h.numbers).length < 3) return [];
  return kept.map(({ title, level, start }) => ({ title, level, start }));
}

/** Whether `next` can follow `prev` in a numbering: 2 → 3, 2 → 2.1, 2.1 → 2.2, 2.3 → 3. */
function follows(prev: number[], next: number[]): boolean {
  for (let depth = Math.min(prev.length, next.length - 1); depth >= 0; depth--) {
    const head = next.slice(0, depth);
    if (head.every((n, i) => n === prev[i]) && next.length === depth + 1) {
      const before = depth < prev.length ? prev[depth]! : 0;
      return next[depth] === before + 1;
    }
  }
  return false;
}
