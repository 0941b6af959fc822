import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readdirSync, statSync } from 'node:fs';
import path from 'node:path';
import { CancelledError } from '../../common/errors';
import { generate } from '../../engine/decoder/generate';
import { embedIds, encodeDense } from '../../engine/encoder/dense';
import { CACHE_TILE_SCORES, DEFAULT_SCORE_BUDGET, keysPerTile, runEncoderLayer } from '../../engine/encoder/layer-runner';
import { encoderForward } from '../reference/t5-f64';
import { refModel, t5Layer } from '../reference/vcc-f64';
import { GraphBuilder } from '../../engine/graph/builder';
import { cachedGraph } from '../../engine/runtime/graph-cache';
import { T5Model } from '../../engine/t5-model';
import { randomCheckpoint, tinyConfig } from '../helpers/random-checkpoint';

const ids = (n: number, vocab = 64) => Array.from({ length: n }, (_, i) => 2 + ((i * 37 + (i >> 2)) % (vocab - 2)));

function relErr(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let num = 0;
  let den = 0;
  for (let i = 0; i < a.length; i++) {
    num += (a[i]! - b[i]!) ** 2;
    den += b[i]! ** 2;
  }
  return Math.sqrt(num / den);
}

test('attention in query chunks and key tiles (near and far) matches one tile and the float64 reference', async () => {
  // max distance 20 so that, with 16-row query chunks, most key tiles are far from their queries.
  const ckpt = randomCheckpoint(tinyConfig({ numLayers: 3, relativeAttentionMaxDistance: 20, relativeAttentionNumBuckets: 8 }), 4);
  const model = new T5Model(ckpt, { threads: 1 });
  const input = ids(203);
  const whole = await encodeDense(model, input);
  const ref = encoderForward(ckpt, input);
  assert.ok(relErr(whole, ref) <= 1e-5, `one tile vs reference: ${relErr(whole, ref)}`);
  // Budget H·c·m with c = 16 rows and m = 7 keys per tile: 13 query chunks, 29 key tiles, the last ones short.
  const opts = { scoreBudget: 4 * 16 * 7, queryRows: 16 };
  const tiled = await encodeDense(model, input, opts);
  assert.ok(relErr(tiled, whole) <= 1e-6, `tiled vs one tile: ${relErr(tiled, whole)}`);
  assert.ok(relErr(tiled, ref) <= 1e-5, `tiled vs reference: ${relErr(tiled, ref)}`);
  const x = embedIds(model, input);
  const batch = { x, batch: 1, length: 203, positions: BigInt64Array.from({ length: 203 }, (_, i) => BigInt(i)), keyBias: new Float32Array(203) };
  const stats = await runEncoderLayer(model, 0, batch, opts);
  assert.equal(stats.nearTiles + stats.farTiles >= 13 * 29, true);
  assert.ok(stats.farTiles > stats.nearTiles && stats.nearTiles > 0, JSON.stringify(stats));
  // Dense attention: every far tile has one key bias (0), so all take the bias on the row max.
  assert.equal(stats.uniformTiles, stats.farTiles);
  // Consecutive far tiles of full length go in one call each run (a Scan over the tiles).
  assert.ok(stats.farCalls < stats.farTiles / 4, JSON.stringify(stats));
  const oneByOne = { ...batch, x: embedIds(model, input) };
  const oneByOneStats = await runEncoderLayer(model, 0, oneByOne, { ...opts, tileRuns: false });
  assert.equal(oneByOneStats.farCalls, oneByOneStats.farTiles);
  const runs = { ...batch, x: embedIds(model, input) };
  await runEncoderLayer(model, 0, runs, opts);
  assert.ok(relErr(runs.x, oneByOne.x) <= 1e-6, `runs of tiles vs one call per tile: ${relErr(runs.x, oneByOne.x)}`);
  const added = await encodeDense(model, input, { ...opts, uniformFarTiles: false });
  assert.ok(relErr(added, ref) <= 1e-5, `bias added to the scores vs reference: ${relErr(added, ref)}`);
  assert.ok(relErr(tiled, added) <= 1e-6, `bias on the row max vs added to the scores: ${relErr(tiled, added)}`);
  await model.release();
  // Two threads: every graph, the tiles included, splits its operators over both.
  const twoThreads = new T5Model(ckpt, { threads: 2 });
  const parallel = await encodeDense(twoThreads, input, opts);
  assert.ok(relErr(parallel, ref) <= 1e-5, `two threads vs reference: ${relErr(parallel, ref)}`);
  assert.ok(relErr(parallel, tiled) <= 1e-6, `two threads vs one: ${relErr(parallel, tiled)}`);
  await twoThreads.release();
});

