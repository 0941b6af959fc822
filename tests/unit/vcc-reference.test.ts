/**
 * The VCC encoder against an independent float64 reference (tests/reference/vcc-f64.ts) and
 * against the dense encoder, on random tiny checkpoints; plus unit tests of each VCC step.
 */
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import type { Checkpoint, T5Config } from '../../engine/checkpoint/types';
import { generate } from '../../engine/decoder/generate';
import { encodeDense } from '../../engine/encoder/dense';
import { T5Model } from '../../engine/t5-model';
import { BlockStore, topBlocks } from '../../engine/vcc/blocks';
import { encodeVcc, prepareLocalStates, type LocalStateCache, type VccEncodeResult } from '../../engine/vcc/encoder';
import { planLayout } from '../../engine/vcc/layout';
import { resolveSettings, type VccSettings } from '../../engine/vcc/settings';
import { randomCheckpoint, rng, tinyConfig } from '../helpers/random-checkpoint';
import { decoderLogits } from '../reference/t5-f64';
import {
  embedRef,
  encodeDenseRef,
  encodeVccRef,
  layoutRef,
  refModel,
  relativePositionBucket,
  relErr,
  t5Layer,
  type RefModel,
  type RefVccResult,
} from '../reference/vcc-f64';

interface Variant {
  name: string;
  config: T5Config;
  seed: number;
}

const VARIANTS: Variant[] = [
  { name: 't5 (relu)', config: tinyConfig({ numLayers: 4 }), seed: 11 },
  {
    name: 't5-v1.1 (gated gelu_new)',
    config: tinyConfig({ variant: 't5-v1.1', denseAct: 'gelu_new', isGatedAct: true, tieWordEmbeddings: false, numLayers: 3 }),
    seed: 12,
  },
];

interface Loaded {
  ckpt: Checkpoint;
  model: T5Model;
  ref: RefModel;
}

const loaded = new Map<string, Loaded>();
function load(v: Variant): Loaded {
  let l = loaded.get(v.name);
  if (!l) {
    const ckpt = randomCheckpoint(v.config, v.seed);
    l = { ckpt, model: new T5Model(ckpt, { threads: 1 }), ref: refModel(ckpt) };
    loaded.set(v.name, l);
  }
  return l;
}
const extraModels: T5Model[] = [];
after(async () => {
  for (const l of loaded.values()) await l.model.release();
  for (const m of extraModels) await m.release();
});

function randomIds(n: number, seed: number, vocab = 64): number[] {
  const r = rng(seed);
  return Array.from({ length: n }, () => r.int(2, vocab));
}

/** The token (row) with the largest relative error, to say where a disagreement sits. */
function worstRow(a: ArrayLike<number>, b: ArrayLike<number>, d: number): { row: number; err: number } {
  let worst = { row: -1, err: 0 };
  for (let i = 0; i < a.length / d; i++) {
    const e = relErr(Array.from({ length: d }, (_, j) => a[i * d + j]), Array.from({ length: d }, (_, j) => b[i * d + j]));
    if (e > worst.err) worst = { row: i, err: e };
  }
  return worst;
}

/** The gap between the h-th and (h+1)-th largest select score: how safe the selection is from rounding. */
function selectionMargin(scores: Float64Array, h: number): number {
  const sorted = Array.from(scores).sort((a, b) => b - a);
  return h < sorted.length ? sorted[h - 1] - sorted[h] : Infinity;
}

/** Measured agreement, printed once at the end (for the report). */
const measured: string[] = [];
after(() => {
  if (measured.length) console.log(`VCC reference agreement:\n  ${measured.join('\n  ')}`);
});

// ---------------------------------------------------------------------------------------------
// The reference itself
// ---------------------------------------------------------------------------------------------

test('reference: relative position buckets follow transformers (bidirectional, 32 buckets, max distance 128)', () => {
  // Hand-evaluated from transformers' _relative_position_bucket: rel = key − query; positive
  // offsets use the upper 16 buckets; |rel| < 8 exact; then 8 + trunc(log(|rel|/8)/log(16)·8), capped at 15.
  const expected: Array<[number, number]> = [
    [0, 0],
    [-1, 1],
    [1, 17],
    [-7, 7],
    [7, 23],
    [-8, 8],
    [-15, 9],
    [-16, 10],
    [16, 26],
    [-31, 11],
    [-32, 12],
    [-64, 14],
    [-127, 15],
    [-128, 15],
    [-5000, 15],
    [5000, 31],
  ];
  for (const [rel, bucket] of expected) assert.equal(relativePositionBucket(rel, 32, 128), bucket, `rel ${rel}`);
});

test('reference: VCC with every block fine and one segment equals the reference dense encoder (float64)', () => {
  for (const v of VARIANTS) {
    const { ref } = load(v);
    const q = randomIds(9, 1);
    const doc = randomIds(70, 2);
    for (const localLayers of [0, 1]) {
      const s = resolveSettings(v.config.numLayers, { blockSize: 8, fineBlocks: 100, vipTokens: 12, localLayers, segment: 512, layout: 'paper' });
      const vcc = encodeVccRef(ref, q, doc, s);
      const dense = encodeDenseRef(ref, [...q, ...doc]);
      assert.ok(relErr(vcc.hidden, dense) < 1e-12, `${v.name}, local ${localLayers}: ${relErr(vcc.hidden, dense)}`);
      assert.deepEqual(vcc.selected, new Array(v.config.numLayers - localLayers).fill(null));
    }
  }
});

