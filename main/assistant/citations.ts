import type { AskResult, Citation } from '../../common/api';
import type { DocumentPage, DocumentSection } from '../../common/document';
import type { LayerEvidence } from '../../engine/vcc/encoder';
import { snapQuote } from './sentences';
import { charEnd, charStart, originalRanges, pageAt, quoteOf, sectionAt, type TokenWindow } from './text-ranges';
import type { TokenizedText } from './types';

export interface CitableDocument {
  id: string;
  text: string;
  pages: DocumentPage[];
  sections: DocumentSection[];
}

/**
 * Fine blocks merged over the VCC layers: a block the VIP tokens chose in several layers sums
 * its scores. Ranges are fed-token indices; best first.
 */
export function mergedBlocks(evidence: LayerEvidence[]): Array<{ start: number; end: number; score: number }> {
  const merged = new Map<string, { start: number; end: number; score: number }>();
  for (const layer of evidence) {
    for (const b of layer.blocks) {
      const key = `${b.start}:${b.end}`;
      const m = merged.get(key);
      if (m) m.score += b.score;
      else merged.set(key, { ...b });
    }
  }
  return [...merged.values()].sort((a, b) => b.score - a.score || a.start - b.start);
}

/** Per fed token: the summed scores of the fine blocks that covered it. */
export function tokenScores(evidence: LayerEvidence[], fedLength: number): Float32Array {
  const out = new Float32Array(fedLength);
  for (const layer of evidence) for (const b of layer.blocks) for (let t = b.start; t < Math.min(b.end, fedLength); t++) out[t] += b.score;
  return out;
}

export function citation(doc: CitableDocument, start: number, end: number, score: number): Citation {
  const c: Citation = { documentId: doc.id, start, end, quote: quoteOf(doc.text, start, end), score };
  const page = pageAt(doc.pages, start);
  if (page !== undefined) c.page = page;
  const section = sectionAt(doc.sections, start);
  if (section) c.section = section;
  return c;
}

/** Each VCC layer's fine blocks mapped from fed tokens to document tokens and characters. */
export function evidenceRanges(evidence: LayerEvidence[], windows: TokenWindow[], tokens: TokenizedText): AskResult['evidence'] {
  return evidence.map((layer) => ({
    layer: layer.layer,
    blocks: layer.blocks.flatMap((b) =>
      originalRanges(windows, b.start, b.end).map((r) => ({ startToken: r.start, endToken: r.end, start: charStart(tokens, r.start), end: charEnd(tokens, r.end), score: b.score })),
    ),
  }));
}

/**
 * The passages the engine read most closely: the best merged fine blocks, mapped from fed tokens to
 * the document's characters and widened to a sentence (or whole words). Overlapping passages are
 * one passage with their scores summed. Best first.
 */
export function topPassages(evidence: LayerEvidence[], windows: TokenWindow[], tokens: TokenizedText, text: string, max: number): Array<{ start: number; end: number; score: number }> {
  const chosen: Array<{ start: number; end: number; score: number }> = [];
  for (const block of mergedBlocks(evidence)) {
    if (chosen.length >= max) break;
    for (const r of originalRanges(windows, block.start, block.end)) {
      const s = charStart(tokens, r.start);
      const e = charEnd(tokens, r.end);
      if (e <= s) continue;
      const q = snapQuote(text, s, e);
      if (q.end <= q.start) continue;
      const same = chosen.find((c) => c.start < q.end && q.start < c.end);
      if (same) {
        same.score += block.score;
        same.start = Math.min(same.start, q.start);
        same.end = Math.max(same.end, q.end);
      } else if (chosen.length < max) chosen.push({ ...q, score: block.score });
    }
  }
  return chosen.sort((a, b) => b.score - a.score);
}

/** The best passages (topPassages) as citations. */
export function citationsFromEvidence(evidence: LayerEvidence[], windows: TokenWindow[], tokens: TokenizedText, doc: CitableDocument, max = 5): Citation[] {
  return topPassages(evidence, windows, tokens, doc.text, max).map((c) => citation(doc, c.start, c.end, c.score));
}