test('tile shape: a tile stays within the score budget and the cache size', () => {
  // Dense 16K, 256-row chunks: t5-base (12 heads) 256 keys per tile, t5-small (8 heads) 384.
  assert.equal(keysPerTile(16384, 12 * 256, DEFAULT_SCORE_BUDGET), 256);
  assert.equal(keysPerTile(16384, 8 * 256, DEFAULT_SCORE_BUDGET), 384);
  for (const rows of [1, 64, 8 * 256, 12 * 256, 32 * 12 * 16]) {
    for (const budget of [448, 1 << 16, DEFAULT_SCORE_BUDGET]) {
      const m = keysPerTile(16384, rows, budget);
      assert.ok(m >= 1 && m <= 16384);
      // Within budget and cache size unless a single key per tile is already over.
      if (m > 1) assert.ok(rows * m <= budget && rows * m <= CACHE_TILE_SCORES, `${rows} rows, budget ${budget}: ${m} keys`);
    }
  }
  // A short sequence: one tile holds every key.
  assert.equal(keysPerTile(100, 12 * 100, DEFAULT_SCORE_BUDGET), 100);
});

test('far tiles: a key bias that varies, or masks, within a tile is added to the scores; one bias per sequence goes on the row max', async () => {
  const ckpt = randomCheckpoint(tinyConfig({ numLayers: 1, relativeAttentionMaxDistance: 8, relativeAttentionNumBuckets: 8 }), 5);
  const model = new T5Model(ckpt, { threads: 1 });
  const n = 96;
  const input = ids(n);
  // Two sequences: the first with log-count-like key biases on its first 48 keys, the second with its last 16 keys masked.
  const keyBias = new Float32Array(2 * n);
  for (let j = 0; j < 48; j++) keyBias[j] = Math.log(1 + (j % 5));
  for (let j = n - 16; j < n; j++) keyBias[n + j] = -1e9;
  const layerBatch = () => ({
    x: Float32Array.from([...embedIds(model, input), ...embedIds(model, input.map((t) => 2 + ((t + 1) % 62)))]),
    batch: 2,
    length: n,
    positions: BigInt64Array.from({ length: 2 * n }, (_, i) => BigInt(i % n)),
    keyBias: keyBias.slice(),
  });
  const opts = { scoreBudget: 4 * 2 * 16 * 8, queryRows: 32 };
  const a = layerBatch();
  const stats = await runEncoderLayer(model, 0, a, opts);
  // Tiles of 8 keys: on keys 0–47 the first sequence's biases vary, on keys 80–95 the second's mask.
  assert.ok(stats.uniformTiles > 0 && stats.uniformTiles < stats.farTiles, JSON.stringify(stats));
  // Runs of far tiles: the uniform ones in one kind of call, those whose key bias varies in the other.
  assert.ok(stats.farCalls < stats.farTiles, JSON.stringify(stats));
  const b = layerBatch();
  const addedStats = await runEncoderLayer(model, 0, b, { ...opts, uniformFarTiles: false });
  assert.ok(addedStats.uniformTiles === 0 && addedStats.farCalls < addedStats.farTiles, JSON.stringify(addedStats));
  const c = layerBatch();
  await runEncoderLayer(model, 0, c, { ...opts, uniformFarTiles: false, tileRuns: false });
  assert.ok(relErr(b.x, c.x) <= 1e-6, `runs of biased tiles vs one call per tile: ${relErr(b.x, c.x)}`);
  const x0 = layerBatch().x;
  const ref = refModel(ckpt);
  const positions = Array.from({ length: n }, (_, i) => i);
  const expected = [0, 1].flatMap((seq) => [
    ...t5Layer(ref, 0, Float64Array.from(x0.subarray(seq * n * ckpt.config.dModel, (seq + 1) * n * ckpt.config.dModel)), positions, keyBias.subarray(seq * n, (seq + 1) * n)),
  ]);
  assert.ok(relErr(a.x, expected) <= 1e-5, `tiled vs reference: ${relErr(a.x, expected)}`);
  assert.ok(relErr(a.x, b.x) <= 1e-6, `bias on the row max vs added to the scores: ${relErr(a.x, b.x)}`);
  await model.release();
});

