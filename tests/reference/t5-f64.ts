/**
 * A plain float64 T5 forward pass, written from the model's math (checked against transformers'
 * modeling_t5.py) and independent of engine/: the yardstick the ONNX engine is tested against.
 *
 * Matrices are row-major Float64Arrays: hidden states (tokens × dModel), linear weights in
 * Hugging Face's [out, in] layout, so y = x · Wᵀ.
 */
import type { Checkpoint, T5Config } from '../../engine/checkpoint/types';
import { dequantizedActivations, dequantizedWeight } from './int8-f64';

/** transformers builds its additive mask from the float32 minimum; we use the same value. */
const MASKED = -3.4028234663852886e38;

function weight(ckpt: Checkpoint, name: string): Float64Array {
  const t = ckpt.weights.get(name);
  if (!t) throw new Error(`t5-f64 reference: checkpoint has no tensor ${name}`);
  return Float64Array.from(t.data);
}

/** Caches the float64 copies of a checkpoint's weights (per Checkpoint object: build a new object, not a mutated one, to change weights). */
const cache = new WeakMap<Checkpoint, Map<string, Float64Array>>();
function w(ckpt: Checkpoint, name: string): Float64Array {
  let m = cache.get(ckpt);
  if (!m) cache.set(ckpt, (m = new Map()));
  let v = m.get(name);
  if (!v) m.set(name, (v = weight(ckpt, name)));
  return v;
}

/**
 * Which linear layers run in int8 (tests/reference/int8-f64.ts), and over how many rows one
 * activation scale is taken (the rows one call of the engine's graph quantizes together).
 */
export interface Int8Simulation {
  quantized(weightName: string): boolean;
  rowsPerScale(weightName: string, n: number): number;
}
const int8Simulations = new WeakMap<Checkpoint, Int8Simulation>();

/** The checkpoint seen through int8 linear layers: the forward passes here then compute the int8 math in float64. */
export function withInt8Simulation(ckpt: Checkpoint, sim: Int8Simulation): Checkpoint {
  const copy: Checkpoint = { ...ckpt };
  int8Simulations.set(copy, sim);
  return copy;
}

/** x (n × inDim) · Wᵀ for the checkpoint's linear weight `name` ([outDim, inDim]), int8 when simulated so. */
function project(ckpt: Checkpoint, name: string, x: Float64Array, n: number, outDim: number, inDim: number): Float64Array {
  const sim = int8Simulations.get(ckpt);
  if (!sim?.quantized(name)) return linear(x, n, w(ckpt, name), outDim, inDim);
  const key = `${name}#int8`;
  let m = cache.get(ckpt);
  if (!m) cache.set(ckpt, (m = new Map()));
  let W = m.get(key);
  if (!W) m.set(key, (W = dequantizedWeight(w(ckpt, name), outDim, inDim)));
  return linear(dequantizedActivations(x, n, inDim, sim.rowsPerScale(name, n)), n, W, outDim, inDim);
}

/** x (n × inDim) times Wᵀ, W being [outDim, inDim]. */
export function linear(x: Float64Array, n: number, W: Float64Array, outDim: number, inDim: number): Float64Array {
  const y = new Float64Array(n * outDim);
  for (let i = 0; i < n; i++) {
    for (let o = 0; o < outDim; o++) {
      let s = 0;
      for (let k = 0; k < inDim; k++) s += x[i * inDim + k]! * W[o * inDim + k]!;
      y[i * outDim + o] = s;
    }
  }
  return y;
}

/** T5's layer norm (RMSNorm): x / sqrt(mean(x²) + eps) · weight — no mean subtraction, no bias. */
export function rmsNorm(x: Float64Array, n: number, d: number, weightVec: Float64Array, eps: number): Float64Array {
  const y = new Float64Array(n * d);
  for (let i = 0; i < n; i++) {
    let sq = 0;
    for (let k = 0; k < d; k++) sq += x[i * d + k]! ** 2;
    const inv = 1 / Math.sqrt(sq / d + eps);
    for (let k = 0; k < d; k++) y[i * d + k] = x[i * d + k]! * inv * weightVec[k]!;
  }
  return y;
}

/**
 * transformers' `_relative_position_bucket`, relative = key position − query position. Half the
 * buckets (bidirectional: per sign) are exact small distances, the rest log-spaced up to
 * maxDistance, clamped to the last bucket. The log part is evaluated in float32, as torch does it.
 */
