import { PRECISIONS, type Precision } from '../../common/precision';
import { roundHalfEven } from '../checkpoint/safetensors';
import type { GraphBuilder } from './builder';

/** How a model's linear layers are stored and multiplied (part of the graph cache key). */
export { PRECISIONS, type Precision };

/**
 * The int8 kernels ONNX Runtime's CPU provider can run; all take float activations, quantize them
 * per call (dynamic quantization) and multiply by per-output-channel int8 weights:
 *   dqmm:    com.microsoft DynamicQuantizeMatMul (one node)
 *   integer: ONNX DynamicQuantizeLinear → MatMulInteger → Cast → Mul by both scales
 *   nbits8:  com.microsoft MatMulNBits with bits = 8, one block per column, int8 compute (accuracy_level 4)
 * tests/bench/int8-matmul.ts measures them; the engine uses `INT8_KERNEL`.
 */
export type Int8Kernel = 'dqmm' | 'integer' | 'nbits8';
export const INT8_KERNELS: readonly Int8Kernel[] = ['dqmm', 'integer', 'nbits8'];
export const INT8_KERNEL: Int8Kernel = 'dqmm';

/**
 * What int8 leaves in fp32, by decision: the embedding table (a Gather, not a MatMul: a tied
 * model's decoder graph then holds it in fp32 and the LM head in int8), layer norms, position
 * biases, attention itself (activations × activations), and the decoder's cross-attention
 * key/value projections (applied per head to the encoder states, see decoder-graphs.ts).
 * The LM head (vocab × d, the largest matrix, read whole at every decoding step) is int8: on the
 * bundled model's eval at 4K tokens all 64 answers were the same with it int8 as with it fp32.
 */
export const INT8_LM_HEAD = true;

/** Symmetric int8 weights, one scale per output column: w[k][n] ≈ q[k][n] · scale[n], q ∈ [−127, 127]. */
export interface QuantizedColumns {
  /** Row-major (K, N), as the float weight [in, out] it replaces. */
  q: Int8Array;
  scale: Float32Array;
  rows: number;
  cols: number;
}

/**
 * Quantizes a (K, N) row-major weight per column: scale = max|w| / 127 (an all-zero column gets
 * scale 1), q = round-half-to-even(w / scale). −128 is never used, so the range is symmetric and the
 * zero point is 0.
 */
export function quantizeColumns(w: Float32Array, rows: number, cols: number): QuantizedColumns {
  if (w.length !== rows * cols) throw new Error(`quantizeColumns: ${w.length} values are not ${rows}×${cols}`);
  const absMax = new Float32Array(cols);
  for (let r = 0; r < rows; r++) {
    const base = r * cols;
    for (let c = 0; c < cols; c++) {
      const a = Math.abs(w[base + c]);
      if (a > absMax[c]) absMax[c] = a;
    }
  }
  const scale = new Float32Array(cols);
  for (let c = 0; c < cols; c++) scale[c] = absMax[c] > 0 ? absMax[c] / 127 : 1;
  const q = new Int8Array(rows * cols);
  for (let r = 0; r < rows; r++) {
    const base = r * cols;
    for (let c = 0; c < cols; c++) q[base + c] = Math.max(-127, Math.min(127, roundHalfEven(w[base + c] / scale[c])));
  }
  return { q, scale, rows, cols };
}

/** x · W for a (K, N) row-major float weight `w`, quantized to int8 and multiplied with `kernel`. */
export function int8MatMul(g: GraphBuilder, x: string, name: string, w: Float32Array, rows: number, cols: number, kernel: Int8Kernel = INT8_KERNEL): string {
  if (kernel === 'nbits8') return nbits8MatMul(g, x, name, w, rows, cols);
  const { q, scale } = quantizeColumns(w, rows, cols);
  const scaleName = g.weight(`${name}.scale`, scale, [cols]);
  const b = g.bytes(`${name}.int8`, 'int8', q, [rows, cols]);
  if (kernel === 'dqmm') return g.msOp('DynamicQuantizeMatMul', [x, b, scaleName]);
  const [xq, xScale, xZero] = g.opMulti('DynamicQuantizeLinear', [x], 3);
  const acc = g.op('MatMulInteger', [xq, b, xZero]);
  return g.mul(g.mul(g.op('Cast', [acc], { to: 1 }), xScale), scaleName);
}

/** MatMulNBits' blocks along K (it takes 16 to 256), each block of each column with its own scale. */
const NBITS_BLOCK = 128;

function nbits8MatMul(g: GraphBuilder, x: string, name: string, w: Float32Array, rows: number, cols: number): string {
  if (rows % NBITS_BLOCK !== 0) throw new Error(`MatMulNBits here needs K a multiple of ${NBITS_BLOCK}, not ${rows} (${name})`);
  const blocks = rows / NBITS_BLOCK;
  // (N, blocks, block) unsigned bytes; without a zero-point input, 8-bit MatMulNBits subtracts 128.
  const packed = new Uint8Array(rows * cols);
  const scales = new Float32Array(cols * blocks);
  for (let b = 0; b < blocks; b++) {
    const part = quantizeColumns(w.subarray(b * NBITS_BLOCK * cols, (b + 1) * NBITS_BLOCK * cols), NBITS_BLOCK, cols);
    for (let c = 0; c < cols; c++) {
      scales[c * blocks + b] = part.scale[c];
      for (let r = 0; r < NBITS_BLOCK; r++) packed[(c * blocks + b) * NBITS_BLOCK + r] = part.q[r * cols + c] + 128;
    }
  }
  const b = g.bytes(`${name}.u8`, 'uint8', packed, [cols, blocks, NBITS_BLOCK]);
  const s = g.weight(`${name}.block_scale`, scales, [cols * blocks]);
  return g.msOp('MatMulNBits', [x, b, s], { K: rows, N: cols, bits: 8, block_size: NBITS_BLOCK, accuracy_level: 4 });
}
