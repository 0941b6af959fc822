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
