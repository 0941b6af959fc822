import { createHash } from 'node:crypto';
import { throwIfAborted } from '../../common/errors';
import { applyFinalLayerNorm, embedIds, layerOptions, type EncodeOptions } from '../encoder/dense';
import { computeKeys, runEncoderLayer } from '../encoder/layer-runner';
import { f32, floatData, i64, run } from '../runtime/onnx';
import type { T5Model } from '../t5-model';
import { BlockStore, collapsedGroups, topBlocks } from './blocks';
import { planLayout, type Segment, type VccLayoutPlan } from './layout';
import type { VccSettings } from './settings';

const MASKED = -1e9;

/** Blocks a VCC layer kept at token resolution, as document token ranges [start, end). */
export interface LayerEvidence {
  layer: number;
  blocks: Array<{ start: number; end: number; score: number }>;
}

export interface VccEncodeResult {
  /**
   * Final encoder states (n, d) in layout order: query tokens, then document tokens. With a
   * `decoderMemory` they are reassembled only when first read (a decoder that reads the memory
   * never needs them; at 128K, t5-base, reassembly and the final layer norm take about 1 s).
   */
  readonly hidden: Float32Array;
  n: number;
  plan: VccLayoutPlan;
  /** One entry per VCC layer; empty block lists when every block was fine (nothing was chosen). */
  evidence: LayerEvidence[];
  /** Length r of the compressed sequence in each VCC layer. */
  compressedLengths: number[];
  localCacheHit: boolean;
  /** What the decoder attends to when `decoderBlocks` compresses it (see decoderMemory); else absent: `hidden` itself. */
  decoderMemory?: DecoderMemory;
}

/** Encoder states for the decoder's cross-attention, each with a key bias: log(tokens) for a block's mean. */
export interface DecoderMemory {
  /** (n, d), after the final layer norm. */
  hidden: Float32Array;
  n: number;
  keyBias: Float32Array;
}

/**
 * Stores document segments' states after the local layers (cached layout), keyed by
 * `localSegmentKey`. The local layers attend within a segment only, and T5's attention bias
 * depends on relative positions only, so a segment's states depend on its own tokens alone:
 * a segment read again, in any window of any question, is taken from here.
 */
export interface LocalStateCache {
  /** Each key's states, or undefined where absent. */
  get(keys: string[]): Array<Float32Array | undefined> | Promise<Array<Float32Array | undefined>>;
  set(entries: Array<{ key: string; states: Float32Array }>): void | Promise<void>;
}

export interface VccEncodeOptions extends EncodeOptions {
  localCache?: LocalStateCache;
}

export function localSegmentKey(model: T5Model, segmentIds: ArrayLike<number>, s: VccSettings): string {
  const h = createHash('sha256');
  h.update(`${model.checkpoint.hash}|local=${s.localLayers}|segment-states|`);
  h.update(new Uint8Array(Int32Array.from(segmentIds).buffer));
  return h.digest('hex');
}

/**
 * Runs the local layers on the given segments of `states` (layout order, (n, d)), in place.
 * Segments are padded to a common length and batched; padding is masked as a key.
 */
async function runLocalLayers(
  model: T5Model,
  states: Float32Array,
  positions: Int32Array,
  segments: Segment[],
  localLayers: number,
  totalLayers: number,
  opts: EncodeOptions,
): Promise<void> {
  if (segments.length === 0 || localLayers === 0) return;
  const d = model.config.dModel;
  const len = Math.max(...segments.map((s) => s.length));
  const B = segments.length;
  const x = new Float32Array(B * len * d);
  const pos = new BigInt64Array(B * len);
  const bias = new Float32Array(B * len);
  segments.forEach((s, b) => {
    x.set(states.subarray(s.start * d, (s.start + s.length) * d), b * len * d);
    for (let i = 0; i < len; i++) {
      pos[b * len + i] = BigInt(i < s.length ? positions[s.start + i] : positions[s.start + s.length - 1] + 1 + i - s.length);
      if (i >= s.length) bias[b * len + i] = MASKED;
    }
  });
  const batch = { x, batch: B, length: len, positions: pos, keyBias: bias };
  for (let l = 0; l < localLayers; l++) {
    throwIfAborted(opts.signal, 'Encoding');
    await runEncoderLayer(model, l, batch, layerOptions(opts, l, totalLayers));
    opts.onProgress?.({ layer: l + 1, layers: totalLayers });
  }
  segments.forEach((s, b) => states.set(x.subarray(b * len * d, (b * len + s.length) * d), s.start * d));
}

