import type { LayerEvidence } from '../../engine/vcc/encoder';
import { topPassages } from './citations';
import { tokenAtChar, type TokenWindow } from './text-ranges';
import type { TokenizedText } from './types';

/**
 * How many of VCC's best passages an answer is read again from. Measured with the bundled model on
 * books it never saw (tests/bench/default-model-eval.ts): 2 to 4 answer alike, fewer miss the fact
 * more often, more bring in other facts it then confuses.
 */
export const REREAD_PASSAGES = 3;

/**
 * The token windows an answer is reread from: the sentences around the fine blocks VCC's VIP tokens
 * ranked highest (merged over the layers, as the citations are), in document order, overlapping or
 * touching ones joined. Empty when VCC ranked nothing (every block was kept whole).
 */
export function rereadWindows(evidence: LayerEvidence[], windows: TokenWindow[], tokens: TokenizedText, text: string, count = REREAD_PASSAGES): TokenWindow[] {
  const spans = topPassages(evidence, windows, tokens, text, count)
    .map((p) => ({ start: tokenAtChar(tokens, p.start), end: tokenAtChar(tokens, p.end) }))
    .filter((w) => w.end > w.start)
    .sort((a, b) => a.start - b.start);
  const out: TokenWindow[] = [];
  for (const w of spans) {
    const last = out[out.length - 1];
    if (last && w.start <= last.end) last.end = Math.max(last.end, w.end);
    else out.push({ ...w });
  }
  return out;
}
