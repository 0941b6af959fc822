import type { SearchHit } from '../../../../common/api';

const escape = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/**
 * A search hit names its page and a snippet around the match; the passage to highlight is the
 * query where it occurs in that page's text (else the snippet), as a range of the document text.
 */
export function passageOf(text: string, hit: SearchHit, query: string): { start: number; end: number } | undefined {
  if (!text) return undefined;
  const page = text.slice(hit.start, hit.end);
  const words = query.trim().split(/\s+/).filter(Boolean);
  const tries = [words, hit.snippet.replace(/^…|…$/g, '').trim().split(/\s+/).slice(0, 8)];
  for (const w of tries) {
    if (w.length === 0) continue;
    const m = new RegExp(w.map(escape).join('[\\s\\W]+'), 'iu').exec(page);
    if (m) return { start: hit.start + m.index, end: hit.start + m.index + m[0].length };
  }
  return undefined;
}
