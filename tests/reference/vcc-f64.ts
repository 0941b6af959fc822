/**
 * A plain float64 reference of the T5 encoder and of its VCC form (docs/vcc-algorithm.md), written
 * from the algorithm page and the engine's documented semantics only — nothing here is imported
 * from engine/ except types, so a mistake in the engine cannot be copied into its own yardstick.
 *
 * Layout of every state matrix: rows are tokens, (rows × dModel), row-major Float64Array.
 */
import type { Checkpoint, T5Config } from '../../engine/checkpoint/types';
import type { VccSettings } from '../../engine/vcc/settings';

export interface RefLayerWeights {
  /** Pre-attention RMS norm weight (d). */
  ln0: Float64Array;
  /** Linear weights in Hugging Face's [out, in] layout. */
  q: Float64Array;
  k: Float64Array;
  v: Float64Array;
  o: Float64Array;
  /** Pre-FFN RMS norm weight (d). */
  ln1: Float64Array;
  /** Plain FFN (v1.0): wi; gated FFN (v1.1): wi0 (activated) and wi1 (linear). */
  wi?: Float64Array;
  wi0?: Float64Array;
  wi1?: Float64Array;
  wo: Float64Array;
}

export interface RefModel {
  cfg: T5Config;
  shared: Float64Array;
  /** Layer 0's relative attention bias, [numBuckets, heads], shared by every layer. */
  relBias: Float64Array;
  layers: RefLayerWeights[];
  finalNorm: Float64Array;
}

export function refModel(ckpt: Checkpoint): RefModel {
  const w = (name: string) => {
    const t = ckpt.weights.get(name);
    if (!t) throw new Error(`reference: checkpoint has no tensor ${name}`);
    return Float64Array.from(t.data);
  };
  const has = (name: string) => ckpt.weights.has(name);
  const cfg = ckpt.config;
  const layers: RefLayerWeights[] = [];
  for (let l = 0; l < cfg.numLayers; l++) {
    const a = `encoder.block.${l}.layer.0`;
    const f = `encoder.block.${l}.layer.1`;
    layers.push({
      ln0: w(`${a}.layer_norm.weight`),
      q: w(`${a}.SelfAttention.q.weight`),
      k: w(`${a}.SelfAttention.k.weight`),
      v: w(`${a}.SelfAttention.v.weight`),
      o: w(`${a}.SelfAttention.o.weight`),
      ln1: w(`${f}.layer_norm.weight`),
      wi: has(`${f}.DenseReluDense.wi.weight`) ? w(`${f}.DenseReluDense.wi.weight`) : undefined,
      wi0: has(`${f}.DenseReluDense.wi_0.weight`) ? w(`${f}.DenseReluDense.wi_0.weight`) : undefined,
      wi1: has(`${f}.DenseReluDense.wi_1.weight`) ? w(`${f}.DenseReluDense.wi_1.weight`) : undefined,
      wo: w(`${f}.DenseReluDense.wo.weight`),
    });
  }
  return {
    cfg,
    shared: w('shared.weight'),
    relBias: w('encoder.block.0.layer.0.SelfAttention.relative_attention_bias.weight'),
    layers,
    finalNorm: w('encoder.final_layer_norm.weight'),
  };
}

// ---------------------------------------------------------------------------------------------
// Plain T5 pieces
// ---------------------------------------------------------------------------------------------

/** transformers' `_relative_position_bucket` with bidirectional=True; rel = key pos − query pos. */
export function relativePositionBucket(rel: number, numBuckets: number, maxDistance: number): number {
  const half = Math.floor(numBuckets / 2);
  let bucket = rel > 0 ? half : 0;
  const a = Math.abs(rel);
  const maxExact = Math.floor(half / 2);
  if (a < maxExact) return bucket + a;
  const large = maxExact + Math.trunc((Math.log(a / maxExact) / Math.log(maxDistance / maxExact)) * (half - maxExact));
  bucket += Math.min(large, half - 1);
  return bucket;
}