/** VCC's selection: the layer's attention from the VIP tokens to every coarse block, averaged. */
async function blockScores(model: T5Model, layer: number, vipStates: Float32Array, vipPos: BigInt64Array, store: BlockStore) {
  const { numHeads: H, dKv: dk, dModel: d } = model.config;
  const nb = store.blocks;
  const kT = await computeKeys(model, layer, store.coarse, nb);
  const kbias = Float32Array.from(store.counts, (c) => Math.log(c));
  const out = await run(await model.encoderSelect(layer), {
    x: f32(vipStates, [1, vipPos.length, d]),
    qpos: i64(vipPos, [1, vipPos.length]),
    kT: f32(kT, [1, H, dk, nb]),
    kpos: i64(BigInt64Array.from(store.positions, (p) => BigInt(p)), [1, nb]),
    kbias: f32(kbias, [1, nb]),
  });
  return floatData(out.score, 'score');
}

/**
 * The VCC encoder (doc sections 2–4): local layers in fixed segments, then in every upper layer
 * coarsen → select (VIP attention) → refine → the unchanged T5 layer on r tokens with
 * log(count) scale correction and mean positions → updates spread back through the block store.
 * With `groupBlocks` > 1, groups of coarse blocks far from the VIP tokens' attention enter the
 * layer as one state each (doc section 5), and their update reaches each of their blocks.
 */