export function relativePositionBucket(relative: number, bidirectional: boolean, numBuckets: number, maxDistance: number): number {
  let bucket = 0;
  let nb = numBuckets;
  let dist: number;
  if (bidirectional) {
    nb = Math.floor(nb / 2);
    if (relative > 0) bucket += nb;
    dist = Math.abs(relative);
  } else {
    dist = Math.max(-relative, 0);
  }
  const maxExact = Math.floor(nb / 2);
  if (dist < maxExact) return bucket + dist;
  const f = Math.fround;
  const logRatio = f(Math.log(f(dist / maxExact)));
  const scale = f(Math.log(maxDistance / maxExact));
  const large = maxExact + Math.trunc(f(f(logRatio / scale) * (nb - maxExact)));
  return bucket + Math.min(large, nb - 1);
}

/** Position bias [heads, q, k] from a layer-0 bias table [numBuckets, heads]. */
export function positionBias(cfg: T5Config, table: Float64Array, qLen: number, kLen: number, bidirectional: boolean, qOffset = 0): Float64Array {
  const H = cfg.numHeads;
  const out = new Float64Array(H * qLen * kLen);
  for (let i = 0; i < qLen; i++) {
    for (let j = 0; j < kLen; j++) {
      const b = relativePositionBucket(j - (i + qOffset), bidirectional, cfg.relativeAttentionNumBuckets, cfg.relativeAttentionMaxDistance);
      for (let h = 0; h < H; h++) out[(h * qLen + i) * kLen + j] = table[b * H + h]!;
    }
  }
  return out;
}

/**
 * Multi-head attention without 1/√d scaling (T5 folds it into the query init).
 * `bias` [heads, q, k] already holds the position bias and any additive mask.
 */
export function attention(
  ckpt: Checkpoint,
  prefix: string,
  xq: Float64Array,
  qLen: number,
  xkv: Float64Array,
  kLen: number,
  bias: Float64Array | null,
): Float64Array {
  const cfg = ckpt.config;
  const { dModel: d, dKv, numHeads: H } = cfg;
  const inner = H * dKv;
  const q = project(ckpt, `${prefix}.q.weight`, xq, qLen, inner, d);
  const k = project(ckpt, `${prefix}.k.weight`, xkv, kLen, inner, d);
  const v = project(ckpt, `${prefix}.v.weight`, xkv, kLen, inner, d);
  const ctx = new Float64Array(qLen * inner);
  const scores = new Float64Array(kLen);
  for (let h = 0; h < H; h++) {
    for (let i = 0; i < qLen; i++) {
      let max = -Infinity;
      for (let j = 0; j < kLen; j++) {
        let s = 0;
        for (let c = 0; c < dKv; c++) s += q[i * inner + h * dKv + c]! * k[j * inner + h * dKv + c]!;
        if (bias) s += bias[(h * qLen + i) * kLen + j]!;
        scores[j] = s;
        if (s > max) max = s;
      }
      let sum = 0;
      for (let j = 0; j < kLen; j++) sum += scores[j] = Math.exp(scores[j]! - max);
      for (let j = 0; j < kLen; j++) {
        const p = scores[j]! / sum;
        for (let c = 0; c < dKv; c++) ctx[i * inner + h * dKv + c] += p * v[j * inner + h * dKv + c]!;
      }
    }
  }
  return project(ckpt, `${prefix}.o.weight`, ctx, qLen, d, inner);
}

/** Error function, |error| < 1e-15: Taylor series near 0, continued fraction for erfc in the tails. */
export function erf(x: number): number {
  const a = Math.abs(x);
  if (a < 3) {
    let term = a;
    let sum = a;
    for (let n = 1; n < 200; n++) {
      term *= (-a * a) / n;
      const add = term / (2 * n + 1);
      sum += add;
      if (Math.abs(add) < 1e-17 * Math.abs(sum)) break;
    }
    return Math.sign(x) * (2 / Math.sqrt(Math.PI)) * sum;
  }
  // erfc(a) = exp(-a²)/√π · 1/(a + 1/2/(a + 1/(a + 3/2/(a + ...)))), evaluated bottom-up.
  let f = a;
  for (let n = 60; n >= 1; n--) f = a + n / 2 / f;
  const erfc = Math.exp(-a * a) / Math.sqrt(Math.PI) / f;
  return Math.sign(x) * (1 - erfc);
}