// ---------------------------------------------------------------------------------------------
// Exactness: every block fine, one segment, paper layout
// ---------------------------------------------------------------------------------------------

interface Case {
  q: number;
  doc: number;
  vip: number;
  k: number;
  local: number;
}

const EXACT_CASES: Case[] = [
  { q: 7, doc: 150, vip: 12, k: 8, local: 1 }, // n_p > query; 145 non-VIP tokens: last block has 1 token
  { q: 20, doc: 93, vip: 6, k: 5, local: 1 }, // n_p < query: query tokens in blocks
  { q: 0, doc: 61, vip: 4, k: 8, local: 0 }, // no query: the document fills every VIP seat
  { q: 3, doc: 40, vip: 48, k: 16, local: 1 }, // n ≤ n_p: everything is VIP, no blocks
];

for (const v of VARIANTS) {
  test(`exactness (${v.name}): fine blocks ≥ blocks, segment ≥ n, paper layout → encodeVcc = encodeDense = reference`, async () => {
    const { model, ref } = load(v);
    for (const [i, c] of EXACT_CASES.entries()) {
      const q = randomIds(c.q, 100 + i);
      const doc = randomIds(c.doc, 200 + i);
      const n = c.q + c.doc;
      const s = resolveSettings(v.config.numLayers, { blockSize: c.k, fineBlocks: 1000, vipTokens: c.vip, localLayers: c.local, segment: 4096, layout: 'paper' });
      const vcc = await encodeVcc(model, q, doc, s);
      const dense = await encodeDense(model, [...q, ...doc]);
      const r = encodeVccRef(ref, q, doc, s);
      const rd = encodeDenseRef(ref, [...q, ...doc]);
      const label = `${v.name} case ${JSON.stringify(c)}`;
      const eVd = relErr(vcc.hidden, dense);
      const eRd = relErr(r.hidden, dense);
      const eRv = relErr(r.hidden, vcc.hidden);
      measured.push(`exact ${label}: vcc~dense ${eVd.toExponential(2)}, ref~dense ${eRd.toExponential(2)}, ref~vcc ${eRv.toExponential(2)}`);
      assert.equal(vcc.hidden.length, n * v.config.dModel, label);
      assert.ok(eVd <= 1e-5, `${label}: encodeVcc vs encodeDense ${eVd}`);
      assert.ok(eRd <= 1e-5, `${label}: reference vs encodeDense ${eRd}`);
      assert.ok(eRv <= 1e-5, `${label}: reference vs encodeVcc ${eRv}`);
      assert.ok(relErr(r.hidden, rd) < 1e-12, `${label}: reference VCC vs reference dense`);
      // Nothing was chosen and every layer ran on all n tokens.
      assert.equal(vcc.evidence.length, v.config.numLayers - c.local, label);
      for (const e of vcc.evidence) assert.deepEqual(e.blocks, [], label);
      assert.deepEqual(vcc.compressedLengths, new Array(v.config.numLayers - c.local).fill(n), label);
    }
  });
}

// ---------------------------------------------------------------------------------------------
// Compressing settings: engine vs reference
// ---------------------------------------------------------------------------------------------

interface CompressCase extends Case {
  h: number;
  seg: number;
  /** The case must choose a block that straddles query and document (its evidence range is clipped at 0). */
  clips?: boolean;
}

const COMPRESS_CASES: Record<string, CompressCase[]> = {
  't5 (relu)': [
    { q: 9, doc: 230, vip: 12, k: 8, h: 5, local: 1, seg: 32 },
    { q: 20, doc: 101, vip: 8, k: 4, h: 6, local: 2, seg: 16 },
    { q: 4, doc: 60, vip: 4, k: 4, h: 2, local: 0, seg: 16 },
    // n_p < query with most blocks fine: query-only blocks (no evidence) and a straddling block.
    { q: 13, doc: 40, vip: 3, k: 4, h: 11, local: 1, seg: 16, clips: true },
  ],
  't5-v1.1 (gated gelu_new)': [
    { q: 5, doc: 287, vip: 16, k: 6, h: 4, local: 1, seg: 64 },
    { q: 30, doc: 77, vip: 10, k: 7, h: 3, local: 2, seg: 24 },
  ],
};

function settingsOf(cfg: T5Config, c: CompressCase, layout: VccSettings['layout']): VccSettings {
  return resolveSettings(cfg.numLayers, { blockSize: c.k, fineBlocks: c.h, vipTokens: c.vip, localLayers: c.local, segment: c.seg, layout });
}