/** T5 layer norm: x / sqrt(mean(x²) + eps) * w, per row; no mean subtraction, no bias. */
export function rmsNorm(x: Float64Array, rows: number, d: number, w: Float64Array, eps: number): Float64Array {
  const out = new Float64Array(rows * d);
  for (let i = 0; i < rows; i++) {
    let ss = 0;
    for (let j = 0; j < d; j++) ss += x[i * d + j] ** 2;
    const inv = 1 / Math.sqrt(ss / d + eps);
    for (let j = 0; j < d; j++) out[i * d + j] = x[i * d + j] * inv * w[j];
  }
  return out;
}

/** y = x · Wᵀ with W in [out, in] layout: (rows × inn) → (rows × out). */
export function linear(x: Float64Array, rows: number, inn: number, W: Float64Array, out: number): Float64Array {
  const y = new Float64Array(rows * out);
  for (let i = 0; i < rows; i++) {
    for (let o = 0; o < out; o++) {
      let s = 0;
      for (let j = 0; j < inn; j++) s += x[i * inn + j] * W[o * inn + j];
      y[i * out + o] = s;
    }
  }
  return y;
}

export function geluNew(x: number): number {
  return 0.5 * x * (1 + Math.tanh(Math.sqrt(2 / Math.PI) * (x + 0.044715 * x ** 3)));
}

function activation(cfg: T5Config): (x: number) => number {
  switch (cfg.denseAct) {
    case 'relu':
      return (x) => Math.max(0, x);
    case 'gelu_new':
      return geluNew;
    case 'silu':
      return (x) => x / (1 + Math.exp(-x));
    default:
      throw new Error(`reference: activation ${cfg.denseAct} is not implemented here`);
  }
}

/**
 * Attention logits of one layer, per head: (heads × nq × nk), WITHOUT 1/√dk scaling, plus the
 * relative position bias of (key pos − query pos) and the additive per-key bias.
 */
export function attentionLogits(
  m: RefModel,
  layer: number,
  xq: Float64Array,
  qPos: ArrayLike<number>,
  xk: Float64Array,
  kPos: ArrayLike<number>,
  keyBias: ArrayLike<number> | null,
): { logits: Float64Array; nq: number; nk: number } {
  const { dModel: d, numHeads: H, dKv: dk, layerNormEpsilon: eps } = m.cfg;
  const L = m.layers[layer];
  const inner = H * dk;
  const nq = qPos.length;
  const nk = kPos.length;
  const Q = linear(rmsNorm(xq, nq, d, L.ln0, eps), nq, d, L.q, inner);
  const K = linear(rmsNorm(xk, nk, d, L.ln0, eps), nk, d, L.k, inner);
  const logits = new Float64Array(H * nq * nk);
  for (let h = 0; h < H; h++) {
    for (let i = 0; i < nq; i++) {
      for (let j = 0; j < nk; j++) {
        let s = 0;
        for (let c = 0; c < dk; c++) s += Q[i * inner + h * dk + c] * K[j * inner + h * dk + c];
        const bucket = relativePositionBucket(kPos[j] - qPos[i], m.cfg.relativeAttentionNumBuckets, m.cfg.relativeAttentionMaxDistance);
        s += m.relBias[bucket * H + h];
        if (keyBias) s += keyBias[j];
        logits[(h * nq + i) * nk + j] = s;
      }
    }
  }
  return { logits, nq, nk };
}

/** In-place softmax over each run of `width` entries. */
function softmaxRows(a: Float64Array, width: number): void {
  for (let r = 0; r < a.length / width; r++) {
    let mx = -Infinity;
    for (let j = 0; j < width; j++) mx = Math.max(mx, a[r * width + j]);
    let sum = 0;
    for (let j = 0; j < width; j++) sum += a[r * width + j] = Math.exp(a[r * width + j] - mx);
    for (let j = 0; j < width; j++) a[r * width + j] /= sum;
  }
}

/**
 * One whole T5 encoder layer (attention sublayer + FFN sublayer, each with residual) on n tokens
 * that all attend to each other, at explicit positions and with an explicit additive key bias.
 */
