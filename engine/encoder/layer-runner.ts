import { throwIfAborted } from '../../common/errors';
import { f32, floatData, i64, run } from '../runtime/onnx';
import type { T5Model } from '../t5-model';

/** Default cap on the elements of one attention score tensor (B·H·c·m): 4M floats = 16 MiB (cache-friendly; measured fastest). */
export const DEFAULT_SCORE_BUDGET = 1 << 22;
/** Rows projected to keys/values per call when one long sequence is processed. */
const KV_ROW_CHUNK = 4096;

/** A batch of B independent sequences of equal length n, laid out (B, n, d). */
export interface EncoderBatch {
  x: Float32Array;
  batch: number;
  length: number;
  /** (B, n): each token's position for the relative bias. */
  positions: BigInt64Array;
  /** (B, n): additive bias of each token as a key: 0, log(count) for a VCC coarse token, −1e9 for padding. */
  keyBias: Float32Array;
}

export interface KeysValues {
  /** (B, H, dk, n) */
  kT: Float32Array;
  /** (B, H, n, dk) */
  v: Float32Array;
}

export interface LayerRunOptions {
  signal?: AbortSignal;
  scoreBudget?: number;
  /** Fraction of the current layer done, for progress within long layers. */
  onFraction?: (done: number) => void;
}

/** Copies rows [r0, r1) of every sequence in a (B, n, w) array into a new (B, r1−r0, w) array. */
function sliceRows(src: Float32Array | BigInt64Array, batch: number, n: number, width: number, r0: number, r1: number) {
  if (batch === 1) return src.subarray(r0 * width, r1 * width);
  const rows = r1 - r0;
  const out = new (src.constructor as Float32ArrayConstructor | BigInt64ArrayConstructor)(batch * rows * width);
  for (let b = 0; b < batch; b++) out.set(src.subarray((b * n + r0) * width, (b * n + r1) * width) as never, b * rows * width);
  return out;
}

function writeRows(dst: Float32Array, src: Float32Array, batch: number, n: number, width: number, r0: number, r1: number): void {
  const rows = r1 - r0;
  for (let b = 0; b < batch; b++) dst.set(src.subarray(b * rows * width, (b + 1) * rows * width), (b * n + r0) * width);
}

/** Keys (pre-transposed) and values of layer `layer` for every token of the batch. */
export async function computeKeysValues(
  model: T5Model,
  layer: number,
  x: Float32Array,
  batch: number,
  n: number,
  signal?: AbortSignal,
): Promise<KeysValues> {
  const { dModel: d, numHeads: H, dKv: dk } = model.config;
  const kv = await model.encoderKv(layer);
  if (batch > 1 || n <= KV_ROW_CHUNK) {
    const out = await run(kv, { x: f32(x, [batch, n, d]) });
    return { kT: floatData(out.kT, 'kT'), v: floatData(out.v, 'v') };
  }
  const kT = new Float32Array(H * dk * n);
  const v = new Float32Array(H * n * dk);
  for (let r0 = 0; r0 < n; r0 += KV_ROW_CHUNK) {
    throwIfAborted(signal);
    const r1 = Math.min(n, r0 + KV_ROW_CHUNK);
    const c = r1 - r0;
    const out = await run(kv, { x: f32(x.subarray(r0 * d, r1 * d), [1, c, d]) });
    const kc = floatData(out.kT, 'kT');
    const vc = floatData(out.v, 'v');
    for (let row = 0; row < H * dk; row++) kT.set(kc.subarray(row * c, (row + 1) * c), row * n + r0);
    for (let h = 0; h < H; h++) v.set(vc.subarray(h * c * dk, (h + 1) * c * dk), (h * n + r0) * dk);
  }
  return { kT, v };
}

/**
 * Runs one unchanged T5 encoder layer on the batch, in place: every sequence attends to itself
 * with its tokens' positions and key biases. Scores are computed in query chunks so no tensor
 * exceeds the score budget.
 */
export async function runEncoderLayer(model: T5Model, layer: number, inp: EncoderBatch, opts: LayerRunOptions = {}): Promise<void> {
  const { dModel: d, numHeads: H } = model.config;
  const budget = opts.scoreBudget ?? DEFAULT_SCORE_BUDGET;
  const n = inp.length;
  const attendSession = await model.encoderAttend(layer);
  const groupSize = Math.max(1, Math.min(inp.batch, Math.floor(budget / (H * n * n))));
  for (let b0 = 0; b0 < inp.batch; b0 += groupSize) {
    throwIfAborted(opts.signal);
    const B = Math.min(groupSize, inp.batch - b0);
    const x = inp.x.subarray(b0 * n * d, (b0 + B) * n * d);
    const pos = inp.positions.subarray(b0 * n, (b0 + B) * n);
    const kbias = inp.keyBias.subarray(b0 * n, (b0 + B) * n);
    const { kT, v } = await computeKeysValues(model, layer, x, B, n, opts.signal);
    const keyFeeds = {
      kT: f32(kT, [B, H, model.config.dKv, n]),
      v: f32(v, [B, H, n, model.config.dKv]),
      kpos: i64(pos, [B, n]),
      kbias: f32(kbias, [B, n]),
    };
    const chunk = Math.max(1, Math.min(n, Math.floor(budget / (B * H * n))));
    for (let r0 = 0; r0 < n; r0 += chunk) {
      throwIfAborted(opts.signal);
      const r1 = Math.min(n, r0 + chunk);
      const out = await run(attendSession, {
        ...keyFeeds,
        x: f32(sliceRows(x, B, n, d, r0, r1) as Float32Array, [B, r1 - r0, d]),
        qpos: i64(sliceRows(pos, B, n, 1, r0, r1) as BigInt64Array, [B, r1 - r0]),
      });
      writeRows(x, floatData(out.y, 'y'), B, n, d, r0, r1);
      opts.onFraction?.((b0 * n + B * r1) / (inp.batch * n));
    }
  }
}

/** T5's final RMS layer norm over rows of width d, in place. */
export function finalLayerNorm(x: Float32Array, weight: Float32Array, eps: number): void {
  const d = weight.length;
  for (let off = 0; off < x.length; off += d) {
    let ss = 0;
    for (let j = 0; j < d; j++) ss += x[off + j] * x[off + j];
    const inv = 1 / Math.sqrt(ss / d + eps);
    for (let j = 0; j < d; j++) x[off + j] = x[off + j] * inv * weight[j];
  }
}

/** Token embeddings (n, d) for the ids. */
export function embed(shared: Float32Array, d: number, ids: ArrayLike<number>): Float32Array {
  const out = new Float32Array(ids.length * d);
  for (let i = 0; i < ids.length; i++) out.set(shared.subarray(ids[i] * d, (ids[i] + 1) * d), i * d);
  return out;
}
