import type { Checkpoint } from '../checkpoint/types';
import { GraphBuilder } from './builder';
import { decoderBiasTable } from './position-bias';
import { attend, feedForward, getWeight, linear, mergeHeads, rmsNorm, splitHeads, splitHeadsTransposed } from './t5-blocks';

/*
 * Decoding uses two graphs:
 *   cross: encoder output (1,n,d) → every decoder layer's cross-attention keys/values, computed once
 *   step:  one new token per beam, the self-attention cache so far, the cross keys/values
 *          → next-token logits and the grown self-attention cache
 */

export function decoderCrossGraph(ckpt: Checkpoint): GraphBuilder {
  const cfg = ckpt.config;
  const g = new GraphBuilder('decoder_cross');
  const enc = g.input('enc', 'float', [1, 'n', cfg.dModel]);
  for (let l = 0; l < cfg.numDecoderLayers; l++) {
    const p = `decoder.block.${l}.layer.1.EncDecAttention`;
    g.output(splitHeadsTransposed(g, cfg, linear(g, ckpt, enc, `${p}.k.weight`)), `cross_kT_${l}`, 'float', [1, cfg.numHeads, cfg.dKv, 'n']);
    g.output(splitHeads(g, cfg, linear(g, ckpt, enc, `${p}.v.weight`)), `cross_v_${l}`, 'float', [1, cfg.numHeads, 'n', cfg.dKv]);
  }
  return g;
}

export function decoderStepGraph(ckpt: Checkpoint): GraphBuilder {
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
  const noBias = g.scalar(0);

  for (let l = 0; l < cfg.numDecoderLayers; l++) {
    const p = `decoder.block.${l}.layer`;
    const pastK = g.input(`past_k_${l}`, 'float', ['B', H, 't', cfg.dKv]);
    const pastV = g.input(`past_v_${l}`, 'float', ['B', H, 't', cfg.dKv]);
    const crossKT = g.input(`cross_kT_${l}`, 'float', [1, H, cfg.dKv, 'n']);
    const crossV = g.input(`cross_v_${l}`, 'float', [1, H, 'n', cfg.dKv]);

    const h = rmsNorm(g, ckpt, x, `${p}.0.layer_norm.weight`);
    const q = splitHeads(g, cfg, linear(g, ckpt, h, `${p}.0.SelfAttention.q.weight`));
    const k = g.op('Concat', [pastK, splitHeads(g, cfg, linear(g, ckpt, h, `${p}.0.SelfAttention.k.weight`))], { axis: 2 });
    const v = g.op('Concat', [pastV, splitHeads(g, cfg, linear(g, ckpt, h, `${p}.0.SelfAttention.v.weight`))], { axis: 2 });
    g.output(k, `present_k_${l}`, 'float', ['B', H, 't1', cfg.dKv]);
    g.output(v, `present_v_${l}`, 'float', ['B', H, 't1', cfg.dKv]);
    const selfCtx = attend(g, q, g.transpose(k, [0, 1, 3, 2]), v, selfBias);
    x = g.add(x, linear(g, ckpt, mergeHeads(g, cfg, selfCtx), `${p}.0.SelfAttention.o.weight`));

    const hc = rmsNorm(g, ckpt, x, `${p}.1.layer_norm.weight`);
    const qc = splitHeads(g, cfg, linear(g, ckpt, hc, `${p}.1.EncDecAttention.q.weight`));
    const crossCtx = attend(g, qc, crossKT, crossV, noBias);
    x = g.add(x, linear(g, ckpt, mergeHeads(g, cfg, crossCtx), `${p}.1.EncDecAttention.o.weight`));

    x = feedForward(g, ckpt, x, `${p}.2`);
  }

  let out = g.reshape(rmsNorm(g, ckpt, x, 'decoder.final_layer_norm.weight'), [-1, cfg.dModel]);
  let head = embed;
  if (cfg.tieWordEmbeddings) {
    out = g.mul(out, g.scalar(cfg.dModel ** -0.5));
  } else {
    const lm = getWeight(ckpt, 'lm_head.weight');
    head = g.weight('lm_head.weight', lm.data, lm.shape);
  }
  g.output(g.op('Gemm', [out, head], { transB: 1 }), 'logits', 'float', ['B', cfg.vocabSize]);
  return g;
}