/** Engine result vs reference: full output, per-layer chosen blocks, scores, compressed lengths. */
function assertAgrees(got: VccEncodeResult, r: RefVccResult, s: VccSettings, d: number, label: string, tol = 1e-4): number {
  const err = relErr(got.hidden, r.hidden);
  assert.equal(got.evidence.length, r.evidence.length, `${label}: evidence entries`);
  for (let i = 0; i < r.evidence.length; i++) {
    const margin = r.scores[i] ? selectionMargin(r.scores[i]!, s.fineBlocks) : Infinity;
    assert.equal(got.evidence[i].layer, s.localLayers + i, `${label}: evidence ${i} layer`);
    assert.deepEqual(
      got.evidence[i].blocks.map(({ start, end }) => ({ start, end })),
      r.evidence[i],
      `${label}: VCC layer ${s.localLayers + i} chose different blocks (reference selection margin ${margin.toExponential(2)})`,
    );
    // Each evidence range is a fine block: its score is that block's select score.
    if (r.selected[i]) {
      const shown = got.evidence[i].blocks.map((b) => b.score);
      const visible = r.selected[i]!.filter((b) => r.layout.vip + r.blockRanges[b][1] - got.plan.queryLength > 0);
      assert.equal(shown.length, visible.length, label);
      visible.forEach((b, j) => assert.ok(Math.abs(shown[j] - r.scores[i]![b]) <= 1e-5, `${label}: score of block ${b}: ${shown[j]} vs ${r.scores[i]![b]}`));
    }
  }
  assert.deepEqual(got.compressedLengths, r.compressedLengths, `${label}: compressed lengths`);
  const worst = worstRow(got.hidden, r.hidden, d);
  assert.ok(err <= tol, `${label}: relative error ${err} (worst row ${worst.row}: ${worst.err})`);
  return err;
}

for (const v of VARIANTS) {
  test(`compressing settings (${v.name}): engine = reference on the output and on every layer's chosen blocks`, async () => {
    const { model, ref } = load(v);
    for (const [i, c] of COMPRESS_CASES[v.name].entries()) {
      const q = randomIds(c.q, 300 + i);
      const doc = randomIds(c.doc, 400 + i);
      for (const layout of ['paper', 'cached'] as const) {
        const s = settingsOf(v.config, c, layout);
        const label = `${v.name} ${layout} ${JSON.stringify(c)}`;
        const got = await encodeVcc(model, q, doc, s);
        const r = encodeVccRef(ref, q, doc, s);
        // Selection must actually happen in every VCC layer, and must compress.
        assert.ok(r.selected.every((x) => x !== null), `${label}: test setup should select`);
        assert.ok(r.compressedLengths.every((len) => len < c.q + c.doc), `${label}: test setup should compress`);
        if (c.clips) {
          const straddles = (b: number) => c.vip + r.blockRanges[b][0] < c.q && c.vip + r.blockRanges[b][1] > c.q;
          assert.ok(r.selected.some((sel) => sel!.some(straddles)), `${label}: test setup should select a straddling block`);
        }
        const err = assertAgrees(got, r, s, v.config.dModel, label);
        const margins = r.scores.map((sc) => selectionMargin(sc!, c.h));
        measured.push(`compress ${label}: rel ${err.toExponential(2)}, r = ${r.compressedLengths.join('/')}, min selection margin ${Math.min(...margins).toExponential(2)}`);
      }
    }
  });
}

for (const v of VARIANTS) {
  test(`groups of blocks (${v.name}): engine = reference, r shrinks, and keeping every group is the two-level VCC`, async () => {
    const { model, ref } = load(v);
    const L = v.config.numLayers;
    const q = randomIds(9, 700);
    const doc = randomIds(300, 701);
    const base = { blockSize: 4, fineBlocks: 4, vipTokens: 12, localLayers: 1, segment: 32 } as const;
    for (const layout of ['paper', 'cached'] as const) {
      const twoLevel = resolveSettings(L, { ...base, layout });
      const plain = await encodeVcc(model, q, doc, twoLevel);
      // 75 blocks in 13 groups of 6 (the last of 3): at most 4 hold a fine block, 2 more are kept.
      for (const [groupBlocks, keptGroups] of [[6, 2], [6, 0], [5, 1]]) {
        const s = resolveSettings(L, { ...base, layout, groupBlocks, keptGroups });
        const label = `${v.name} ${layout} g=${groupBlocks} kept=${keptGroups}`;
        const got = await encodeVcc(model, q, doc, s);
        const r = encodeVccRef(ref, q, doc, s);
        const err = assertAgrees(got, r, s, v.config.dModel, label);
        assert.ok(
          r.compressedLengths.every((len, i) => len < plain.compressedLengths[i]!),
          `${label}: groups should shorten r (${r.compressedLengths.join('/')} vs ${plain.compressedLengths.join('/')})`,
        );
        assert.ok(relErr(got.hidden, plain.hidden) > 1e-4, `${label}: collapsing groups should change the output`);
        measured.push(`groups ${label}: rel ${err.toExponential(2)}, r = ${r.compressedLengths.join('/')} (two levels ${plain.compressedLengths.join('/')})`);
      }
      for (const s of [resolveSettings(L, { ...base, layout, groupBlocks: 6, keptGroups: 13 }), resolveSettings(L, { ...base, layout, groupBlocks: 1, keptGroups: 0 })]) {
        const same = await encodeVcc(model, q, doc, s);
        assert.deepEqual(same.compressedLengths, plain.compressedLengths);
        assert.ok(relErr(same.hidden, plain.hidden) <= 1e-6, `${layout} g=${s.groupBlocks} kept=${s.keptGroups}: ${relErr(same.hidden, plain.hidden)}`);
      }
    }
  });
}