export function activation(name: T5Config['denseAct'], x: number): number {
  switch (name) {
    case 'relu':
      return x > 0 ? x : 0;
    case 'gelu_new':
      return 0.5 * x * (1 + Math.tanh(Math.sqrt(2 / Math.PI) * (x + 0.044715 * x ** 3)));
    case 'gelu':
      return 0.5 * x * (1 + erf(x / Math.SQRT2));
    case 'silu':
      return x / (1 + Math.exp(-x));
  }
}

/** ReLU FFN (wi → act → wo) or gated (act(wi_0·x) ⊙ wi_1·x → wo). */
export function feedForward(ckpt: Checkpoint, prefix: string, x: Float64Array, n: number): Float64Array {
  const { dModel: d, dFf, denseAct, isGatedAct } = ckpt.config;
  let hidden: Float64Array;
  if (isGatedAct) {
    hidden = project(ckpt, `${prefix}.DenseReluDense.wi_0.weight`, x, n, dFf, d);
    const lin = project(ckpt, `${prefix}.DenseReluDense.wi_1.weight`, x, n, dFf, d);
    for (let i = 0; i < hidden.length; i++) hidden[i] = activation(denseAct, hidden[i]!) * lin[i]!;
  } else {
    hidden = project(ckpt, `${prefix}.DenseReluDense.wi.weight`, x, n, dFf, d);
    for (let i = 0; i < hidden.length; i++) hidden[i] = activation(denseAct, hidden[i]!);
  }
  return project(ckpt, `${prefix}.DenseReluDense.wo.weight`, hidden, n, d, dFf);
}

function addInPlace(h: Float64Array, delta: Float64Array): void {
  for (let i = 0; i < h.length; i++) h[i] += delta[i]!;
}

function embed(ckpt: Checkpoint, ids: number[]): Float64Array {
  const { dModel: d, vocabSize } = ckpt.config;
  const table = w(ckpt, 'shared.weight');
  const h = new Float64Array(ids.length * d);
  ids.forEach((id, i) => {
    if (!Number.isInteger(id) || id < 0 || id >= vocabSize) throw new Error(`t5-f64 reference: token id ${id} outside vocabulary`);
    h.set(table.subarray(id * d, (id + 1) * d), i * d);
  });
  return h;
}

/** Adds (1 − mask[j]) · MASKED to every key column j of `bias` [heads, q, k]. */
function addKeyMask(bias: Float64Array, heads: number, qLen: number, kLen: number, mask: ArrayLike<number>): void {
  for (let h = 0; h < heads; h++) {
    for (let i = 0; i < qLen; i++) {
      for (let j = 0; j < kLen; j++) if (!mask[j]) bias[(h * qLen + i) * kLen + j] += MASKED;
    }
  }
}

/**
 * Encoder stack: embeddings (no scaling), per block pre-norm self-attention and FFN with residuals,
 * then the final norm. Layer 0's bidirectional position bias (plus the padding mask) is used by
 * every block. Returns (n × dModel); `onLayer` sees each block's output (before the final norm).
 */
export function encoderForward(
  ckpt: Checkpoint,
  ids: number[],
  mask?: ArrayLike<number>,
  opts: { onLayer?: (layer: number, hidden: Float64Array) => void } = {},
): Float64Array {
  const cfg = ckpt.config;
  const { dModel: d, numHeads: H, layerNormEpsilon: eps } = cfg;
  const n = ids.length;
  const h = embed(ckpt, ids);
  const bias = positionBias(cfg, w(ckpt, 'encoder.block.0.layer.0.SelfAttention.relative_attention_bias.weight'), n, n, true);
  if (mask) addKeyMask(bias, H, n, n, mask);
  for (let l = 0; l < cfg.numLayers; l++) {
    const p = `encoder.block.${l}`;
    const x0 = rmsNorm(h, n, d, w(ckpt, `${p}.layer.0.layer_norm.weight`), eps);
    addInPlace(h, attention(ckpt, `${p}.layer.0.SelfAttention`, x0, n, x0, n, bias));
    const x1 = rmsNorm(h, n, d, w(ckpt, `${p}.layer.1.layer_norm.weight`), eps);
    addInPlace(h, feedForward(ckpt, `${p}.layer.1`, x1, n));
    opts.onLayer?.(l, h.slice());
  }
  return rmsNorm(h, n, d, w(ckpt, 'encoder.final_layer_norm.weight'), eps);
}

