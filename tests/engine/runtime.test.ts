import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { CancelledError } from '../../common/errors';
import { generate } from '../../engine/decoder/generate';
import { encodeDense } from '../../engine/encoder/dense';
import { GraphBuilder } from '../../engine/graph/builder';
import { cachedGraph } from '../../engine/runtime/graph-cache';
import { T5Model } from '../../engine/t5-model';
import { randomCheckpoint, tinyConfig } from '../helpers/random-checkpoint';

const ids = (n: number, vocab = 64) => Array.from({ length: n }, (_, i) => 2 + ((i * 37 + (i >> 2)) % (vocab - 2)));

test('query-chunked attention gives the same encoder output as one chunk', async () => {
  const model = new T5Model(randomCheckpoint(tinyConfig({ numLayers: 3 }), 4), { threads: 1 });
  const input = ids(203);
  const whole = await encodeDense(model, input);
  // Budget H·n·c with c = 7 rows per chunk: 29 chunks, the last one short.
  const chunked = await encodeDense(model, input, { scoreBudget: 4 * 203 * 7 });
  assert.deepEqual(chunked, whole);
  await model.release();
});

test('graph cache: a build that fails leaves no file behind; a finished one is reused as is', () => {
  const ckpt = randomCheckpoint(tinyConfig(), 2);
  const dir = path.join(ckpt.dir, 'cache');
  assert.throws(() =>
    cachedGraph(dir, 'broken', () => {
      const g = new GraphBuilder('broken');
      g.weight('w', new Float32Array(1000), [10, 10]); // size mismatch → throws while building
      return g;
    }),
  );
  assert.deepEqual(existsSync(dir) ? readdirSync(dir) : [], []);
  let builds = 0;
  const build = () => {
    builds++;
    const g = new GraphBuilder('ok');
    const x = g.input('x', 'float', [2]);
    g.output(g.add(x, g.weight('w', new Float32Array(512).fill(1).subarray(0, 2), [2])), 'y', 'float', [2]);
    return g;
  };
  const first = cachedGraph(dir, 'ok', build);
  const second = cachedGraph(dir, 'ok', build);
  assert.equal(first, second);
  assert.equal(builds, 1);
  assert.deepEqual(readdirSync(dir).sort(), ['ok.onnx', 'ok.onnx.data']);
});

test('an unavailable execution provider falls back to the CPU with a warning', async () => {
  const warnings: string[] = [];
  const model = new T5Model(randomCheckpoint(tinyConfig(), 3), { threads: 1, provider: 'cuda', onWarning: (w) => warnings.push(w) });
  const out = await encodeDense(model, ids(9));
  assert.equal(out.length, 9 * 32);
  assert.equal(model.provider, 'cpu');
  assert.ok(warnings.length >= 1 && /CUDA/.test(warnings[0]), `expected a CUDA warning, got ${JSON.stringify(warnings)}`);
  await model.release();
});

test('an aborted signal stops encoding and generation with CancelledError', async () => {
  const model = new T5Model(randomCheckpoint(tinyConfig({ numLayers: 4 }), 5), { threads: 1 });
  const controller = new AbortController();
  let layersSeen = 0;
  await assert.rejects(
    encodeDense(model, ids(50), {
      signal: controller.signal,
      onProgress: (p) => {
        layersSeen = p.layer;
        if (p.layer >= 2) controller.abort();
      },
    }),
    CancelledError,
  );
  assert.ok(layersSeen >= 2 && layersSeen < 4);

  const enc = await encodeDense(model, ids(20));
  const stop = new AbortController();
  const streamed: number[] = [];
  await assert.rejects(
    generate(model, { hidden: enc, n: 20 }, {
      maxNewTokens: 50,
      signal: stop.signal,
      onToken: (t) => {
        streamed.push(t);
        if (streamed.length === 3) stop.abort();
      },
    }),
    CancelledError,
  );
  assert.equal(streamed.length, 3);
  await model.release();
});

test('greedy streams every token it returns; beam search streams exactly its result', async () => {
  const model = new T5Model(randomCheckpoint(tinyConfig({ variant: 't5-v1.1', denseAct: 'gelu_new', isGatedAct: true, tieWordEmbeddings: false }), 6), {
    threads: 1,
  });
  const enc = await encodeDense(model, ids(31));
  for (const numBeams of [1, 3]) {
    const streamed: number[] = [];
    const r = await generate(model, { hidden: enc, n: 31 }, { maxNewTokens: 12, numBeams, onToken: (t) => streamed.push(t) });
    assert.deepEqual(streamed, r.outputIds, `numBeams=${numBeams}`);
    assert.equal(r.firstStepLogits.length, model.config.vocabSize);
  }
  await model.release();
});