export async function encodeVcc(
  model: T5Model,
  queryIds: number[],
  documentIds: number[],
  s: VccSettings,
  opts: VccEncodeOptions = {},
): Promise<VccEncodeResult> {
  const cfg = model.config;
  const d = cfg.dModel;
  const L = cfg.numLayers;
  const plan = planLayout(queryIds, documentIds, s);
  const n = plan.ids.length;
  // Local layers. In the cached layout the document part is question-independent and reusable:
  // its rows are embedded only where the cache misses (at 128K, t5-base, embedding them all took 0.5 s).
  const cache = s.layout === 'cached' && s.localLayers > 0 ? opts.localCache : undefined;
  const states = cache ? new Float32Array(n * d) : embedIds(model, plan.ids);
  let localCacheHit = false;
  if (cache) {
    embedSegments(model, plan.ids, plan.querySegments, states);
    localCacheHit = await documentLocalStates(model, plan, states, s, cache, opts);
    await runLocalLayers(model, states, plan.positions, plan.querySegments, s.localLayers, L, { ...opts, onProgress: undefined });
  } else {
    await runLocalLayers(model, states, plan.positions, [...plan.querySegments, ...plan.documentSegments], s.localLayers, L, opts);
  }

  // VCC layers.
  const vip = plan.vip;
  const vipStates = states.slice(0, vip * d);
  const vipPos = BigInt64Array.from(plan.positions.subarray(0, vip), (p) => BigInt(p));
  const nonVip = n - vip;
  // The difference store lives in the states' own non-VIP rows (unused until the final
  // reassembly refines every block back into them): one n·d buffer less at 128K tokens.
  const store = new BlockStore(nonVip, s.blockSize, d, plan.positions.subarray(vip), states.subarray(vip * d));
  for (let b = 0; b < store.blocks; b++) store.coarsen(b, states, vip + store.range(b)[0]);
  const evidence: LayerEvidence[] = [];
  const compressedLengths: number[] = [];
  let lastScores: Float32Array | undefined;

  for (let l = s.localLayers; l < L; l++) {
    throwIfAborted(opts.signal, 'Encoding');
    let fine: number[];
    let scores: Float32Array | undefined;
    if (s.fineBlocks >= store.blocks) {
      fine = Array.from({ length: store.blocks }, (_, b) => b);
    } else {
      scores = await blockScores(model, l, vipStates, vipPos, store);
      fine = topBlocks(scores, s.fineBlocks);
    }
    lastScores = scores;
    const isFine = new Uint8Array(store.blocks);
    for (const b of fine) isFine[b] = 1;
    const groups = scores ? collapsedGroups(store, isFine, scores, s.groupBlocks, s.keptGroups) : [];
    const inGroup = new Uint8Array(store.blocks);
    for (const g of groups) inGroup.fill(1, g.first, g.end);
    const coarseBlocks = store.blocks - fine.length - groups.reduce((acc, g) => acc + g.end - g.first, 0);
    const fineTokens = fine.reduce((acc, b) => acc + store.counts[b], 0);
    const r = fineTokens + coarseBlocks + groups.length + vip;
    compressedLengths.push(r);

    // The compressed sequence: [fine tokens, coarse blocks, group states, VIP tokens].
    const x = new Float32Array(r * d);
    const pos = new BigInt64Array(r);
    const kbias = new Float32Array(r);
    let row = 0;
    for (const b of fine) {
      store.refine(b, x, row);
      const [t0, t1] = store.range(b);
      for (let t = t0; t < t1; t++) pos[row++] = BigInt(plan.positions[vip + t]);
    }
    const coarseRow0 = row;
    for (let b = 0; b < store.blocks; b++) {
      if (isFine[b] || inGroup[b]) continue;
      x.set(store.coarse.subarray(b * d, (b + 1) * d), row * d);
      pos[row] = BigInt(store.positions[b]);
      kbias[row++] = Math.log(store.counts[b]);
    }
    const groupRow0 = row;
    for (const g of groups) {
      g.collapse(x, row);
      pos[row] = BigInt(g.position);
      kbias[row++] = Math.log(g.count);
    }
    const groupStates = x.slice(groupRow0 * d, row * d);
    x.set(vipStates, row * d);
    for (let i = 0; i < vip; i++) pos[row + i] = vipPos[i];

    await runEncoderLayer(model, l, { x, batch: 1, length: r, positions: pos, keyBias: kbias }, layerOptions(opts, l, L));

    // Spread the update back: VIP states, coarse states, and fine blocks re-coarsened.
    vipStates.set(x.subarray(row * d, (row + vip) * d));
    row = coarseRow0;
    for (let b = 0; b < store.blocks; b++) {
      if (isFine[b] || inGroup[b]) continue;
      store.coarse.set(x.subarray(row * d, (row + 1) * d), b * d);
      row++;
    }
    groups.forEach((g, i) => g.spread(groupStates.subarray(i * d, (i + 1) * d), x.subarray((row + i) * d, (row + i + 1) * d)));
    row = 0;
    for (const b of fine) {
      store.coarsen(b, x, row);
      row += store.counts[b];
    }
    evidence.push({ layer: l, blocks: scores ? documentRanges(plan, store, fine, scores) : [] });
    opts.onProgress?.({ layer: l + 1, layers: L });
  }

  const decoderMemory = s.decoderBlocks > 0 && lastScores && s.decoderBlocks < store.blocks ? compressedMemory(model, vipStates, store, topBlocks(lastScores, s.decoderBlocks)) : undefined;
  // Reassembled in layout order, with the final layer norm, once.
  let hidden: Float32Array | undefined;
  const reassembled = (): Float32Array => {
    if (!hidden) {
      states.set(vipStates, 0);
      for (let b = 0; b < store.blocks; b++) store.refine(b, states, vip + store.range(b)[0]);
      applyFinalLayerNorm(model, states);
      hidden = states;
    }
    return hidden;
  };
  if (!decoderMemory) reassembled();
  return {
    get hidden() {
      return reassembled();
    },
    n,
    plan,
    evidence,
    compressedLengths,
    localCacheHit,
    ...(decoderMemory ? { decoderMemory } : {}),
  };
}

/**
 * The decoder's memory in layout order: the VIP states, the tokens of the `tokenBlocks`, and
 * every other block as its mean (its coarse state, which is the mean of its tokens' final
 * states since the difference store sums to zero per block) with key bias log(tokens).
 */
function compressedMemory(model: T5Model, vipStates: Float32Array, store: BlockStore, tokenBlocks: number[]): DecoderMemory {
  const d = model.config.dModel;
  const vip = vipStates.length / d;
  const asTokens = new Uint8Array(store.blocks);
  for (const b of tokenBlocks) asTokens[b] = 1;
  let n = vip;
  for (let b = 0; b < store.blocks; b++) n += asTokens[b] ? store.counts[b] : 1;
  const hidden = new Float32Array(n * d);
  const keyBias = new Float32Array(n);
  hidden.set(vipStates, 0);
  let row = vip;
  for (let b = 0; b < store.blocks; b++) {
    if (asTokens[b]) {
      store.refine(b, hidden, row);
      row += store.counts[b];
    } else {
      hidden.set(store.coarse.subarray(b * d, (b + 1) * d), row * d);
      keyBias[row++] = Math.log(store.counts[b]);
    }
  }
  applyFinalLayerNorm(model, hidden);
  return { hidden, n, keyBias };
}