/**
 * Decoder hidden states after the final norm, (t × dModel), for decoder inputs `decoderIds`
 * (starting with decoderStartTokenId): causal self-attention with layer 0's unidirectional bias,
 * cross-attention over `encOut` (no position bias; `encMask` masks padded encoder positions;
 * `encKeyBias`, one number per encoder state, is added to every score of that state).
 */
export function decoderHidden(ckpt: Checkpoint, encOut: Float64Array, decoderIds: number[], encMask?: ArrayLike<number>, encKeyBias?: ArrayLike<number>): Float64Array {
  const cfg = ckpt.config;
  const { dModel: d, numHeads: H, layerNormEpsilon: eps } = cfg;
  const t = decoderIds.length;
  const n = encOut.length / d;
  const h = embed(ckpt, decoderIds);
  const selfBias = positionBias(cfg, w(ckpt, 'decoder.block.0.layer.0.SelfAttention.relative_attention_bias.weight'), t, t, false);
  for (let hh = 0; hh < H; hh++) {
    for (let i = 0; i < t; i++) for (let j = i + 1; j < t; j++) selfBias[(hh * t + i) * t + j] += MASKED;
  }
  let crossBias: Float64Array | null = null;
  if (encMask || encKeyBias) {
    crossBias = new Float64Array(H * t * n);
    if (encMask) addKeyMask(crossBias, H, t, n, encMask);
    if (encKeyBias) for (let r = 0; r < H * t; r++) for (let j = 0; j < n; j++) crossBias[r * n + j] += encKeyBias[j]!;
  }
  for (let l = 0; l < cfg.numDecoderLayers; l++) {
    const p = `decoder.block.${l}`;
    const x0 = rmsNorm(h, t, d, w(ckpt, `${p}.layer.0.layer_norm.weight`), eps);
    addInPlace(h, attention(ckpt, `${p}.layer.0.SelfAttention`, x0, t, x0, t, selfBias));
    const x1 = rmsNorm(h, t, d, w(ckpt, `${p}.layer.1.layer_norm.weight`), eps);
    addInPlace(h, attention(ckpt, `${p}.layer.1.EncDecAttention`, x1, t, encOut, n, crossBias));
    const x2 = rmsNorm(h, t, d, w(ckpt, `${p}.layer.2.layer_norm.weight`), eps);
    addInPlace(h, feedForward(ckpt, `${p}.layer.2`, x2, t));
  }
  return rmsNorm(h, t, d, w(ckpt, 'decoder.final_layer_norm.weight'), eps);
}

/** LM head: with tied embeddings the hidden state is scaled by dModel^-0.5 and projected on shared.weight. */
export function lmHead(ckpt: Checkpoint, hidden: Float64Array): Float64Array {
  const { dModel: d, vocabSize, tieWordEmbeddings } = ckpt.config;
  const t = hidden.length / d;
  let x = hidden;
  if (tieWordEmbeddings) {
    const s = d ** -0.5;
    x = hidden.map((v) => v * s);
  }
  return project(ckpt, tieWordEmbeddings ? 'shared.weight' : 'lm_head.weight', x, t, vocabSize, d);
}

/** Logits (t × vocab) for every decoder position. */
export function decoderLogits(ckpt: Checkpoint, encOut: Float64Array, decoderIds: number[], encMask?: ArrayLike<number>, encKeyBias?: ArrayLike<number>): Float64Array {
  return lmHead(ckpt, decoderHidden(ckpt, encOut, decoderIds, encMask, encKeyBias));
}

export function argmax(row: ArrayLike<number>, start = 0, len = row.length - start): number {
  let best = 0;
  for (let i = 1; i < len; i++) if (row[start + i]! > row[start + best]!) best = i;
  return best;
}

/**
 * Greedy decoding from decoderStartTokenId: up to `maxNewTokens` new ids (the start token excluded),
 * ending with eos when the model produces it. Recomputes the decoder each step — slow but plain.
 */
export function greedyGenerate(ckpt: Checkpoint, ids: number[], maxNewTokens: number, mask?: ArrayLike<number>): number[] {
  const { vocabSize, decoderStartTokenId, eosTokenId } = ckpt.config;
  const encOut = encoderForward(ckpt, ids, mask);
  const dec = [decoderStartTokenId];
  const out: number[] = [];
  for (let step = 0; step < maxNewTokens; step++) {
    const logits = decoderLogits(ckpt, encOut, dec, mask);
    const next = argmax(logits, (dec.length - 1) * vocabSize, vocabSize);
    out.push(next);
    dec.push(next);
    if (next === eosTokenId) break;
  }
  return out;
}
