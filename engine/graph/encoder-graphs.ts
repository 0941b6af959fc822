import type { Checkpoint } from '../checkpoint/types';
import { GraphBuilder } from './builder';
import type { Precision } from './quantize';
import { encoderBiasTable } from './position-bias';
import { feedForward, getWeight, linear, mergeHeads, rmsNorm, splitHeads, splitHeadsTransposed } from './t5-blocks';

/*
 * One encoder layer runs as several graphs so attention never needs all n×n scores at once, and
 * so the projections and the feed-forward see many rows per call whatever the score budget:
 *   kv:     x (B,n,d)                          → kT (B,H,dk,n), v (B,H,n,dk)
 *   query:  x rows (B,c,d)                     → q (B,H,c,dk)
 *   near (one per model, all layers): one key tile of the online (streaming) softmax:
 *           q, kT and v of m keys, running max and accumulator (B,H,c,·) → their update
 *   far tiles (one per model): the same over T tiles of m keys each, in one call
 *   output: x rows, accumulator               → the layer's output for those rows (B,c,d)
 * The caller runs `query`, then near / far tiles over the keys, then `output`, for each query
 * chunk. `near` gathers the relative position bias per (query, key); the far tiles are those
 * whose keys are all at least max_distance away on the same side of every query, so the position
 * bias is one constant per head and no gather is needed. Positions are explicit inputs because VCC
 * runs the same graphs on compressed sequences whose tokens are not contiguous; the key bias carries
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

/** Keys (pre-transposed) and, unless `keysOnly` (VCC's selection needs no values), values of one layer. */
export function encoderKvGraph(ckpt: Checkpoint, layer: number, precision: Precision, keysOnly = false): GraphBuilder {
  const cfg = ckpt.config;
  const p = `encoder.block.${layer}.layer.0`;
  const g = new GraphBuilder(keysOnly ? `encoder_${layer}_k` : `encoder_${layer}_kv`);
  const x = g.input('x', 'float', ['B', 'n', cfg.dModel]);
  const h = rmsNorm(g, ckpt, x, `${p}.layer_norm.weight`);
  g.output(splitHeadsTransposed(g, cfg, linear(g, ckpt, h, `${p}.SelfAttention.k.weight`, precision)), 'kT', 'float', ['B', cfg.numHeads, cfg.dKv, 'n']);
  if (!keysOnly) g.output(splitHeads(g, cfg, linear(g, ckpt, h, `${p}.SelfAttention.v.weight`, precision)), 'v', 'float', ['B', cfg.numHeads, 'n', cfg.dKv]);
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

/** The encoder's relative bias table, shape (2L+1, H), and L (= relative_attention_max_distance). */
export function encoderPositionBias(ckpt: Checkpoint): { table: Float32Array; maxDistance: number } {
  const cfg = ckpt.config;
  const w = getWeight(ckpt, 'encoder.block.0.layer.0.SelfAttention.relative_attention_bias.weight');
  return {
    table: encoderBiasTable(w.data, cfg.numHeads, cfg.relativeAttentionNumBuckets, cfg.relativeAttentionMaxDistance),
    maxDistance: cfg.relativeAttentionMaxDistance,
  };
}

export function encoderQueryGraph(ckpt: Checkpoint, layer: number, precision: Precision): GraphBuilder {
  const cfg = ckpt.config;
  const p = `encoder.block.${layer}.layer.0`;
  const g = new GraphBuilder(`encoder_${layer}_query`);
  const x = g.input('x', 'float', ['B', 'c', cfg.dModel]);
  const h = rmsNorm(g, ckpt, x, `${p}.layer_norm.weight`);
  g.output(splitHeads(g, cfg, linear(g, ckpt, h, `${p}.SelfAttention.q.weight`, precision)), 'q', 'float', ['B', cfg.numHeads, 'c', cfg.dKv]);
  return g;
}

/**
 * One key tile of the online softmax: scores = q·kT + bias; the running max and the accumulator
 * updated. Values come with a column of ones, so the accumulator's last column is the softmax
 * sum, summed by the MatMul in key order (a masked padding key adds an exact 0 whatever the tile
 * length, so padding never changes a result). A bias that is one constant per (sequence, head),
 * `shift` (B,H,1,1), is not added to the (B,H,c,m) scores (a whole pass over the largest tensor)
 * but to their row max: exp(s + shift − max) = exp(s − (max − shift)).
 */
function onlineSoftmaxStep(
  g: GraphBuilder,
  t: { q: string; kT: string; v1: string; max: string; acc: string },
  bias: { scores: string } | { shift: string },
): { max: string; acc: string } {
  const qk = g.matmul(t.q, t.kT);
  const scores = 'shift' in bias ? qk : g.add(qk, bias.scores);
  let rowMax = g.op('ReduceMax', [scores], { axes: [-1], keepdims: 1 });
  if ('shift' in bias) rowMax = g.add(rowMax, bias.shift);
  const max2 = g.op('Max', [t.max, rowMax]);
  const p = g.op('Exp', [g.sub(scores, 'shift' in bias ? g.sub(max2, bias.shift) : max2)]);
  const rescale = g.op('Exp', [g.sub(t.max, max2)]);
  return { max: max2, acc: g.add(g.mul(t.acc, rescale), g.matmul(p, t.v1)) };
}

export function encoderNearTileGraph(ckpt: Checkpoint): GraphBuilder {
  const cfg = ckpt.config;
  const H = cfg.numHeads;
  const g = new GraphBuilder('encoder_attn_near');
  const qpos = g.input('qpos', 'int64', ['B', 'c']);
  const kpos = g.input('kpos', 'int64', ['B', 'm']);
  const kbias = g.input('kbias', 'float', ['B', 'm']);
  const tile = {
    q: g.input('q', 'float', ['B', H, 'c', cfg.dKv]),
    kT: g.input('kT', 'float', ['B', H, cfg.dKv, 'm']),
    v1: g.input('v1', 'float', ['B', H, 'm', cfg.dKv + 1]),
    max: g.input('max', 'float', ['B', H, 'c', 1]),
    acc: g.input('acc', 'float', ['B', H, 'c', cfg.dKv + 1]),
  };
  const { table, maxDistance: L } = encoderPositionBias(ckpt);
  // Table stored (H, 2L+1) so the gather yields (H, B, c, m) directly.
  const tableT = new Float32Array(table.length);
  for (let r = 0; r < 2 * L + 1; r++) for (let h = 0; h < H; h++) tableT[h * (2 * L + 1) + r] = table[r * H + h];
  const t = g.weight('encoder.position_bias_table_by_head', tableT, [H, 2 * L + 1]);
  const rel = g.sub(g.unsqueeze(kpos, [1]), g.unsqueeze(qpos, [2]));
  const idx = g.add(g.op('Clip', [rel, g.scalarInt(-L), g.scalarInt(L)]), g.scalarInt(L));
  const scores = g.add(g.transpose(g.op('Gather', [t, idx], { axis: 1 }), [1, 0, 2, 3]), g.unsqueeze(kbias, [1, 2]));
  const out = onlineSoftmaxStep(g, tile, { scores });
  g.output(out.max, 'max_out', 'float', ['B', H, 'c', 1]);
  g.output(out.acc, 'acc_out', 'float', ['B', H, 'c', cfg.dKv + 1]);
  return g;
}

/**
 * T far key tiles of equal length in one call, a Scan over the tiles, each one step of the online
 * softmax: every key of a far tile is at least max_distance from every query on one side, so its
 * position bias is one constant per head. `uniform`: the tile's key bias is also one value per
 * sequence (dense attention, VCC's unpadded fine tokens), so the whole bias is one number per
 * (sequence, head), `shift` (T,B,H,1,1), and nothing is added to the scores; otherwise `bias`
 * (T,B,H,1,m), the head's constant plus each key's bias. One call per run of tiles instead of one
 * per tile: each call costs about a millisecond outside its operators.
 */
function farTilesGraph(ckpt: Checkpoint, uniform: boolean): GraphBuilder {
  const cfg = ckpt.config;
  const H = cfg.numHeads;
  const dk = cfg.dKv;
  const name = uniform ? 'encoder_attn_far_uniform_tiles' : 'encoder_attn_far_tiles';
  const biasDims = uniform ? ['B', H, 1, 1] : ['B', H, 1, 'm'];
  const body = new GraphBuilder(`${name}_step`, 'step_');
  const tile = {
    q: 'q', // the enclosing graph's input: the same queries for every tile
    max: body.input('step_max', 'float', ['B', H, 'c', 1]),
    acc: body.input('step_acc', 'float', ['B', H, 'c', dk + 1]),
    kT: body.input('step_kT', 'float', ['B', H, dk, 'm']),
    v1: body.input('step_v1', 'float', ['B', H, 'm', dk + 1]),
  };
  const bias = body.input('step_bias', 'float', biasDims);
  const out = onlineSoftmaxStep(body, tile, uniform ? { shift: bias } : { scores: bias });
  body.output(out.max, 'step_max_out', 'float', ['B', H, 'c', 1]);
  body.output(out.acc, 'step_acc_out', 'float', ['B', H, 'c', dk + 1]);

  const g = new GraphBuilder(name);
  g.input('q', 'float', ['B', H, 'c', dk]);
  const inputs = [
    g.input('max', 'float', ['B', H, 'c', 1]),
    g.input('acc', 'float', ['B', H, 'c', dk + 1]),
    g.input('kT', 'float', ['T', 'B', H, dk, 'm']),
    g.input('v1', 'float', ['T', 'B', H, 'm', dk + 1]),
    g.input(uniform ? 'shift' : 'bias', 'float', ['T', ...biasDims]),
  ];
  g.opMulti('Scan', inputs, 2, { body: { graph: body }, num_scan_inputs: 3 }, '', ['max_out', 'acc_out']);
  g.output('max_out', 'max_out', 'float', ['B', H, 'c', 1]);
  g.output('acc_out', 'acc_out', 'float', ['B', H, 'c', dk + 1]);
  return g;
}

export function encoderFarTilesGraph(ckpt: Checkpoint): GraphBuilder {
  return farTilesGraph(ckpt, false);
}

export function encoderFarUniformTilesGraph(ckpt: Checkpoint): GraphBuilder {
  return farTilesGraph(ckpt, true);
}

/**
 * Attention of a query chunk to all m keys of its sequence at once, for short sequences whose
 * positions are consecutive (the local layers' segments): the position bias is then the same
 * Toeplitz matrix for every sequence, computed once by the caller, (1 or B, H, c, m), with any
 * key bias added in. A plain softmax replaces the online one, and no gather is needed. The result
 * has the accumulator's layout; its last column is the softmax sum, 1 up to rounding.
 */
export function encoderRowsTileGraph(ckpt: Checkpoint): GraphBuilder {
  const cfg = ckpt.config;
  const H = cfg.numHeads;
  const g = new GraphBuilder('encoder_attn_rows');
  const q = g.input('q', 'float', ['B', H, 'c', cfg.dKv]);
  const kT = g.input('kT', 'float', ['B', H, cfg.dKv, 'm']);
  const v1 = g.input('v1', 'float', ['B', H, 'm', cfg.dKv + 1]);
  const bias = g.input('bias', 'float', ['Bb', H, 'c', 'm']);
  const p = g.op('Softmax', [g.add(g.matmul(q, kT), bias)], { axis: -1 });
  g.output(g.matmul(p, v1), 'acc_out', 'float', ['B', H, 'c', cfg.dKv + 1]);
  return g;
}

export function encoderOutputGraph(ckpt: Checkpoint, layer: number, precision: Precision): GraphBuilder {
  const cfg = ckpt.config;
  const p = `encoder.block.${layer}.layer`;
  const g = new GraphBuilder(`encoder_${layer}_output`);
  const x = g.input('x', 'float', ['B', 'c', cfg.dModel]);
  const acc = g.input('acc', 'float', ['B', cfg.numHeads, 'c', cfg.dKv + 1]);
  const slice = (from: number, to: number) => g.op('Slice', [acc, g.int64s([from], [1]), g.int64s([to], [1]), g.int64s([3], [1])]);
  const ctx = mergeHeads(g, cfg, g.op('Div', [slice(0, cfg.dKv), slice(cfg.dKv, cfg.dKv + 1)]));
  const x1 = g.add(x, linear(g, ckpt, ctx, `${p}.0.SelfAttention.o.weight`, precision));
  g.output(feedForward(g, ckpt, x1, `${p}.1`, precision), 'y', 'float', ['B', 'c', cfg.dModel]);
  return g;
}

/**
 * VCC's selection score: the layer's own attention probabilities from the VIP tokens (queries)
 * to the given keys, averaged over heads and VIP tokens → (B, m).
 */
export function encoderSelectGraph(ckpt: Checkpoint, layer: number, precision: Precision): GraphBuilder {
  const cfg = ckpt.config;
  const p = `encoder.block.${layer}.layer.0`;
  const g = new GraphBuilder(`encoder_${layer}_select`);
  const { x, qpos, kT, kpos, kbias } = queryKeyInputs(g, ckpt);
  const h = rmsNorm(g, ckpt, x, `${p}.layer_norm.weight`);
  const q = splitHeads(g, cfg, linear(g, ckpt, h, `${p}.SelfAttention.q.weight`, precision));
  const probs = g.op('Softmax', [g.add(g.matmul(q, kT), scoreBias(g, ckpt, qpos, kpos, kbias))], { axis: -1 });
  g.output(g.op('ReduceMean', [probs], { axes: [1, 2], keepdims: 0 }), 'score', 'float', ['B', 'm']);
  return g;
}
