import assert from 'node:assert/strict';
import { before, describe, test } from 'node:test';
import { loadCheckpoint } from '../../engine/checkpoint/load';
import type { Checkpoint } from '../../engine/checkpoint/types';
import {
  activation,
  decoderLogits,
  encoderForward,
  erf,
  greedyGenerate,
  relativePositionBucket,
  rmsNorm,
} from '../reference/t5-f64';
import { tinyModelDir } from '../helpers/tiny-model';

function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>, start = 0, len = a.length): number {
  let m = 0;
  for (let i = start; i < start + len; i++) m = Math.max(m, Math.abs(a[i]! - b[i]!));
  return m;
}

describe('relative position buckets (transformers _relative_position_bucket)', () => {
  test('bidirectional, 32 buckets, max distance 128: hand-computed values', () => {
    // relative = key − query. 16 buckets per direction: 0..7 exact, 8..15 log-spaced up to 128.
    const cases: Array<[number, number]> = [
      [0, 0], [-1, 1], [1, 17], [-7, 7], [7, 23], [-8, 8], [8, 24],
      [-15, 9], // 8 + trunc(log(15/8)/log(16)·8 = 1.81)
      [-16, 10], [-32, 12], [-64, 14],
      [-127, 15], [-128, 15], [-1000, 15], [1000, 31], [100, 31],
    ];
    for (const [rel, want] of cases) assert.equal(relativePositionBucket(rel, true, 32, 128), want, `relative ${rel}`);
  });

  test('unidirectional (decoder), 32 buckets, max distance 128: future positions share bucket 0', () => {
    const cases: Array<[number, number]> = [
      [5, 0], [1, 0], [0, 0], [-5, 5], [-15, 15], [-16, 16],
      [-20, 17], // 16 + trunc(log(20/16)/log(8)·16 = 1.72)
      [-100, 30], [-127, 31], [-128, 31], [-5000, 31],
    ];
    for (const [rel, want] of cases) assert.equal(relativePositionBucket(rel, false, 32, 128), want, `relative ${rel}`);
  });

  test('bucket index is monotone in distance and stays in range', () => {
    for (const [nb, md] of [[32, 128], [16, 64], [8, 20]] as const) {
      let prev = -1;
      for (let r = 0; r <= 3 * md; r++) {
        const b = relativePositionBucket(-r, false, nb, md);
        assert.ok(b >= prev && b < nb, `nb ${nb} md ${md} r ${r}: ${b}`);
        prev = b;
      }
    }
  });
});

describe('math pieces', () => {
  test('RMS norm: no mean subtraction, scale invariant, weight applied', () => {
    const x = Float64Array.from([3, 3, 3, 3]);
    const wt = Float64Array.from([1, 2, 0.5, -1]);
    const y = rmsNorm(x, 1, 4, wt, 0);
    assert.deepEqual([...y], [1, 2, 0.5, -1]); // a mean-subtracting LayerNorm would give zeros
    const v = Float64Array.from([1, -2, 3, 0.5, 7, -4, 0, 2]);
    const ones = new Float64Array(4).fill(1);
    const a = rmsNorm(v, 2, 4, ones, 0);
    const b = rmsNorm(v.map((t) => t * 37), 2, 4, ones, 0);
    assert.ok(maxAbsDiff(a, b) < 1e-12);
    for (let r = 0; r < 2; r++) {
      const ms = [0, 1, 2, 3].reduce((s, k) => s + a[r * 4 + k]! ** 2, 0) / 4;
      assert.ok(Math.abs(ms - 1) < 1e-12);
    }
    // eps enters inside the square root: a zero row stays zero, a tiny row is damped
    const tiny = rmsNorm(Float64Array.from([1e-4, 1e-4, 1e-4, 1e-4]), 1, 4, ones, 1e-6);
    assert.ok(Math.abs(tiny[0]! - 1e-4 / Math.sqrt(1e-8 + 1e-6)) < 1e-15);
  });

  test('erf and activations against known values', () => {
    assert.ok(Math.abs(erf(0.5) - 0.5204998778130465) < 1e-15);
    assert.ok(Math.abs(erf(1) - 0.8427007929497149) < 1e-15);
    assert.ok(Math.abs(erf(-2) + 0.9953222650189527) < 1e-15);
    assert.ok(Math.abs(erf(3.5) - 0.9999992569016276) < 1e-15);
    assert.equal(activation('relu', -2), 0);
    assert.equal(activation('relu', 2), 2);
    // gelu_new is the tanh approximation of the erf gelu: close, but not equal
    const g = activation('gelu', 1);
    const gn = activation('gelu_new', 1);
    assert.ok(Math.abs(g - 0.8413447460685429) < 1e-14);
    assert.ok(Math.abs(gn - 0.8411919906082768) < 1e-14);
    assert.ok(Math.abs(activation('silu', 1) - 0.7310585786300049) < 1e-15);
  });
});

