import type { Checkpoint } from '../checkpoint/types';
import { GraphBuilder } from './builder';
import { INT8_LM_HEAD, int8MatMul, type Precision } from './quantize';
import { decoderBiasTable } from './position-bias';
import { attend, feedForward, getWeight, linear, mergeHeads, rmsNorm, splitHeads, transposed } from './t5-blocks';

/*
 * Decoding uses one graph, run once per generated token: one new token per beam, the
 * self-attention cache so far and the final encoder states (n, d) with a score bias per state →
 * next-token logits and the grown self-attention cache.
 *
 * Cross-attention reads the encoder states themselves, not per-layer keys and values: with
 * Wk_h, Wv_h the head-h rows of the key and value projections (dk × d) and e_i the encoder
 * states,  q_h·k_i = (q_h·Wk_h)·e_i  and  Σ p_i v_i = (Σ p_i e_i)·Wv_hᵀ.  So each layer multiplies
 * its queries by Wk_h (a d-vector per head), scores all n states at once, and projects the
 * weighted sum of states by Wv_h. Nothing of size n is stored beyond the encoder states the
 * caller already holds: keys and values for every layer would be 2·layers·n·d floats (9.7 GB
 * for t5-base at 128K tokens in fp32), and computing them would cost 4·layers·n·d² FLOPs
 * (3.7 TFLOPs there) before the first token. The price is H times the cross-attention FLOPs of
 * each step, which touches the same n·d floats twice per layer either way.
 */

/** The key projection of every head as (H, dk, d): the HF weight [H·dk, d] as it is. */
function headKeyProjection(g: GraphBuilder, ckpt: Checkpoint, name: string): string {
  const { numHeads: H, dKv: dk, dModel: d } = ckpt.config;
  return g.weight(name, getWeight(ckpt, name).data, [H, dk, d]);
}

/** The value projection of every head, transposed per head: (H, d, dk). */
function headValueProjectionT(g: GraphBuilder, ckpt: Checkpoint, name: string): string {
  const { numHeads: H, dKv: dk, dModel: d } = ckpt.config;
  const w = getWeight(ckpt, name).data;
  const out = new Float32Array(H * d * dk);
  for (let h = 0; h < H; h++) {
    for (let r = 0; r < dk; r++) {
      const src = (h * dk + r) * d;
      for (let c = 0; c < d; c++) out[(h * d + c) * dk + r] = w[src + c];
    }
  }
  return g.weight(name, out, [H, d, dk]);
}

/** Cross-attention context (B,H,1,dk) of queries q (B,H,1,dk) over the encoder states enc (n,d), encBias (n) added to the scores. */
function crossAttendStates(g: GraphBuilder, ckpt: Checkpoint, q: string, enc: string, encBias: string, prefix: string): string {
  const { numHeads: H, dModel: d } = ckpt.config;
  const qk = g.reshape(g.matmul(q, headKeyProjection(g, ckpt, `${prefix}.k.weight`)), [-1, d]); // (B·H, d)
  // (n, d)·(d, B·H) keeps the long operand first, which ONNX Runtime's GEMM streams fastest.
  const scores = g.transpose(g.matmul(enc, g.transpose(qk, [1, 0])), [1, 0]); // (B·H, n)
  const probs = g.op('Softmax', [g.add(scores, encBias)], { axis: -1 });
  const mixed = g.reshape(g.matmul(probs, enc), [-1, H, 1, d]); // (B, H, 1, d)
  return g.matmul(mixed, headValueProjectionT(g, ckpt, `${prefix}.v.weight`));
}

