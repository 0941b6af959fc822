import type { Checkpoint, F32Tensor, T5Config } from '../checkpoint/types';
import type { GraphBuilder } from './builder';
import { int8MatMul, type Precision } from './quantize';

/** HF linear weights are [out, in]; MatMul wants [in, out]. */
export function transposed(t: F32Tensor): Float32Array {
  const [rows, cols] = t.shape as [number, number];
  const out = new Float32Array(rows * cols);
  for (let r = 0; r < rows; r++) {
    const base = r * cols;
    for (let c = 0; c < cols; c++) out[c * rows + r] = t.data[base + c];
  }
  return out;
}

export function getWeight(ckpt: Checkpoint, name: string): F32Tensor {
  const w = ckpt.weights.get(name);
  if (!w) throw new Error(`checkpoint ${ckpt.dir} has no tensor ${name}`);
  return w;
}

/** Adds `x · Wᵀ` for the HF linear weight `name`, its weight stored in `precision`. */
export function linear(g: GraphBuilder, ckpt: Checkpoint, x: string, name: string, precision: Precision): string {
  const w = getWeight(ckpt, name);
  const [outDim, inDim] = w.shape as [number, number];
  if (precision === 'int8') return int8MatMul(g, x, name, transposed(w), inDim, outDim);
  return g.matmul(x, g.weight(name, transposed(w), [inDim, outDim]));
}

/** T5's layer norm: RMS only, no mean subtraction, no bias. */
export function rmsNorm(g: GraphBuilder, ckpt: Checkpoint, x: string, name: string): string {
  const w = getWeight(ckpt, name);
  const variance = g.op('ReduceMean', [g.mul(x, x)], { axes: [-1], keepdims: 1 });
  const inv = g.op('Reciprocal', [g.op('Sqrt', [g.add(variance, g.scalar(ckpt.config.layerNormEpsilon))])]);
  return g.mul(g.mul(x, inv), g.weight(name, w.data, w.shape));
}

function activation(g: GraphBuilder, cfg: T5Config, x: string): string {
  switch (cfg.denseAct) {
    case 'relu':
      return g.op('Relu', [x]);
    case 'silu':
      return g.mul(x, g.op('Sigmoid', [x]));
    case 'gelu': {
      // 0.5·x·(1 + erf(x/√2))
      const erf = g.op('Erf', [g.mul(x, g.scalar(Math.SQRT1_2))]);
      return g.mul(g.mul(x, g.scalar(0.5)), g.add(erf, g.scalar(1)));
    }
    case 'gelu_new': {
      // 0.5·x·(1 + tanh(√(2/π)·(x + 0.044715·x³)))
      const x3 = g.mul(g.mul(x, x), x);
      const inner = g.mul(g.add(x, g.mul(x3, g.scalar(0.044715))), g.scalar(Math.sqrt(2 / Math.PI)));
      return g.mul(g.mul(x, g.scalar(0.5)), g.add(g.op('Tanh', [inner]), g.scalar(1)));
    }
  }
}

/** The feed-forward sublayer with its residual: x + FFN(LN(x)). `prefix` is e.g. 'encoder.block.3.layer.1'. */
export function feedForward(g: GraphBuilder, ckpt: Checkpoint, x: string, prefix: string, precision: Precision): string {
  const cfg = ckpt.config;
  const h = rmsNorm(g, ckpt, x, `${prefix}.layer_norm.weight`);
  let inner: string;
  if (cfg.isGatedAct) {
    const gate = activation(g, cfg, linear(g, ckpt, h, `${prefix}.DenseReluDense.wi_0.weight`, precision));
    inner = g.mul(gate, linear(g, ckpt, h, `${prefix}.DenseReluDense.wi_1.weight`, precision));
  } else {
    inner = activation(g, cfg, linear(g, ckpt, h, `${prefix}.DenseReluDense.wi.weight`, precision));
  }
  return g.add(x, linear(g, ckpt, inner, `${prefix}.DenseReluDense.wo.weight`, precision));
}

/** (B, t, H·dk) → (B, H, t, dk) */
export function splitHeads(g: GraphBuilder, cfg: T5Config, x: string): string {
  return g.transpose(g.reshape(x, [0, 0, cfg.numHeads, cfg.dKv]), [0, 2, 1, 3]);
}

/** (B, t, H·dk) → (B, H, dk, t): keys stored pre-transposed so each query chunk multiplies directly. */
export function splitHeadsTransposed(g: GraphBuilder, cfg: T5Config, x: string): string {
  return g.transpose(g.reshape(x, [0, 0, cfg.numHeads, cfg.dKv]), [0, 2, 3, 1]);
}

/** (B, H, t, dk) → (B, t, H·dk) */
export function mergeHeads(g: GraphBuilder, cfg: T5Config, x: string): string {
  return g.reshape(g.transpose(x, [0, 2, 1, 3]), [0, 0, cfg.numHeads * cfg.dKv]);
}

/** softmax(q·kT + bias)·v, no 1/√d scaling (T5 folds it into its initialization). */
export function attend(g: GraphBuilder, q: string, kT: string, v: string, bias: string): string {
  const probs = g.op('Softmax', [g.add(g.matmul(q, kT), bias)], { axis: -1 });
  return g.matmul(probs, v);
}