export function t5Layer(
  m: RefModel,
  layer: number,
  x: Float64Array,
  positions: ArrayLike<number>,
  keyBias: ArrayLike<number> | null = null,
): Float64Array {
  const { dModel: d, numHeads: H, dKv: dk, dFf: ff, layerNormEpsilon: eps } = m.cfg;
  const L = m.layers[layer];
  const n = positions.length;
  const inner = H * dk;
  const { logits: P } = attentionLogits(m, layer, x, positions, x, positions, keyBias);
  softmaxRows(P, n);
  const V = linear(rmsNorm(x, n, d, L.ln0, eps), n, d, L.v, inner);
  const ctx = new Float64Array(n * inner);
  for (let h = 0; h < H; h++) {
    for (let i = 0; i < n; i++) {
      for (let j = 0; j < n; j++) {
        const p = P[(h * n + i) * n + j];
        for (let c = 0; c < dk; c++) ctx[i * inner + h * dk + c] += p * V[j * inner + h * dk + c];
      }
    }
  }
  const att = linear(ctx, n, inner, L.o, d);
  const x1 = new Float64Array(n * d);
  for (let i = 0; i < n * d; i++) x1[i] = x[i] + att[i];

  const h1 = rmsNorm(x1, n, d, L.ln1, eps);
  const act = activation(m.cfg);
  let hidden: Float64Array;
  if (m.cfg.isGatedAct) {
    const g = linear(h1, n, d, L.wi0!, ff);
    const lin = linear(h1, n, d, L.wi1!, ff);
    hidden = g.map((v, i) => act(v) * lin[i]);
  } else {
    hidden = linear(h1, n, d, L.wi!, ff).map(act);
  }
  const f = linear(hidden, n, ff, L.wo, d);
  const out = new Float64Array(n * d);
  for (let i = 0; i < n * d; i++) out[i] = x1[i] + f[i];
  return out;
}

export function embedRef(m: RefModel, ids: ArrayLike<number>): Float64Array {
  const d = m.cfg.dModel;
  const x = new Float64Array(ids.length * d);
  for (let i = 0; i < ids.length; i++) x.set(m.shared.subarray(ids[i] * d, (ids[i] + 1) * d), i * d);
  return x;
}

export function finalNormRef(m: RefModel, x: Float64Array): Float64Array {
  const d = m.cfg.dModel;
  return rmsNorm(x, x.length / d, d, m.finalNorm, m.cfg.layerNormEpsilon);
}

/** The dense encoder at positions 0..n−1. */
export function encodeDenseRef(m: RefModel, ids: ArrayLike<number>): Float64Array {
  const positions = Array.from({ length: ids.length }, (_, i) => i);
  let x = embedRef(m, ids);
  for (let l = 0; l < m.cfg.numLayers; l++) x = t5Layer(m, l, x, positions);
  return finalNormRef(m, x);
}

// ---------------------------------------------------------------------------------------------
// VCC
// ---------------------------------------------------------------------------------------------

export interface RefSegment {
  start: number;
  length: number;
}

export interface RefLayout {
  positions: number[];
  /** Local-attention segments over layout indices (query first, then document). */
  segments: RefSegment[];
  vip: number;
}

function cut(start: number, length: number, size: number): RefSegment[] {
  const out: RefSegment[] = [];
  for (let s = 0; s < length; s += size) out.push({ start: start + s, length: Math.min(size, length - s) });
  return out;
}

export function layoutRef(q: number, doc: number, s: VccSettings): RefLayout {
  const n = q + doc;
  const vip = Math.min(s.vipTokens, n);
  if (s.layout === 'paper') {
    return { positions: Array.from({ length: n }, (_, i) => i), segments: cut(0, n, s.segment), vip };
  }
  const offset = Math.ceil(q / s.segment) * s.segment;
  const positions = [...Array.from({ length: q }, (_, i) => i), ...Array.from({ length: doc }, (_, j) => offset + j)];
  return { positions, segments: [...cut(0, q, s.segment), ...cut(q, doc, s.segment)], vip };
}