test('short sequences with consecutive positions: each query chunk attends to all its keys at once, matching the tiles and the float64 reference', async () => {
  const ckpt = randomCheckpoint(tinyConfig({ numLayers: 1, relativeAttentionMaxDistance: 8, relativeAttentionNumBuckets: 8 }), 6);
  const model = new T5Model(ckpt, { threads: 1 });
  const n = 40;
  const d = ckpt.config.dModel;
  // Three sequences at different offsets: the second with its last 8 keys masked, the third with log-count key biases.
  const starts = [0, 1000, 77];
  const keyBias = new Float32Array(3 * n);
  for (let j = n - 8; j < n; j++) keyBias[n + j] = -1e9;
  for (let j = 0; j < n; j++) keyBias[2 * n + j] = Math.log(1 + (j % 4));
  const x0 = Float32Array.from([0, 1, 2].flatMap((s) => [...embedIds(model, ids(n).map((t) => 2 + ((t + 7 * s) % 62)))]));
  const batchOf = (positions: number[][]) => ({
    x: x0.slice(),
    batch: 3,
    length: n,
    positions: BigInt64Array.from(positions.flat(), (p) => BigInt(p)),
    keyBias: keyBias.slice(),
  });
  const consecutive = starts.map((p0) => Array.from({ length: n }, (_, i) => p0 + i));
  const ref = refModel(ckpt);
  const expected = (positions: number[][]) =>
    [0, 1, 2].flatMap((s) => [...t5Layer(ref, 0, Float64Array.from(x0.subarray(s * n * d, (s + 1) * n * d)), positions[s]!, keyBias.subarray(s * n, (s + 1) * n))]);
  const want = expected(consecutive);
  // 32 rows: one sequence at a time in chunks of 32 and 8 rows; 128 rows: the three sequences in one chunk.
  for (const queryRows of [32, 128]) {
    const rows = batchOf(consecutive);
    const stats = await runEncoderLayer(model, 0, rows, { queryRows });
    assert.ok(stats.rowsTiles > 0 && stats.nearTiles + stats.farTiles === 0, JSON.stringify(stats));
    assert.ok(relErr(rows.x, want) <= 1e-5, `${queryRows} rows, whole rows vs reference: ${relErr(rows.x, want)}`);
    const tiled = batchOf(consecutive);
    const tiledStats = await runEncoderLayer(model, 0, tiled, { queryRows, wholeRows: false });
    assert.equal(tiledStats.rowsTiles, 0);
    assert.ok(relErr(rows.x, tiled.x) <= 1e-6, `${queryRows} rows, whole rows vs tiles: ${relErr(rows.x, tiled.x)}`);
  }
  // A gap in the positions (as in VCC's compressed sequences): the Toeplitz bias does not hold, so the tiles run.
  const gapped = consecutive.map((p) => p.map((v, i) => (i >= 20 ? v + 30 : v)));
  const g = batchOf(gapped);
  const gStats = await runEncoderLayer(model, 0, g, { queryRows: 32 });
  assert.equal(gStats.rowsTiles, 0);
  assert.ok(relErr(g.x, expected(gapped)) <= 1e-5, `gapped positions vs reference: ${relErr(g.x, expected(gapped))}`);
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
  if (process.platform !== 'win32') {
    // graphs hold the model's weights: the owner's only, like the rest of the data home
    const mode = (f: string) => statSync(f).mode & 0o777;
    assert.equal(mode(dir), 0o700);
    for (const f of readdirSync(dir)) assert.equal(mode(path.join(dir, f)), 0o600, f);
  }
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
