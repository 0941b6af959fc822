/**
 * The arithmetic of int8 linear layers, written from ONNX's DynamicQuantizeLinear and the usual
 * per-channel symmetric weight scheme, independent of engine/: weights and activations are
 * quantized here and handed back dequantized in float64, so a float64 forward pass over them
 * computes what the int8 kernels should compute (integer products summed exactly, then scaled).
 */

/** Round half to even, as ONNX's quantizers round. */
function rint(v: number): number {
  const f = Math.floor(v);
  const d = v - f;
  if (d !== 0.5) return d < 0.5 ? f : f + 1;
  return f % 2 === 0 ? f : f + 1;
}

/**
 * A Hugging Face linear weight [outDim, inDim] quantized per output channel (row): scale =
 * max|w| / 127 (float32), q = round(w / scale) ∈ [−127, 127]; returned as q · scale.
 */
export function dequantizedWeight(W: Float64Array, outDim: number, inDim: number): Float64Array {
  const out = new Float64Array(W.length);
  for (let o = 0; o < outDim; o++) {
    let max = 0;
    for (let k = 0; k < inDim; k++) max = Math.max(max, Math.abs(W[o * inDim + k]!));
    const scale = max > 0 ? Math.fround(max / 127) : 1;
    for (let k = 0; k < inDim; k++) out[o * inDim + k] = Math.max(-127, Math.min(127, rint(W[o * inDim + k]! / scale))) * scale;
  }
  return out;
}

/**
 * DynamicQuantizeLinear over each group of `rowsPerGroup` rows of x (n × width): uint8 with
 * scale = (max(x, 0) − min(x, 0)) / 255 and zero point round(−min / scale); returned as
 * (q − zeroPoint) · scale.
 */
export function dequantizedActivations(x: Float64Array, n: number, width: number, rowsPerGroup: number): Float64Array {
  const out = new Float64Array(x.length);
  for (let r0 = 0; r0 < n; r0 += rowsPerGroup) {
    const from = r0 * width;
    const to = Math.min(n, r0 + rowsPerGroup) * width;
    let min = 0;
    let max = 0;
    for (let i = from; i < to; i++) {
      const v = Math.fround(x[i]!);
      if (v < min) min = v;
      if (v > max) max = v;
    }
    const scale = Math.fround((max - min) / 255);
    if (scale === 0) continue; // all zeros
    const zero = Math.max(0, Math.min(255, rint(-min / scale)));
    for (let i = from; i < to; i++) out[i] = (Math.max(0, Math.min(255, rint(Math.fround(x[i]!) / scale) + zero)) - zero) * scale;
  }
  return out;
}