for (const v of VARIANTS) {
  test(`decoder memory (${v.name}): engine = reference, the decoder reads it, and it is absent where nothing is compressed`, async () => {
    const { ckpt, model, ref } = load(v);
    const L = v.config.numLayers;
    const d = v.config.dModel;
    const q = randomIds(9, 710);
    const doc = randomIds(300, 711);
    const base = { blockSize: 4, fineBlocks: 4, vipTokens: 12, localLayers: 1, segment: 32, groupBlocks: 6, keptGroups: 2 } as const;
    for (const layout of ['paper', 'cached'] as const) {
      const full = await encodeVcc(model, q, doc, resolveSettings(L, { ...base, layout }));
      assert.equal(full.decoderMemory, undefined);
      for (const decoderBlocks of [1, 4, 20]) {
        const s = resolveSettings(L, { ...base, layout, decoderBlocks });
        const label = `${v.name} ${layout} decoderBlocks=${decoderBlocks}`;
        const got = await encodeVcc(model, q, doc, s);
        const r = encodeVccRef(ref, q, doc, s);
        assertAgrees(got, r, s, d, label);
        assert.deepEqual(got.hidden, full.hidden, `${label}: the encoder's own output is unchanged`);
        const mem = got.decoderMemory!;
        assert.ok(mem && r.decoderMemory, `${label}: a decoder memory`);
        // 75 blocks (the last of 3 tokens): decoderBlocks of them as tokens, the rest one state each
        assert.equal(mem.n, r.decoderMemory!.keyBias.length, `${label}: memory length`);
        assert.ok(mem.n < 12 + 75 + decoderBlocks * 4 && mem.n >= 12 + 75 - decoderBlocks, `${label}: memory length ${mem.n}`);
        mem.keyBias.forEach((b, i) => assert.ok(Math.abs(b - r.decoderMemory!.keyBias[i]!) <= 1e-6, `${label}: key bias ${i}`));
        const err = relErr(mem.hidden, r.decoderMemory!.hidden);
        assert.ok(err <= 1e-4, `${label}: memory relative error ${err}`);
        measured.push(`decoder memory ${label}: n ${mem.n} of ${got.n}, rel ${err.toExponential(2)}`);

        // The decoder reads it with its key bias: logits as the float64 decoder over the reference memory.
        const out = await generate(model, mem, { maxNewTokens: 3 });
        const logits = decoderLogits(ckpt, r.decoderMemory!.hidden, [ckpt.config.decoderStartTokenId, ...out.outputIds.slice(0, 2)], undefined, r.decoderMemory!.keyBias);
        const V = ckpt.config.vocabSize;
        const lerr = relErr(out.firstStepLogits, logits.subarray(0, V));
        assert.ok(lerr <= 1e-4, `${label}: first-step logits relative error ${lerr}`);
        assert.ok(relErr(out.firstStepLogits, (await generate(model, full, { maxNewTokens: 1 })).firstStepLogits) > 1e-6, `${label}: a compressed memory should change the logits`);
        // With a decoder memory the full states are reassembled when first read: after decoding from the memory, still the encoder's output.
        const late = await encodeVcc(model, q, doc, s);
        await generate(model, late.decoderMemory!, { maxNewTokens: 2 });
        assert.deepEqual(late.hidden, full.hidden, `${label}: the states read after decoding`);
      }
      // as many decoder blocks as blocks: the full output, as without the setting
      assert.equal((await encodeVcc(model, q, doc, resolveSettings(L, { ...base, layout, decoderBlocks: 75 }))).decoderMemory, undefined);
    }
  });
}

test('edge settings: all blocks coarse, one block larger than the non-VIP tokens, blocks of 1, segments of 1, small score budget', async () => {
  const v = VARIANTS[0];
  const { model, ref } = load(v);
  const L = v.config.numLayers;
  const cases: Array<{ name: string; q: number; doc: number; s: Partial<VccSettings>; scoreBudget?: number }> = [
    { name: 'fineBlocks 0', q: 9, doc: 120, s: { blockSize: 8, fineBlocks: 0, vipTokens: 12, localLayers: 1, segment: 32, layout: 'paper' } },
    { name: 'one block, k > non-VIP tokens', q: 9, doc: 10, s: { blockSize: 16, fineBlocks: 0, vipTokens: 12, localLayers: 1, segment: 8, layout: 'cached' } },
    { name: 'k = 1', q: 9, doc: 50, s: { blockSize: 1, fineBlocks: 10, vipTokens: 4, localLayers: 1, segment: 8, layout: 'cached' } },
    { name: 'segment 1', q: 9, doc: 60, s: { blockSize: 4, fineBlocks: 3, vipTokens: 6, localLayers: 2, segment: 1, layout: 'cached' } },
    // Budget H·n·c for c = 7 query rows per chunk: every attention runs in several chunks.
    { name: 'score budget', q: 9, doc: 200, s: { blockSize: 8, fineBlocks: 5, vipTokens: 12, localLayers: 2, segment: 64, layout: 'paper' }, scoreBudget: 4 * 7 * 9 },
  ];
  for (const [i, c] of cases.entries()) {
    const s = resolveSettings(L, c.s);
    const q = randomIds(c.q, 500 + i);
    const doc = randomIds(c.doc, 600 + i);
    const got = await encodeVcc(model, q, doc, s, c.scoreBudget ? { scoreBudget: c.scoreBudget } : {});
    const err = assertAgrees(got, encodeVccRef(ref, q, doc, s), s, v.config.dModel, c.name);
    measured.push(`edge ${c.name}: rel ${err.toExponential(2)}`);
  }
});