/** Indices of the h largest scores (ties → lower index), returned in increasing index order. */
export function topRef(scores: ArrayLike<number>, h: number): number[] {
  const chosen: number[] = [];
  const taken = new Array<boolean>(scores.length).fill(false);
  for (let c = 0; c < Math.min(h, scores.length); c++) {
    let best = -1;
    for (let i = 0; i < scores.length; i++) if (!taken[i] && (best < 0 || scores[i] > scores[best])) best = i;
    taken[best] = true;
    chosen.push(best);
  }
  return chosen.sort((a, b) => a - b);
}

/**
 * Select scores: VIP queries against the coarse keys (block mean positions, log(count) bias),
 * softmax per head and query, averaged over heads and queries.
 */
export function selectScoresRef(
  m: RefModel,
  layer: number,
  vipStates: Float64Array,
  vipPos: ArrayLike<number>,
  coarse: Float64Array,
  blockPos: ArrayLike<number>,
  counts: ArrayLike<number>,
): Float64Array {
  const H = m.cfg.numHeads;
  const logCount = Array.from(counts, (c) => Math.log(c));
  const { logits, nq, nk } = attentionLogits(m, layer, vipStates, vipPos, coarse, blockPos, logCount);
  softmaxRows(logits, nk);
  const avg = new Float64Array(nk);
  for (let r = 0; r < H * nq; r++) for (let j = 0; j < nk; j++) avg[j] += logits[r * nk + j];
  for (let j = 0; j < nk; j++) avg[j] /= H * nq;
  return avg;
}

export interface RefVccResult {
  /** (n × d) final states in layout order [query, document], after the final layer norm. */
  hidden: Float64Array;
  layout: RefLayout;
  /** Block b covers non-VIP tokens [b·k, min(nc, (b+1)·k)); nc = n − vip. */
  blockRanges: Array<[number, number]>;
  blockPositions: number[];
  /** Per VCC layer: the fine blocks chosen by selection, or null when every block was fine. */
  selected: Array<number[] | null>;
  /** Per VCC layer: the select scores (null when nothing was scored). */
  scores: Array<Float64Array | null>;
  /** Per VCC layer: the fine blocks as document token ranges (empty when nothing was selected). */
  evidence: Array<Array<{ start: number; end: number }>>;
  compressedLengths: number[];
  /** (n × d) states after the local layers, before any VCC layer. */
  afterLocal: Float64Array;
  /**
   * With decoderBlocks (fewer than the blocks, and a scored last layer): what the decoder reads,
   * in layout order: VIP states, the tokens of the last layer's decoderBlocks best-scored blocks,
   * every other block's mean; after the final norm, with key bias log(tokens) for a mean.
   */
  decoderMemory: { hidden: Float64Array; keyBias: number[] } | null;
}

