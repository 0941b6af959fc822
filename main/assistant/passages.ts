import type { TextRange } from '../../common/document';
import type { LayerEvidence } from '../../engine/vcc/encoder';
import { topPassages } from './citations';
import type { RankedPassage } from './passage-ranking';
import { charEnd, charStart, mergeWindows, tokenAtChar, type TokenWindow } from './text-ranges';
import type { TokenizedText } from './types';

/**
 * How many of VCC's best passages an answer is read again from. With the bundled model at 128K on books
 * it never saw (64 questions, tests/bench/default-model-eval.ts seeds 11 and 12), 2, 3 and 4 passages
 * answered 12, 12 and 13, one passage 9 (it often is another fact); six answered 5 of seed 12's 48 where three answered 7.
 */
export const REREAD_PASSAGES = 3;

/**
 * VCC's attention alone (the baseline the fused ranking below is measured against, tests/bench):
 * the sentences around the fine blocks VCC's VIP tokens
 * ranked highest (merged over the layers, as the citations are), in document order, overlapping or
 * touching ones joined. Empty when VCC ranked nothing (every block was kept whole).
 */
export function rereadWindows(evidence: LayerEvidence[], windows: TokenWindow[], tokens: TokenizedText, text: string, count = REREAD_PASSAGES): TokenWindow[] {
  const spans = topPassages(evidence, windows, tokens, text, count).map((p) => ({ start: tokenAtChar(tokens, p.start), end: tokenAtChar(tokens, p.end) }));
  return mergeWindows(spans.filter((w) => w.end > w.start));
}

/** The character ranges of token windows. */
export function windowCharRanges(windows: TokenWindow[], tokens: TokenizedText): TextRange[] {
  return windows.map((w) => ({ start: charStart(tokens, w.start), end: charEnd(tokens, w.end) }));
}

/** Token windows of the best `count` ranked passages, in document order, touching ones joined. */
export function passageWindows(passages: RankedPassage[], tokens: TokenizedText, count = REREAD_PASSAGES): TokenWindow[] {
  const spans = passages.slice(0, count).map((p) => ({ start: tokenAtChar(tokens, p.start), end: tokenAtChar(tokens, p.end) }));
  return mergeWindows(spans.filter((w) => w.end > w.start));
}