// ---------------------------------------------------------------------------------------------
// Steps, one at a time
// ---------------------------------------------------------------------------------------------

/** Float32 states (rows × d) with a per-row offset so block means are not near zero. */
function randomStates(rows: number, d: number, seed: number): Float32Array {
  const r = rng(seed);
  return Float32Array.from({ length: rows * d }, (_, i) => 3 * Math.sin(i) + r.normal());
}

test('BlockStore.coarsen: masked mean over the real tokens only (last block short), offsets = token − mean', () => {
  const d = 5;
  const tokens = 11; // blocks of 4: [0,4) [4,8) [8,11)
  const states = randomStates(tokens + 3, d, 7); // 3 leading rows that are not part of the store
  const store = new BlockStore(tokens, 4, d, Array.from({ length: tokens }, (_, i) => i));
  assert.equal(store.blocks, 3);
  assert.deepEqual(Array.from(store.counts), [4, 4, 3]);
  for (let b = 0; b < 3; b++) store.coarsen(b, states, 3 + b * 4);
  for (let b = 0; b < 3; b++) {
    const t0 = b * 4;
    const t1 = Math.min(tokens, t0 + 4);
    for (let j = 0; j < d; j++) {
      let sum = 0;
      for (let t = t0; t < t1; t++) sum += states[(3 + t) * d + j];
      const mean = sum / (t1 - t0);
      assert.ok(Math.abs(store.coarse[b * d + j] - mean) <= 1e-6 * (1 + Math.abs(mean)), `block ${b} dim ${j}: ${store.coarse[b * d + j]} vs ${mean}`);
      for (let t = t0; t < t1; t++) {
        const off = states[(3 + t) * d + j] - store.coarse[b * d + j];
        assert.ok(Math.abs(store.diff[t * d + j] - off) <= 1e-6 * (1 + Math.abs(off)), `offset t ${t} dim ${j}`);
      }
    }
  }
});

test('BlockStore.refine: coarse + offsets gives the tokens back, and token + u after the coarse state got update u', () => {
  const d = 6;
  const tokens = 23;
  const k = 5;
  const states = randomStates(tokens, d, 9);
  const store = new BlockStore(tokens, k, d, Array.from({ length: tokens }, (_, i) => i));
  for (let b = 0; b < store.blocks; b++) store.coarsen(b, states, b * k);
  // Float32 bookkeeping: offset and refined token are each rounded once, so the round trip is
  // exact to one float32 rounding of the larger of |token| and |mean|.
  const ulpBound = (...xs: number[]) => 2 ** -23 * xs.reduce((a, x) => a + Math.abs(x), 0);
  const out = new Float32Array(tokens * d);
  for (let b = 0; b < store.blocks; b++) store.refine(b, out, b * k);
  for (let i = 0; i < tokens * d; i++) {
    const c = store.coarse[Math.floor(i / d / k) * d + (i % d)];
    assert.ok(Math.abs(out[i] - states[i]) <= ulpBound(states[i], c), `element ${i}: ${out[i]} vs ${states[i]}`);
  }

  // Give block 2 (and only it) an update u; refine must give token + u for its tokens only.
  const u = Float32Array.from({ length: d }, (_, j) => 0.5 - 0.3 * j);
  for (let j = 0; j < d; j++) store.coarse[2 * d + j] += u[j];
  for (let b = 0; b < store.blocks; b++) store.refine(b, out, b * k);
  for (let t = 0; t < tokens; t++) {
    for (let j = 0; j < d; j++) {
      const expected = states[t * d + j] + (Math.floor(t / k) === 2 ? u[j] : 0);
      const c = store.coarse[Math.floor(t / k) * d + j];
      assert.ok(Math.abs(out[t * d + j] - expected) <= ulpBound(states[t * d + j], c, u[j], expected), `t ${t} dim ${j}: ${out[t * d + j]} vs ${expected}`);
    }
  }
});

test('topBlocks: the h largest, ties to the earlier block, result in block order', () => {
  assert.deepEqual(topBlocks([0.1, 0.5, 0.5, 0.2, 0.5], 2), [1, 2]);
  assert.deepEqual(topBlocks([0.3, 0.1, 0.3, 0.3], 2), [0, 2]);
  assert.deepEqual(topBlocks([0.9, 0.1, 0.8], 2), [0, 2]);
  assert.deepEqual(topBlocks([1, 2, 3], 0), []);
  assert.deepEqual(topBlocks([1, 2, 3], 5), [0, 1, 2]);
  // Many ties (integer scores), against a plain selection loop.
  const r = rng(5);
  for (let trial = 0; trial < 200; trial++) {
    const len = r.int(1, 30);
    const scores = Array.from({ length: len }, () => r.int(0, 5));
    const h = r.int(0, len + 2);
    const chosen: number[] = [];
    const left = scores.map((s, i) => ({ s, i }));
    for (let c = 0; c < Math.min(h, len); c++) {
      let best = 0;
      for (let j = 1; j < left.length; j++) if (left[j].s > left[best].s) best = j; // strict: earliest wins ties
      chosen.push(left.splice(best, 1)[0].i);
    }
    assert.deepEqual(topBlocks(scores, h), chosen.sort((a, b) => a - b), `scores ${scores}, h ${h}`);
  }
});

