import { throwIfAborted } from '../../common/errors';
import { f32, floatData, run } from '../runtime/onnx';
import type { T5Model } from '../t5-model';

/** Every decoder layer's cross-attention keys (1,H,dk,n) and values (1,H,n,dk), computed once per input. */
export interface CrossKeysValues {
  n: number;
  kT: Float32Array[];
  v: Float32Array[];
}

const ROW_CHUNK = 4096;

export async function computeCross(model: T5Model, enc: Float32Array, n: number, signal?: AbortSignal): Promise<CrossKeysValues> {
  const { dModel: d, numHeads: H, dKv: dk, numDecoderLayers: layers } = model.config;
  const session = await model.decoderCross();
  const kT = Array.from({ length: layers }, () => new Float32Array(H * dk * n));
  const v = Array.from({ length: layers }, () => new Float32Array(H * n * dk));
  for (let r0 = 0; r0 < n; r0 += ROW_CHUNK) {
    throwIfAborted(signal);
    const r1 = Math.min(n, r0 + ROW_CHUNK);
    const c = r1 - r0;
    const out = await run(session, { enc: f32(enc.subarray(r0 * d, r1 * d), [1, c, d]) });
    for (let l = 0; l < layers; l++) {
      const kc = floatData(out[`cross_kT_${l}`], `cross_kT_${l}`);
      const vc = floatData(out[`cross_v_${l}`], `cross_v_${l}`);
      for (let row = 0; row < H * dk; row++) kT[l].set(kc.subarray(row * c, (row + 1) * c), row * n + r0);
      for (let h = 0; h < H; h++) v[l].set(vc.subarray(h * c * dk, (h + 1) * c * dk), (h * n + r0) * dk);
    }
  }
  return { n, kT, v };
}
