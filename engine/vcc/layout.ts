import { LongreadError } from '../../common/errors';
import type { VccSettings } from './settings';

/** A contiguous run of layout tokens that attend to each other in the local layers. */
export interface Segment {
  start: number;
  length: number;
}

/**
 * Where every token sits: the query (VIP) tokens first, then the document. Token i of the layout
 * is `ids[i]` at relative-bias position `positions[i]`.
 */
export interface VccLayoutPlan {
  ids: number[];
  positions: Int32Array;
  queryLength: number;
  /** Layout index of the first document token. */
  documentStart: number;
  /** Segments over the query tokens, then over the document tokens (cached layout: never mixed). */
  querySegments: Segment[];
  documentSegments: Segment[];
  /** Position of document token 0 (0 + queryLength in the paper layout). */
  documentOffset: number;
  /** VIP tokens are layout tokens [0, vip). */
  vip: number;
}

function split(start: number, length: number, size: number): Segment[] {
  const out: Segment[] = [];
  for (let s = 0; s < length; s += size) out.push({ start: start + s, length: Math.min(size, length - s) });
  return out;
}

/**
 * `paper`: question and document contiguous (positions 0..n−1), segments cut across both.
 * `cached`: the question has its own segment(s); document token j sits at a fixed position
 * (a whole number of segments after 0) so its local-layer states never depend on the question.
 */
export function planLayout(queryIds: number[], documentIds: number[], s: VccSettings): VccLayoutPlan {
  const q = queryIds.length;
  const n = q + documentIds.length;
  if (n === 0) throw new LongreadError('invalid-argument', 'nothing to encode: the input has no tokens');
  const ids = [...queryIds, ...documentIds];
  const vip = Math.min(s.vipTokens, n);
  if (s.layout === 'paper') {
    const positions = Int32Array.from({ length: n }, (_, i) => i);
    const all = split(0, n, s.segment);
    return { ids, positions, queryLength: q, documentStart: q, querySegments: [], documentSegments: all, documentOffset: q, vip };
  }
  const documentOffset = Math.ceil(q / s.segment) * s.segment;
  const positions = new Int32Array(n);
  for (let i = 0; i < q; i++) positions[i] = i;
  for (let j = 0; j < documentIds.length; j++) positions[q + j] = documentOffset + j;
  return {
    ids,
    positions,
    queryLength: q,
    documentStart: q,
    querySegments: split(0, q, s.segment),
    documentSegments: split(q, documentIds.length, s.segment),
    documentOffset,
    vip,
  };
}
