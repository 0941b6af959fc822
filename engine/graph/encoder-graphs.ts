import type { Checkpoint } from '../checkpoint/types';
import { GraphBuilder } from './builder';
import { encoderBiasTable } from './position-bias';
import { attend, feedForward, getWeight, linear, mergeHeads, rmsNorm, splitHeads, splitHeadsTransposed } from './t5-blocks';

/*
 * One encoder layer is split in two graphs so attention never needs all n×n scores at once:
 *   kv:     x (B,n,d)                          → kT (B,H,dk,n), v (B,H,n,dk)
 *   attend: x rows (B,c,d), their positions, kT, v, key positions, key bias
 *                                              → the layer's output for those rows (B,c,d)
 * The caller runs `attend` over query chunks. Positions are explicit inputs because VCC runs the
 * same graphs on compressed sequences whose tokens are not contiguous; the key bias carries
 * padding masks and VCC's log(count) scale correction. `select` scores keys for VCC.
 */

function biasTableWeight(g: GraphBuilder, ckpt: Checkpoint): { table: string; maxDistance: number } {
  const cfg = ckpt.config;
  const w = getWeight(ckpt, 'encoder.block.0.layer.0.SelfAttention.relative_attention_bias.weight');
  const table = encoderBiasTable(w.data, cfg.numHeads, cfg.relativeAttentionNumBuckets, cfg.relativeAttentionMaxDistance);
  const L = cfg.relativeAttentionMaxDistance;
  return { table: g.weight('encoder.position_bias_table', table, [2 * L + 1, cfg.numHeads]), maxDistance: L };
}

/** Position bias (B,H,c,m) for query positions (B,c) and key positions (B,m), plus the key bias (B,m). */
function scoreBias(g: GraphBuilder, ckpt: Checkpoint, qpos: string, kpos: string, kbias: string): string {
  const { table, maxDistance: L } = biasTableWeight(g, ckpt);
  const rel = g.sub(g.unsqueeze(kpos, [1]), g.unsqueeze(qpos, [2]));
  const idx = g.add(g.op('Clip', [rel, g.scalarInt(-L), g.scalarInt(L)]), g.scalarInt(L));
  const pos = g.transpose(g.op('Gather', [table, idx], { axis: 0 }), [0, 3, 1, 2]);
  return g.add(pos, g.unsqueeze(kbias, [1, 2]));
}

export function encoderKvGraph(ckpt: Checkpoint, layer: number): GraphBuilder {
  const cfg = ckpt.config;
  const p = `encoder.block.${layer}.layer.0`;
  const g = new GraphBuilder(`encoder_${layer}_kv`);
  const x = g.input('x', 'float', ['B', 'n', cfg.dModel]);
  const h = rmsNorm(g, ckpt, x, `${p}.layer_norm.weight`);
  g.output(splitHeadsTransposed(g, cfg, linear(g, ckpt, h, `${p}.SelfAttention.k.weight`)), 'kT', 'float', ['B', cfg.numHeads, cfg.dKv, 'n']);
  g.output(splitHeads(g, cfg, linear(g, ckpt, h, `${p}.SelfAttention.v.weight`)), 'v', 'float', ['B', cfg.numHeads, 'n', cfg.dKv]);
  return g;
}

function queryKeyInputs(g: GraphBuilder, ckpt: Checkpoint) {
  const cfg = ckpt.config;
  return {
    x: g.input('x', 'float', ['B', 'c', cfg.dModel]),
    qpos: g.input('qpos', 'int64', ['B', 'c']),
    kT: g.input('kT', 'float', ['B', cfg.numHeads, cfg.dKv, 'm']),
    kpos: g.input('kpos', 'int64', ['B', 'm']),
    kbias: g.input('kbias', 'float', ['B', 'm']),
  };
}

export function encoderAttendGraph(ckpt: Checkpoint, layer: number): GraphBuilder {
  const cfg = ckpt.config;
  const p = `encoder.block.${layer}.layer`;
  const g = new GraphBuilder(`encoder_${layer}_attend`);
  const { x, qpos, kT, kpos, kbias } = queryKeyInputs(g, ckpt);
  const v = g.input('v', 'float', ['B', cfg.numHeads, 'm', cfg.dKv]);
  const h = rmsNorm(g, ckpt, x, `${p}.0.layer_norm.weight`);
  const q = splitHeads(g, cfg, linear(g, ckpt, h, `${p}.0.SelfAttention.q.weight`));
  const ctx = mergeHeads(g, cfg, attend(g, q, kT, v, scoreBias(g, ckpt, qpos, kpos, kbias)));
  const x1 = g.add(x, linear(g, ckpt, ctx, `${p}.0.SelfAttention.o.weight`));
  g.output(feedForward(g, ckpt, x1, `${p}.1`), 'y', 'float', ['B', 'c', cfg.dModel]);
  return g;
}

/**
 * VCC's selection score: the layer's own attention probabilities from the VIP tokens (queries)
 * to the given keys, averaged over heads and VIP tokens → (B, m).
 */
export function encoderSelectGraph(ckpt: Checkpoint, layer: number): GraphBuilder {
  const cfg = ckpt.config;
  const p = `encoder.block.${layer}.layer.0`;
  const g = new GraphBuilder(`encoder_${layer}_select`);
  const { x, qpos, kT, kpos, kbias } = queryKeyInputs(g, ckpt);
  const h = rmsNorm(g, ckpt, x, `${p}.layer_norm.weight`);
  const q = splitHeads(g, cfg, linear(g, ckpt, h, `${p}.SelfAttention.q.weight`));
  const probs = g.op('Softmax', [g.add(g.matmul(q, kT), scoreBias(g, ckpt, qpos, kpos, kbias))], { axis: -1 });
  g.output(g.op('ReduceMean', [probs], { axes: [1, 2], keepdims: 0 }), 'score', 'float', ['B', 'm']);
  return g;
}