test('block positions: Math.round of the mean of the real tokens’ positions (halves round up)', () => {
  // Blocks of 4 over positions with a jump (cached layout: query at 0..5, document from 16).
  const pos = [0, 1, 2, 3, 4, 5, 16, 17, 18, 19];
  const store = new BlockStore(pos.length, 4, 1, pos);
  // (0+1+2+3)/4 = 1.5 → 2; (4+5+16+17)/4 = 10.5 → 11; (18+19)/2 = 18.5 → 19.
  assert.deepEqual(Array.from(store.positions), [2, 11, 19]);
  const odd = new BlockStore(3, 3, 1, [3, 4, 16]);
  assert.deepEqual(Array.from(odd.positions), [8]); // 23/3 = 7.67
  // And the reference's block positions agree with the store's on a whole cached layout.
  const s = resolveSettings(4, { blockSize: 6, fineBlocks: 2, vipTokens: 5, localLayers: 1, segment: 16, layout: 'cached' });
  const r = encodeVccRef(load(VARIANTS[0]).ref, randomIds(13, 1), randomIds(40, 2), s);
  const plan = planLayout(randomIds(13, 1), randomIds(40, 2), s);
  const nonVip = Array.from(plan.positions).slice(plan.vip);
  assert.deepEqual(Array.from(new BlockStore(nonVip.length, 6, 1, nonVip).positions), r.blockPositions);
});

test('settings: the paper\'s T5 preset (k 16, h 90, n_p 48, local lower third, segments 512, two levels, the decoder over every token); n_p follows k as 3·k unless given', () => {
  assert.deepEqual(resolveSettings(12), { blockSize: 16, fineBlocks: 90, vipTokens: 48, groupBlocks: 1, keptGroups: 0, decoderBlocks: 0, localLayers: 4, segment: 512, layout: 'paper' });
  assert.equal(resolveSettings(12, { blockSize: 32, fineBlocks: 55 }).vipTokens, 96);
  assert.equal(resolveSettings(12, { blockSize: 64, fineBlocks: 30, layout: 'cached' }).vipTokens, 192);
  assert.equal(resolveSettings(12, { blockSize: 64, vipTokens: 20 }).vipTokens, 20);
  assert.equal(resolveSettings(6, { blockSize: undefined }).vipTokens, 48);
  assert.throws(() => resolveSettings(12, { blockSize: 0 }), /block size must be an integer ≥ 1, got 0/);
  assert.throws(() => resolveSettings(12, { groupBlocks: 0 }), /blocks per group must be an integer ≥ 1, got 0/);
  assert.throws(() => resolveSettings(12, { keptGroups: -1 }), /kept groups must be an integer ≥ 0, got -1/);
  assert.throws(() => resolveSettings(12, { decoderBlocks: 2.5 }), /decoder blocks must be an integer ≥ 0, got 2.5/);
});

test('planLayout: positions and segments of the paper and cached layouts', () => {
  const base = { blockSize: 4, fineBlocks: 2, localLayers: 1 };
  const cases: Array<{ q: number; doc: number; seg: number; vip: number; layout: 'paper' | 'cached'; positions: number[]; segments: Array<[number, number]> }> = [
    { q: 3, doc: 10, seg: 4, vip: 5, layout: 'paper', positions: [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12], segments: [[0, 4], [4, 4], [8, 4], [12, 1]] },
    { q: 3, doc: 10, seg: 4, vip: 5, layout: 'cached', positions: [0, 1, 2, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13], segments: [[0, 3], [3, 4], [7, 4], [11, 2]] },
    { q: 8, doc: 5, seg: 4, vip: 2, layout: 'cached', positions: [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12], segments: [[0, 4], [4, 4], [8, 4], [12, 1]] },
    { q: 9, doc: 3, seg: 4, vip: 20, layout: 'cached', positions: [0, 1, 2, 3, 4, 5, 6, 7, 8, 12, 13, 14], segments: [[0, 4], [4, 4], [8, 1], [9, 3]] },
    { q: 0, doc: 6, seg: 4, vip: 3, layout: 'cached', positions: [0, 1, 2, 3, 4, 5], segments: [[0, 4], [4, 2]] },
  ];
  for (const c of cases) {
    const s = resolveSettings(4, { ...base, vipTokens: c.vip, segment: c.seg, layout: c.layout });
    const plan = planLayout(randomIds(c.q, 1), randomIds(c.doc, 2), s);
    const label = JSON.stringify(c);
    assert.deepEqual(Array.from(plan.positions), c.positions, label);
    const segs = [...plan.querySegments, ...plan.documentSegments].map((x) => [x.start, x.length]);
    assert.deepEqual(segs, c.segments, label);
    assert.equal(plan.vip, Math.min(c.vip, c.q + c.doc), label);
    assert.equal(plan.queryLength, c.q, label);
    assert.equal(plan.documentOffset, c.positions[c.q] ?? plan.documentOffset, label);
    if (c.layout === 'cached') {
      for (const x of plan.querySegments) assert.ok(x.start + x.length <= c.q, `${label}: query segment crosses into the document`);
      for (const x of plan.documentSegments) assert.ok(x.start >= c.q, `${label}: document segment holds query tokens`);
    }
    // The reference's own layout is the same.
    const ref = layoutRef(c.q, c.doc, s);
    assert.deepEqual(ref.positions, c.positions, label);
    assert.deepEqual(ref.segments.map((x) => [x.start, x.length]), c.segments, label);
  }
});