for (const variant of ['t5', 't5-v1.1'] as const) {
  describe(`f64 forward pass on a tiny ${variant}`, () => {
    let ckpt: Checkpoint;
    before(async () => {
      ckpt = await loadCheckpoint(await tinyModelDir({ variant, seed: 7, layers: 2, decoderLayers: 3 }));
    });
    const ids = [5, 40, 41, 120, 7, 99, 250, 13, 1];

    test('encoder output is finite, normalized scale, and depends on position via the bias', () => {
      const d = ckpt.config.dModel;
      const out = encoderForward(ckpt, ids);
      assert.equal(out.length, ids.length * d);
      assert.ok(out.every(Number.isFinite));
      // Same token at two positions gets different states only because of the position bias
      // (and its context): swap two tokens, the rows do not simply swap.
      const swapped = [...ids];
      [swapped[1], swapped[6]] = [swapped[6]!, swapped[1]!];
      const out2 = encoderForward(ckpt, swapped);
      assert.ok(maxAbsDiff(out.subarray(1 * d, 2 * d), out2.subarray(6 * d, 7 * d)) > 1e-3);

      // With the bias table zeroed, attention is permutation-equivariant: rows swap exactly.
      const table = ckpt.weights.get('encoder.block.0.layer.0.SelfAttention.relative_attention_bias.weight')!;
      const zeroed: Checkpoint = {
        ...ckpt,
        weights: new Map([...ckpt.weights, ['encoder.block.0.layer.0.SelfAttention.relative_attention_bias.weight', { shape: table.shape, data: new Float32Array(table.data.length) }]]),
      };
      const a = encoderForward(zeroed, ids);
      const b = encoderForward(zeroed, swapped);
      assert.ok(maxAbsDiff(a.subarray(1 * d, 2 * d), b.subarray(6 * d, 7 * d)) < 1e-12);
      assert.ok(maxAbsDiff(a.subarray(6 * d, 7 * d), b.subarray(1 * d, 2 * d)) < 1e-12);
    });

    test('padding mask: masked trailing positions do not change the real ones', () => {
      const d = ckpt.config.dModel;
      const plain = encoderForward(ckpt, ids);
      const padded = [...ids, 0, 0, 0];
      const mask = [...ids.map(() => 1), 0, 0, 0];
      const masked = encoderForward(ckpt, padded, mask);
      assert.ok(maxAbsDiff(plain, masked, 0, ids.length * d) < 1e-12);
      const unmasked = encoderForward(ckpt, padded);
      assert.ok(maxAbsDiff(plain, unmasked, 0, ids.length * d) > 1e-4);
    });

    test('decoder is causal: logits at t ignore later decoder inputs', () => {
      const V = ckpt.config.vocabSize;
      const enc = encoderForward(ckpt, ids);
      const decA = [0, 17, 33, 90, 4];
      const decB = [0, 17, 33, 200, 201];
      const la = decoderLogits(ckpt, enc, decA);
      const lb = decoderLogits(ckpt, enc, decB);
      assert.ok(maxAbsDiff(la, lb, 0, 3 * V) < 1e-12, 'positions 0..2 unchanged');
      assert.ok(maxAbsDiff(la, lb, 3 * V, V) > 1e-4, 'position 3 sees its own new input');
    });

    test('cross-attention uses the encoder output; greedy decoding follows the argmax', () => {
      const V = ckpt.config.vocabSize;
      const enc = encoderForward(ckpt, ids);
      const enc2 = encoderForward(ckpt, [...ids].reverse());
      assert.ok(maxAbsDiff(decoderLogits(ckpt, enc, [0]), decoderLogits(ckpt, enc2, [0])) > 1e-4);
      const out = greedyGenerate(ckpt, ids, 4);
      assert.ok(out.length >= 1 && out.length <= 4);
      const logits = decoderLogits(ckpt, enc, [0, ...out.slice(0, -1)]);
      out.forEach((tok, t) => {
        const row = logits.subarray(t * V, (t + 1) * V);
        assert.equal(row[tok], Math.max(...row));
      });
      assert.deepEqual(greedyGenerate(ckpt, ids, 4), out);
    });

    test('LM head: tied scales by dModel^-0.5 and uses shared.weight; untied uses lm_head.weight as is', () => {
      const d = ckpt.config.dModel;
      const enc = encoderForward(ckpt, ids);
      const shared = ckpt.weights.get('shared.weight')!;
      const weights = new Map(ckpt.weights);
      weights.set('lm_head.weight', { shape: shared.shape, data: shared.data.map((v) => v * d ** -0.5) });
      const untied: Checkpoint = { ...ckpt, weights, config: { ...ckpt.config, tieWordEmbeddings: false } };
      const tied: Checkpoint = { ...ckpt, weights, config: { ...ckpt.config, tieWordEmbeddings: true } };
      const a = decoderLogits(untied, enc, [0, 3]);
      const b = decoderLogits(tied, enc, [0, 3]);
      const scale = Math.max(...a.map(Math.abs));
      assert.ok(maxAbsDiff(a, b) < 1e-6 * scale);
      // and the model's own head is the one its config names
      const own = decoderLogits(ckpt, enc, [0, 3]);
      if (ckpt.config.tieWordEmbeddings) assert.ok(maxAbsDiff(own, b) < 1e-6 * scale);
      else assert.ok(maxAbsDiff(own, b) > 1e-3 * scale);
    });
  });
}