export function encodeVccRef(m: RefModel, queryIds: number[], documentIds: number[], s: VccSettings): RefVccResult {
  const cfg = m.cfg;
  const d = cfg.dModel;
  const L = cfg.numLayers;
  const q = queryIds.length;
  const ids = [...queryIds, ...documentIds];
  const n = ids.length;
  const layout = layoutRef(q, documentIds.length, s);
  const { positions, vip } = layout;

  let x = embedRef(m, ids);
  for (let l = 0; l < s.localLayers; l++) {
    const next = new Float64Array(n * d);
    for (const seg of layout.segments) {
      const rows = x.slice(seg.start * d, (seg.start + seg.length) * d);
      next.set(t5Layer(m, l, rows, positions.slice(seg.start, seg.start + seg.length)), seg.start * d);
    }
    x = next;
  }
  const afterLocal = x.slice();

  const k = s.blockSize;
  const nc = n - vip;
  const nb = Math.ceil(nc / k);
  const blockRanges: Array<[number, number]> = Array.from({ length: nb }, (_, b) => [b * k, Math.min(nc, (b + 1) * k)]);
  const counts = blockRanges.map(([t0, t1]) => t1 - t0);
  const blockPositions = blockRanges.map(([t0, t1]) => {
    let sum = 0;
    for (let t = t0; t < t1; t++) sum += positions[vip + t];
    return Math.round(sum / (t1 - t0));
  });

  const coarse = new Float64Array(nb * d);
  const offsets = new Float64Array(nc * d);
  /** Coarsens block b from `rows` (its tokens' states, one row per token, from row `row`). */
  const coarsen = (b: number, rows: Float64Array, row: number) => {
    const [t0, t1] = blockRanges[b];
    const c = t1 - t0;
    for (let j = 0; j < d; j++) {
      let sum = 0;
      for (let i = 0; i < c; i++) sum += rows[(row + i) * d + j];
      coarse[b * d + j] = sum / c;
    }
    for (let i = 0; i < c; i++) for (let j = 0; j < d; j++) offsets[(t0 + i) * d + j] = rows[(row + i) * d + j] - coarse[b * d + j];
  };
  for (let b = 0; b < nb; b++) coarsen(b, x, vip + blockRanges[b][0]);
  let vipStates = x.slice(0, vip * d);
  const vipPos = positions.slice(0, vip);

  const selected: Array<number[] | null> = [];
  const scores: Array<Float64Array | null> = [];
  const evidence: Array<Array<{ start: number; end: number }>> = [];
  const compressedLengths: number[] = [];

  for (let l = s.localLayers; l < L; l++) {
    let fine: number[];
    if (s.fineBlocks < nb) {
      const sc = selectScoresRef(m, l, vipStates, vipPos, coarse, blockPositions, counts);
      fine = topRef(sc, s.fineBlocks);
      selected.push(fine);
      scores.push(sc);
      evidence.push(
        fine
          .map((b) => ({ start: Math.max(0, vip + blockRanges[b][0] - q), end: vip + blockRanges[b][1] - q }))
          .filter((r) => r.end > r.start),
      );
    } else {
      fine = Array.from({ length: nb }, (_, b) => b);
      selected.push(null);
      scores.push(null);
      evidence.push([]);
    }
    const isFine = new Array<boolean>(nb).fill(false);
    for (const b of fine) isFine[b] = true;

    // Groups of g consecutive blocks (doc section 5): one state for a group with no fine block,
    // unless it is among the keptGroups with the largest summed select score (ties → earlier).
    const g = s.groupBlocks;
    const collapsed: number[][] = [];
    const sc = scores[scores.length - 1];
    if (g > 1 && sc) {
      const candidates: number[][] = [];
      for (let b0 = 0; b0 < nb; b0 += g) {
        const members = Array.from({ length: Math.min(nb, b0 + g) - b0 }, (_, i) => b0 + i);
        if (!members.some((b) => isFine[b])) candidates.push(members);
      }
      const kept = new Set(topRef(candidates.map((members) => members.reduce((acc, b) => acc + sc[b], 0)), s.keptGroups));
      candidates.forEach((members, i) => {
        if (!kept.has(i)) collapsed.push(members);
      });
    }
    const inGroup = new Array<boolean>(nb).fill(false);
    for (const members of collapsed) for (const b of members) inGroup[b] = true;
    const coarseBlocks = Array.from({ length: nb }, (_, b) => b).filter((b) => !isFine[b] && !inGroup[b]);

    // Compressed sequence: [fine tokens, coarse states, VIP tokens].
    const rowsX: number[][] = [];
    const rowsPos: number[] = [];
    const rowsBias: number[] = [];
    const fineRowStart: number[] = [];
    for (const b of fine) {
      fineRowStart[b] = rowsX.length;
      const [t0, t1] = blockRanges[b];
      for (let t = t0; t < t1; t++) {
        rowsX.push(Array.from({ length: d }, (_, j) => coarse[b * d + j] + offsets[t * d + j]));
        rowsPos.push(positions[vip + t]);
        rowsBias.push(0);
      }
    }
    const coarseRow: number[] = [];
    for (const b of coarseBlocks) {
      coarseRow[b] = rowsX.length;
      rowsX.push(Array.from(coarse.subarray(b * d, (b + 1) * d)));
      rowsPos.push(blockPositions[b]);
      rowsBias.push(Math.log(counts[b]));
    }
    const groupRow = rowsX.length;
    const groupBefore: number[][] = [];
    for (const members of collapsed) {
      const tokens = members.reduce((acc, b) => acc + counts[b], 0);
      let posSum = 0;
      for (const b of members) for (let t = blockRanges[b][0]; t < blockRanges[b][1]; t++) posSum += positions[vip + t];
      const state = Array.from({ length: d }, (_, j) => members.reduce((acc, b) => acc + counts[b] * coarse[b * d + j], 0) / tokens);
      groupBefore.push(state);
      rowsX.push(state);
      rowsPos.push(Math.round(posSum / tokens));
      rowsBias.push(Math.log(tokens));
    }
    const vipRow = rowsX.length;
    for (let i = 0; i < vip; i++) {
      rowsX.push(Array.from(vipStates.subarray(i * d, (i + 1) * d)));
      rowsPos.push(vipPos[i]);
      rowsBias.push(0);
    }
    const r = rowsX.length;
    compressedLengths.push(r);
    const y = t5Layer(m, l, Float64Array.from(rowsX.flat()), rowsPos, rowsBias);

    vipStates = y.slice(vipRow * d, (vipRow + vip) * d);
    for (const b of coarseBlocks) coarse.set(y.subarray(coarseRow[b] * d, (coarseRow[b] + 1) * d), b * d);
    collapsed.forEach((members, i) => {
      for (const b of members) for (let j = 0; j < d; j++) coarse[b * d + j] += y[(groupRow + i) * d + j] - groupBefore[i][j];
    });
    for (const b of fine) coarsen(b, y, fineRowStart[b]);
  }

  let decoderMemory: RefVccResult['decoderMemory'] = null;
  const last = scores[scores.length - 1];
  if (s.decoderBlocks > 0 && s.decoderBlocks < nb && last) {
    const asTokens = new Set(topRef(last, s.decoderBlocks));
    const rows: number[] = Array.from(vipStates);
    const keyBias: number[] = new Array<number>(vip).fill(0);
    for (let b = 0; b < nb; b++) {
      const [t0, t1] = blockRanges[b];
      if (asTokens.has(b)) {
        for (let t = t0; t < t1; t++) {
          for (let j = 0; j < d; j++) rows.push(coarse[b * d + j] + offsets[t * d + j]);
          keyBias.push(0);
        }
      } else {
        // the mean of the block's final token states
        for (let j = 0; j < d; j++) {
          let sum = 0;
          for (let t = t0; t < t1; t++) sum += coarse[b * d + j] + offsets[t * d + j];
          rows.push(sum / (t1 - t0));
        }
        keyBias.push(Math.log(t1 - t0));
      }
    }
    decoderMemory = { hidden: finalNormRef(m, Float64Array.from(rows)), keyBias };
  }

  // With no VCC layer (all layers local) the local output is final; else reassemble the blocks.
  let out = afterLocal;
  if (s.localLayers < L) {
    out = new Float64Array(n * d);
    out.set(vipStates, 0);
    for (let b = 0; b < nb; b++) {
      const [t0, t1] = blockRanges[b];
      for (let t = t0; t < t1; t++) for (let j = 0; j < d; j++) out[(vip + t) * d + j] = coarse[b * d + j] + offsets[t * d + j];
    }
  }
  return {
    hidden: finalNormRef(m, out),
    layout,
    blockRanges,
    blockPositions,
    selected,
    scores,
    evidence,
    compressedLengths,
    afterLocal,
    decoderMemory,
  };
}

/** ‖a − b‖ / ‖b‖ over all entries. */
export function relErr(a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length !== b.length) throw new Error(`relErr: lengths differ (${a.length} vs ${b.length})`);
  let num = 0;
  let den = 0;
  for (let i = 0; i < a.length; i++) {
    num += (a[i] - b[i]) ** 2;
    den += b[i] ** 2;
  }
  return Math.sqrt(num / den);
}