test('scale correction (reference layer): a coarse key for m identical far tokens weighs exactly as the m tokens', () => {
  const { ref } = load(VARIANTS[0]);
  const d = ref.cfg.dModel;
  // 4 VIP tokens at 0..3 and 5 copies of one token at 300..304: every VIP→block distance is past
  // max_distance (128), so all 5 copies share one position bucket, as does the coarse key at 302.
  const vipIds = randomIds(4, 3);
  const blockId = 17;
  const full = embedRef(ref, [...vipIds, ...new Array(5).fill(blockId)]);
  const fullPos = [0, 1, 2, 3, 300, 301, 302, 303, 304];
  const compressed = embedRef(ref, [...vipIds, blockId]);
  const compPos = [0, 1, 2, 3, 302];
  for (let l = 0; l < ref.cfg.numLayers; l++) {
    const a = t5Layer(ref, l, full, fullPos).subarray(0, 4 * d);
    const b = t5Layer(ref, l, compressed, compPos, [0, 0, 0, 0, Math.log(5)]).subarray(0, 4 * d);
    assert.ok(relErr(b, a) < 1e-13, `layer ${l}: ${relErr(b, a)}`);
    // Without the log(m) correction the VIP outputs are clearly different: the check has teeth.
    const noCorrection = t5Layer(ref, l, compressed, compPos, [0, 0, 0, 0, 0]).subarray(0, 4 * d);
    assert.ok(relErr(noCorrection, a) > 1e-3, `layer ${l}: uncorrected ${relErr(noCorrection, a)}`);
  }
});

test('scale correction (engine): with zero position bias and uniform blocks, VCC with coarse blocks equals dense', async () => {
  // Zero relative bias: m identical tokens stay identical through every dense layer, and a coarse
  // key with bias log(m) is then exactly those m keys, in every layer and for every query.
  const cfg = tinyConfig({ numLayers: 3 });
  const ckpt = randomCheckpoint(cfg, 21);
  ckpt.weights.get('encoder.block.0.layer.0.SelfAttention.relative_attention_bias.weight')!.data.fill(0);
  const model = new T5Model(ckpt, { threads: 1 });
  extraModels.push(model);
  const ref = refModel(ckpt);
  const k = 4;
  const query = randomIds(5, 8);
  const blockIds = [9, 33, 41, 2, 60, 27];
  const doc = blockIds.flatMap((id, b) => new Array(b === blockIds.length - 1 ? 3 : k).fill(id)); // last block short
  const dense = await encodeDense(model, [...query, ...doc]);
  const denseRef = encodeDenseRef(ref, [...query, ...doc]);
  for (const fineBlocks of [0, 2]) {
    const s = resolveSettings(3, { blockSize: k, fineBlocks, vipTokens: 5, localLayers: 0, segment: 64, layout: 'paper' });
    const got = await encodeVcc(model, query, doc, s);
    const r = encodeVccRef(ref, query, doc, s);
    assert.deepEqual(got.compressedLengths, r.compressedLengths);
    assert.ok(r.compressedLengths.every((len) => len < query.length + doc.length));
    const err = relErr(got.hidden, dense);
    measured.push(`scale correction (engine, zero bias, ${fineBlocks} fine): vcc~dense ${err.toExponential(2)}`);
    assert.ok(err <= 1e-5, `fine ${fineBlocks}: ${err}`);
    assert.ok(relErr(r.hidden, denseRef) < 1e-12, `reference, fine ${fineBlocks}: ${relErr(r.hidden, denseRef)}`);
  }
});

test('cached layout: the document part of the local-layer output does not depend on the question', async () => {
  const v = VARIANTS[0];
  const { model, ref } = load(v);
  const d = v.config.dModel;
  const L = v.config.numLayers;
  const doc = randomIds(90, 31);
  // All layers local: the output is the local-layer output (plus the final norm, row-wise).
  const questions = [randomIds(5, 32), randomIds(12, 33), randomIds(20, 34)]; // offsets 16, 16, 32
  const docPart = (hidden: Float32Array | Float64Array, q: number) => hidden.slice(q * d);
  for (const layout of ['cached', 'paper'] as const) {
    const s = resolveSettings(L, { blockSize: 8, fineBlocks: 2, vipTokens: 8, localLayers: L, segment: 16, layout });
    const outs = [];
    for (const q of questions) outs.push(docPart((await encodeVcc(model, q, doc, s)).hidden, q.length));
    const refOuts = questions.map((q) => docPart(encodeVccRef(ref, q, doc, s).hidden, q.length));
    for (let i = 1; i < questions.length; i++) {
      const e = relErr(outs[i], outs[0]);
      const eRef = relErr(refOuts[i], refOuts[0]);
      if (layout === 'cached') {
        assert.ok(e <= 1e-6, `engine: question ${i} changed the document's local states by ${e}`);
        assert.ok(eRef < 1e-13, `reference: ${eRef}`);
      } else {
        // Negative control: in the paper layout the question does shift the document.
        assert.ok(e > 1e-3, `paper layout, question ${i}: ${e}`);
      }
    }
    for (let i = 0; i < questions.length; i++) assert.ok(relErr(outs[i], refOuts[i]) <= 1e-5, `${layout} q ${i}: engine vs reference ${relErr(outs[i], refOuts[i])}`);
  }
});

