import assert from 'node:assert/strict';
import { test } from 'node:test';
import { LongreadError } from '../../common/errors';
import type { T5Config } from '../../engine/checkpoint/types';
import { generate } from '../../engine/decoder/generate';
import { T5Model } from '../../engine/t5-model';
import { randomCheckpoint, rng, tinyConfig } from '../helpers/random-checkpoint';
import { argmax, decoderLogits } from '../reference/t5-f64';

// The decoder cross-attends to the encoder states themselves (queries folded through each head's
// key projection, weighted states through its value projection): checked against the float64
// reference, which projects keys and values per layer as Hugging Face does.

function relErr(a: ArrayLike<number>, b: ArrayLike<number>, start = 0, len = a.length): number {
  let num = 0;
  let den = 0;
  for (let i = 0; i < len; i++) {
    num += (a[i]! - b[start + i]!) ** 2;
    den += b[start + i]! ** 2;
  }
  return Math.sqrt(num / den);
}

function states(n: number, d: number, seed: number): Float32Array {
  const r = rng(seed);
  return Float32Array.from({ length: n * d }, () => r.normal());
}

const variants: Array<[string, Partial<T5Config>]> = [
  ['t5 (ReLU, tied)', { numDecoderLayers: 3 }],
  ['t5-v1.1 (gated GELU, untied)', { variant: 't5-v1.1', denseAct: 'gelu_new', isGatedAct: true, tieWordEmbeddings: false, numDecoderLayers: 3 }],
];

for (const [name, overrides] of variants) {
  test(`${name}: logits over 3000 encoder states match the float64 reference at every greedy step`, async () => {
    const ckpt = randomCheckpoint(tinyConfig(overrides), 41);
    const model = new T5Model(ckpt, { threads: 1 });
    const { dModel: d, vocabSize: V, decoderStartTokenId: start } = ckpt.config;
    const n = 3000;
    const hidden = states(n, d, 42);
    const r = await generate(model, { hidden, n }, { maxNewTokens: 4 });
    const enc = Float64Array.from(hidden);
    const ref = decoderLogits(ckpt, enc, [start, ...r.outputIds.slice(0, -1)]);
    const err = relErr(r.firstStepLogits, ref, 0, V);
    assert.ok(err <= 1e-4, `first-step logits relative error ${err.toExponential(2)}`);
    r.outputIds.forEach((id, t) => assert.equal(id, argmax(ref, t * V, V), `step ${t}`));
    await model.release();
  });
}

test('only the first n rows of the states are attended to; too few rows are refused', async () => {
  const ckpt = randomCheckpoint(tinyConfig({ numDecoderLayers: 2 }), 43);
  const model = new T5Model(ckpt, { threads: 1 });
  const d = ckpt.config.dModel;
  const hidden = states(50, d, 44);
  const longer = new Float32Array(80 * d);
  longer.set(hidden);
  longer.fill(7, 50 * d); // rows past n would change every score if they were read
  const a = await generate(model, { hidden, n: 50 }, { maxNewTokens: 3 });
  const b = await generate(model, { hidden: longer, n: 50 }, { maxNewTokens: 3 });
  assert.deepEqual(b.firstStepLogits, a.firstStepLogits);
  assert.deepEqual(b.outputIds, a.outputIds);
  await assert.rejects(generate(model, { hidden, n: 51 }), (e: unknown) => e instanceof LongreadError && e.code === 'invalid-argument');
  await model.release();
});

test('a key bias per encoder state: as the float64 reference, and log(c) on one state reads as c copies of it', async () => {
  const ckpt = randomCheckpoint(tinyConfig({ numDecoderLayers: 2 }), 45);
  const model = new T5Model(ckpt, { threads: 1 });
  const { dModel: d, vocabSize: V, decoderStartTokenId: start } = ckpt.config;
  const n = 40;
  const hidden = states(n, d, 46);
  const r = rng(47);
  const keyBias = Float32Array.from({ length: n }, () => 3 * r.uniform());
  const biased = await generate(model, { hidden, n, keyBias }, { maxNewTokens: 3 });
  const ref = decoderLogits(ckpt, Float64Array.from(hidden), [start, ...biased.outputIds.slice(0, -1)], undefined, keyBias);
  const err = relErr(biased.firstStepLogits, ref, 0, V);
  assert.ok(err <= 1e-4, `first-step logits relative error ${err.toExponential(2)}`);
  biased.outputIds.forEach((id, t) => assert.equal(id, argmax(ref, t * V, V), `step ${t}`));
  assert.ok(relErr(biased.firstStepLogits, (await generate(model, { hidden, n }, { maxNewTokens: 1 })).firstStepLogits) > 1e-4, 'the bias should change the logits');

  // state 0 written 5 times without bias against once with bias log 5
  const copies = new Float32Array((n + 4) * d);
  for (let c = 0; c < 5; c++) copies.set(hidden.subarray(0, d), c * d);
  copies.set(hidden.subarray(d), 5 * d);
  const once = await generate(model, { hidden, n, keyBias: Float32Array.from({ length: n }, (_, i) => (i === 0 ? Math.log(5) : 0)) }, { maxNewTokens: 3 });
  const repeated = await generate(model, { hidden: copies, n: n + 4 }, { maxNewTokens: 3 });
  assert.ok(relErr(once.firstStepLogits, repeated.firstStepLogits) <= 1e-5, `copies vs bias: ${relErr(once.firstStepLogits, repeated.firstStepLogits)}`);
  assert.deepEqual(once.outputIds, repeated.outputIds);
  await assert.rejects(generate(model, { hidden, n, keyBias: new Float32Array(n - 1) }), (e: unknown) => e instanceof LongreadError && e.code === 'invalid-argument');
  await model.release();
});