export function decoderStepGraph(ckpt: Checkpoint, precision: Precision): GraphBuilder {
  const cfg = ckpt.config;
  const H = cfg.numHeads;
  const g = new GraphBuilder('decoder_step');
  const ids = g.input('ids', 'int64', ['B', 1]);
  const step = g.input('step', 'int64', [1]);

  const shared = getWeight(ckpt, 'shared.weight');
  const embed = g.weight('shared.weight', shared.data, shared.shape);
  let x = g.op('Gather', [embed, ids], { axis: 0 });

  // Self-attention bias for the query at `step` against keys 0..step: (1, H, 1, step+1).
  const L = cfg.relativeAttentionMaxDistance;
  const relW = getWeight(ckpt, 'decoder.block.0.layer.0.SelfAttention.relative_attention_bias.weight');
  const table = g.weight('decoder.position_bias_table', decoderBiasTable(relW.data, H, cfg.relativeAttentionNumBuckets, L), [L + 1, H]);
  const stepScalar = g.reshape(step, []);
  const keyPos = g.op('Range', [g.scalarInt(0), g.add(stepScalar, g.scalarInt(1)), g.scalarInt(1)]);
  const distance = g.op('Min', [g.sub(stepScalar, keyPos), g.scalarInt(L)]);
  const selfBias = g.unsqueeze(g.transpose(g.op('Gather', [table, distance], { axis: 0 }), [1, 0]), [0, 2]);
  const enc = g.input('enc', 'float', ['n', cfg.dModel]);
  // A score bias per encoder state: 0, or log(tokens) for a state that stands for a block's mean (VCC's decoderBlocks).
  const encBias = g.input('enc_bias', 'float', ['n']);

  for (let l = 0; l < cfg.numDecoderLayers; l++) {
    const p = `decoder.block.${l}.layer`;
    const pastK = g.input(`past_k_${l}`, 'float', ['B', H, 't', cfg.dKv]);
    const pastV = g.input(`past_v_${l}`, 'float', ['B', H, 't', cfg.dKv]);

    const h = rmsNorm(g, ckpt, x, `${p}.0.layer_norm.weight`);
    const q = splitHeads(g, cfg, linear(g, ckpt, h, `${p}.0.SelfAttention.q.weight`, precision));
    const k = g.op('Concat', [pastK, splitHeads(g, cfg, linear(g, ckpt, h, `${p}.0.SelfAttention.k.weight`, precision))], { axis: 2 });
    const v = g.op('Concat', [pastV, splitHeads(g, cfg, linear(g, ckpt, h, `${p}.0.SelfAttention.v.weight`, precision))], { axis: 2 });
    g.output(k, `present_k_${l}`, 'float', ['B', H, 't1', cfg.dKv]);
    g.output(v, `present_v_${l}`, 'float', ['B', H, 't1', cfg.dKv]);
    const selfCtx = attend(g, q, g.transpose(k, [0, 1, 3, 2]), v, selfBias);
    x = g.add(x, linear(g, ckpt, mergeHeads(g, cfg, selfCtx), `${p}.0.SelfAttention.o.weight`, precision));

    const hc = rmsNorm(g, ckpt, x, `${p}.1.layer_norm.weight`);
    const qc = splitHeads(g, cfg, linear(g, ckpt, hc, `${p}.1.EncDecAttention.q.weight`, precision));
    const crossCtx = crossAttendStates(g, ckpt, qc, enc, encBias, `${p}.1.EncDecAttention`);
    x = g.add(x, linear(g, ckpt, mergeHeads(g, cfg, crossCtx), `${p}.1.EncDecAttention.o.weight`, precision));

    x = feedForward(g, ckpt, x, `${p}.2`, precision);
  }

  let out = g.reshape(rmsNorm(g, ckpt, x, 'decoder.final_layer_norm.weight'), [-1, cfg.dModel]);
  if (cfg.tieWordEmbeddings) out = g.mul(out, g.scalar(cfg.dModel ** -0.5));
  const headName = cfg.tieWordEmbeddings ? 'shared.weight' : 'lm_head.weight';
  let logits: string;
  if (precision === 'int8' && INT8_LM_HEAD) {
    logits = int8MatMul(g, out, `${headName}.head`, transposed(getWeight(ckpt, headName)), cfg.dModel, cfg.vocabSize);
  } else {
    const head = cfg.tieWordEmbeddings ? embed : g.weight('lm_head.weight', getWeight(ckpt, 'lm_head.weight').data, [cfg.vocabSize, cfg.dModel]);
    logits = g.op('Gemm', [out, head], { transB: 1 });
  }
  g.output(logits, 'logits', 'float', ['B', cfg.vocabSize]);
  return g;
}