test('local state cache (cached layout): a second question hits and is bit-identical to an uncached run', async () => {
  const v = VARIANTS[1];
  const { model, ref } = load(v);
  const map = new Map<string, Float32Array>();
  let sets = 0;
  const cache: LocalStateCache = {
    get: (keys) => keys.map((key) => map.get(key)),
    set: (entries) => {
      sets++;
      for (const e of entries) map.set(e.key, e.states);
    },
  };
  const c: CompressCase = { q: 7, doc: 150, vip: 12, k: 6, h: 4, local: 2, seg: 32 };
  const s = settingsOf(v.config, c, 'cached');
  const doc = randomIds(c.doc, 41);
  const q1 = randomIds(c.q, 42);
  const q2 = randomIds(19, 43); // same document offset (32) as q1
  const first = await encodeVcc(model, q1, doc, s, { localCache: cache });
  assert.equal(first.localCacheHit, false);
  assert.equal(sets, 1);
  assert.deepEqual(first.hidden, (await encodeVcc(model, q1, doc, s)).hidden);
  const second = await encodeVcc(model, q2, doc, s, { localCache: cache });
  assert.equal(second.localCacheHit, true);
  const fresh = await encodeVcc(model, q2, doc, s);
  assert.equal(fresh.localCacheHit, false);
  assert.deepEqual(second.hidden, fresh.hidden);
  assert.deepEqual(second.evidence, fresh.evidence);
  // A third use of the same entry: the cached states were not modified by the second run.
  const third = await encodeVcc(model, q2, doc, s, { localCache: cache });
  assert.equal(third.localCacheHit, true);
  assert.deepEqual(third.hidden, fresh.hidden);
  assert.equal(sets, 1);
  // Whatever the cache does for other questions (another document offset, no question, VIP seats
  // taken by document tokens) or in the paper layout, the output is that of an uncached run.
  for (const [q, layout] of [[randomIds(40, 44), 'cached'], [[], 'cached'], [randomIds(3, 45), 'cached'], [q1, 'paper'], [q2, 'paper']] as const) {
    const st = settingsOf(v.config, c, layout);
    const label = `${layout}, question of ${q.length}`;
    assert.deepEqual((await encodeVcc(model, [...q], doc, st, { localCache: cache })).hidden, (await encodeVcc(model, [...q], doc, st)).hidden, label);
  }
  const r = encodeVccRef(ref, q2, doc, s);
  const err = assertAgrees(second, r, s, v.config.dModel, 'cache hit');
  measured.push(`cache hit (gated, cached layout): rel ${err.toExponential(2)}`);
});

test('local segment states: prepared ahead, any segment-aligned window of the document hits; a shifted window misses; outputs equal uncached runs', async () => {
  const v = VARIANTS[0];
  const { model } = load(v);
  const map = new Map<string, Float32Array>();
  const cache: LocalStateCache = {
    get: (keys) => keys.map((key) => map.get(key)),
    set: (entries) => entries.forEach((e) => map.set(e.key, e.states)),
  };
  const c: CompressCase = { q: 5, doc: 200, vip: 8, k: 4, h: 3, local: 2, seg: 16 };
  const s = settingsOf(v.config, c, 'cached');
  const doc = randomIds(c.doc, 51);
  const q = randomIds(c.q, 52);
  const prepared = await prepareLocalStates(model, doc, s, cache);
  assert.equal(prepared.cached, 0);
  assert.equal(prepared.keys.length, Math.ceil(c.doc / c.seg));
  assert.deepEqual([...map.keys()].sort(), [...prepared.keys].sort());
  assert.deepEqual(await prepareLocalStates(model, doc, s, cache), { cached: prepared.keys.length, keys: prepared.keys }, 'a second prepare finds every segment');
  const whole = await encodeVcc(model, q, doc, s, { localCache: cache });
  assert.equal(whole.localCacheHit, true, 'the whole document after prepare');
  assert.deepEqual(whole.hidden, (await encodeVcc(model, q, doc, s)).hidden);
  // two windows that start on segment boundaries and last whole segments, as the assistant cuts them
  const windows = [...doc.slice(32, 80), ...doc.slice(128, 176)];
  const aligned = await encodeVcc(model, q, windows, s, { localCache: cache });
  assert.equal(aligned.localCacheHit, true, 'segment-aligned windows');
  assert.deepEqual(aligned.hidden, (await encodeVcc(model, q, windows, s)).hidden);
  const before = map.size;
  const shifted = doc.slice(40, 88);
  const miss = await encodeVcc(model, q, shifted, s, { localCache: cache });
  assert.equal(miss.localCacheHit, false);
  assert.equal(map.size, before + 3, 'its three segments were computed and stored');
  assert.deepEqual(miss.hidden, (await encodeVcc(model, q, shifted, s)).hidden);
  // a damaged entry (wrong length) is a miss for its segment only, and the output is still exact
  map.set([...map.keys()][0]!, new Float32Array(3));
  assert.deepEqual((await encodeVcc(model, q, doc, s, { localCache: cache })).hidden, whole.hidden);
});
