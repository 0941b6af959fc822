import assert from 'node:assert/strict';
import { test } from 'node:test';
import { generate } from '../../engine/decoder/generate';
import { T5Model } from '../../engine/t5-model';
import { randomCheckpoint, rng, tinyConfig } from '../helpers/random-checkpoint';

// Alone in its file: node --test runs each file in its own process, so the peak RSS is this test's.
test('generating over 200K encoder states adds only score rows, not per-layer cross keys and values', async () => {
  const cfg = tinyConfig({ numLayers: 1, numDecoderLayers: 12 });
  const model = new T5Model(randomCheckpoint(cfg, 51), { threads: 1 });
  const { dModel: d, numHeads: H, dKv: dk, numDecoderLayers: layers } = cfg;
  const n = 200_000;
  const r = rng(52);
  const hidden = Float32Array.from({ length: n * d }, () => r.normal());
  await generate(model, { hidden: hidden.subarray(0, 16 * d), n: 16 }, { maxNewTokens: 2 }); // sessions opened before measuring
  const before = process.resourceUsage().maxRSS * 1024;
  const out = await generate(model, { hidden, n }, { maxNewTokens: 3 });
  const grown = process.resourceUsage().maxRSS * 1024 - before;
  assert.equal(out.outputIds.length, 3);
  const keysValues = layers * 2 * n * H * dk * 4; // what storing them in float32 would take: 614 MB
  assert.ok(grown < 160 * 1024 ** 2, `peak RSS grew by ${(grown / 1024 ** 2).toFixed(0)} MiB while generating (cross keys and values would be ${(keysValues / 1024 ** 2).toFixed(0)} MiB)`);
  await model.release();
});