/** Writes the token embeddings of the segments' rows of `ids` into `states`. */
function embedSegments(model: T5Model, ids: number[], segments: Segment[], states: Float32Array): void {
  const d = model.config.dModel;
  for (const seg of segments) states.set(embedIds(model, ids.slice(seg.start, seg.start + seg.length)), seg.start * d);
}

/**
 * The document segments' states after the local layers (cached layout), from the cache where it
 * has them, the rest computed and put there; written into `states`. True when the cache had all.
 */
async function documentLocalStates(model: T5Model, plan: VccLayoutPlan, states: Float32Array, s: VccSettings, cache: LocalStateCache, opts: EncodeOptions): Promise<boolean> {
  const d = model.config.dModel;
  const segments = plan.documentSegments;
  const keys = segments.map((seg) => localSegmentKey(model, plan.ids.slice(seg.start, seg.start + seg.length), s));
  const found = await cache.get(keys);
  const missing: number[] = [];
  segments.forEach((seg, i) => {
    const got = found[i];
    if (got && got.length === seg.length * d) states.set(got, seg.start * d);
    else missing.push(i);
  });
  if (missing.length === 0) return segments.length > 0;
  embedSegments(model, plan.ids, missing.map((i) => segments[i]!), states);
  await runLocalLayers(model, states, plan.positions, missing.map((i) => segments[i]!), s.localLayers, model.config.numLayers, opts);
  await cache.set(missing.map((i) => ({ key: keys[i]!, states: states.slice(segments[i]!.start * d, (segments[i]!.start + segments[i]!.length) * d) })));
  return false;
}

/** Document tokens the local layers of a prepare run take at once: 32 segments (bounds its memory). */
export function prepareChunkTokens(s: VccSettings): number {
  return 32 * s.segment;
}

/**
 * The question-independent part of cached-layout VCC encodes, done ahead of any question: the
 * local-layer states of every segment of `documentIds` (cut from its start, as an encode of the
 * whole of it or of segment-aligned windows cuts it), put in `cache` chunk by chunk, so a
 * cancelled run keeps what it finished. Returns every segment's key, and how many were there already.
 */
export async function prepareLocalStates(
  model: T5Model,
  documentIds: number[],
  s: VccSettings,
  cache: LocalStateCache,
  opts: EncodeOptions = {},
): Promise<{ cached: number; keys: string[] }> {
  if (s.layout !== 'cached' || s.localLayers === 0) return { cached: 0, keys: [] };
  const d = model.config.dModel;
  const chunk = prepareChunkTokens(s);
  const chunks = Math.ceil(documentIds.length / chunk);
  let cached = 0;
  const allKeys: string[] = [];
  for (let c = 0; c < chunks; c++) {
    throwIfAborted(opts.signal, 'Preparing');
    const ids = documentIds.slice(c * chunk, (c + 1) * chunk);
    const plan = planLayout([], ids, s);
    const keys = plan.documentSegments.map((seg) => localSegmentKey(model, ids.slice(seg.start, seg.start + seg.length), s));
    const found = await cache.get(keys);
    const missing = plan.documentSegments.filter((seg, i) => found[i]?.length !== seg.length * d);
    allKeys.push(...keys);
    cached += plan.documentSegments.length - missing.length;
    if (missing.length > 0) {
      const states = embedIds(model, plan.ids);
      await runLocalLayers(model, states, plan.positions, missing, s.localLayers, s.localLayers, { ...opts, onProgress: undefined });
      await cache.set(missing.map((seg) => ({ key: keys[plan.documentSegments.indexOf(seg)]!, states: states.slice(seg.start * d, (seg.start + seg.length) * d) })));
    }
    opts.onProgress?.({ layer: c + 1, layers: chunks });
  }
  return { cached, keys: allKeys };
}

/** Fine blocks as ranges of document token indices (query tokens that fell outside the VIP seats are dropped). */
function documentRanges(plan: VccLayoutPlan, store: BlockStore, fine: number[], scores: Float32Array) {
  const out: LayerEvidence['blocks'] = [];
  for (const b of fine) {
    const [t0, t1] = store.range(b);
    const start = Math.max(0, plan.vip + t0 - plan.documentStart);
    const end = plan.vip + t1 - plan.documentStart;
    if (end > start) out.push({ start, end, score: scores[b] });
  }
  return out;
}
