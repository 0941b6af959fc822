/**
 * Benchmark (not a test): this machine's ONNX Runtime MatMul throughput, and the dense encoder's
 * throughput for t5-small- and t5-base-shaped random models at 512, 2K and 4K tokens.
 * Each encoder figure is the best of --reps runs (default 2), after a short warm-up run.
 *   node bin/run-ts.mjs tests/bench/engine-throughput.ts [--threads N] [--lengths 512,2048,4096] [--reps 2] [--shapes t5-small,t5-base]
 * With --layer-at 16384 (comma-separated lengths) it instead runs one dense encoder layer of each
 * --shapes (t5-small,t5-base; default t5-base) at each length, --reps times, and reports each
 * stage's GFLOP/s (keys/values, queries, attention tiles, output + FFN) against the MatMul figure
 * measured just before and just after, and beside them the ceiling of attention with these
 * kernels: its two MatMuls alone, at the tile shape. --compare runs the layer with one call per far
 * key tile and with runs of tiles in one call (the default), in turn, --reps times.
 */
import ort from 'onnxruntime-node';
import { GraphBuilder } from '../../engine/graph/builder';
import { embedIds, encodeDense } from '../../engine/encoder/dense';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { DEFAULT_SCORE_BUDGET, keysPerTile, QUERY_ROWS, runEncoderLayer, type LayerRunOptions } from '../../engine/encoder/layer-runner';
import { cachedGraph } from '../../engine/runtime/graph-cache';
import { defaultThreads, f32, openSession } from '../../engine/runtime/onnx';
import { T5Model } from '../../engine/t5-model';
import { randomCheckpoint, rng, tinyConfig } from '../helpers/random-checkpoint';
import { encoderLayerFlops, t5Shape } from './flops';

const arg = (name: string) => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? process.argv[i + 1] : undefined;
};
const threads = Number(arg('threads') ?? defaultThreads());
const lengths = (arg('lengths') ?? '512,2048,4096').split(',').map(Number);
const reps = Math.max(1, Number(arg('reps') ?? 2));

async function matmulGflops(size: number): Promise<number> {
  const g = new GraphBuilder('matmul');
  const a = g.input('a', 'float', [size, size]);
  const b = g.input('b', 'float', [size, size]);
  g.output(g.matmul(a, b), 'c', 'float', [size, size]);
  const { model } = g.serialize('unused.data');
  const session = await ort.InferenceSession.create(model, { intraOpNumThreads: threads, executionProviders: ['cpu'] });
  const r = rng(7);
  const data = Float32Array.from({ length: size * size }, () => r.normal());
  const feeds = { a: new ort.Tensor('float32', data, [size, size]), b: new ort.Tensor('float32', data, [size, size]) };
  await session.run(feeds);
  const runs = 5;
  const t0 = performance.now();
  for (let i = 0; i < runs; i++) await session.run(feeds);
  const seconds = (performance.now() - t0) / 1000;
  await session.release();
  return (2 * size ** 3 * runs) / seconds / 1e9;
}

/**
 * q·kT then ·[v, 1] for one tile of H heads, c query rows and m keys, as the attention graphs run
 * them but without the softmax between: GFLOP/s counted as the layer counts attention (4·c·m·H·dk per tile).
 */
async function tileMatmulGflops(H: number, dk: number, c: number, m: number): Promise<number> {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'longread-tile-'));
  try {
    const file = cachedGraph(dir, 'tile_matmuls', () => {
      const g = new GraphBuilder('tile_matmuls');
      const s = g.matmul(g.input('q', 'float', [1, H, c, dk]), g.input('kT', 'float', [1, H, dk, m]));
      g.output(g.matmul(s, g.input('v1', 'float', [1, H, m, dk + 1])), 'y', 'float', [1, H, c, dk + 1]);
      return g;
    });
    const session = await openSession(file, { threads, arena: true });
    const r = rng(5);
    const data = (k: number) => Float32Array.from({ length: k }, () => r.normal() * 0.1);
    const feeds = { q: f32(data(H * c * dk), [1, H, c, dk]), kT: f32(data(H * dk * m), [1, H, dk, m]), v1: f32(data(H * m * (dk + 1)), [1, H, m, dk + 1]) };
    await session.session.run(feeds);
    const calls = 64;
    const t0 = performance.now();
    for (let i = 0; i < calls; i++) await session.session.run(feeds);
    const seconds = (performance.now() - t0) / 1000;
    await session.session.release();
    return (4 * c * m * H * dk * calls) / seconds / 1e9;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

console.log(`threads: ${threads}, onnxruntime-node ${ort.env.versions.node}`);
const layerAt = arg('layer-at');
if (layerAt) {
  await layerStages(layerAt.split(',').map(Number));
  process.exit(0);
}
const peak = await matmulGflops(2048);
console.log(`MatMul 2048×2048·2048×2048 fp32: ${peak.toFixed(1)} GFLOP/s`);

for (const shape of (arg('shapes') ?? 't5-small,t5-base').split(',') as Array<'t5-small' | 't5-base'>) {
  const cfg = tinyConfig(t5Shape(shape));
  const model = new T5Model(randomCheckpoint(cfg, 11), { threads });
  await model.warmUp();
  for (const n of lengths) {
    const ids = Array.from({ length: n }, (_, i) => 3 + ((i * 7919) % 32000));
    await encodeDense(model, ids.slice(0, 64));
    let seconds = Infinity;
    for (let rep = 0; rep < reps; rep++) {
      const t0 = performance.now();
      await encodeDense(model, ids);
      seconds = Math.min(seconds, (performance.now() - t0) / 1000);
    }
    const gflop = (encoderLayerFlops(cfg, n) * cfg.numLayers) / 1e9;
    const achieved = gflop / seconds;
    console.log(
      `${shape} encoder n=${n}: ${seconds.toFixed(2)} s, ${(n / seconds).toFixed(0)} tokens/s, ` +
        `${achieved.toFixed(1)} GFLOP/s achieved (${gflop.toFixed(0)} GFLOP), efficiency ${(achieved / peak).toFixed(2)} of MatMul`,
    );
  }
  await model.release();
}

async function layerStages(ns: number[]): Promise<void> {
  const shapes = (arg('shapes') ?? 't5-base').split(',') as Array<'t5-small' | 't5-base'>;
  // --compare: one call per far tile, then the default (runs of far tiles in one call), in turn (A B A B …) in the same process.
  const variants: Array<{ label: string; opts: LayerRunOptions }> = process.argv.includes('--compare')
    ? [
        { label: 'one call per far tile', opts: { tileRuns: false } },
        { label: 'default: runs of far tiles in one call', opts: {} },
      ]
    : [{ label: '', opts: {} }];
  for (const shape of shapes) {
    const cfg = tinyConfig({ ...t5Shape(shape), numLayers: 1, numDecoderLayers: 1 });
    const model = new T5Model(randomCheckpoint(cfg, 11), { threads });
    const inner = cfg.numHeads * cfg.dKv;
    const layerInput = (n: number) => ({
      x: embedIds(model, Array.from({ length: n }, (_, i) => 3 + ((i * 7919) % 32000))),
      batch: 1,
      length: n,
      positions: BigInt64Array.from({ length: n }, (_, i) => BigInt(i)),
      keyBias: new Float32Array(n),
    });
    for (const v of variants) await runEncoderLayer(model, 0, layerInput(512), v.opts);
    for (const n of ns) {
      for (let rep = 0; rep < reps; rep++) {
        for (const v of variants) {
          const before = await matmulGflops(2048);
          const stats = await runEncoderLayer(model, 0, layerInput(n), v.opts);
          const after = await matmulGflops(2048);
          const peak = Math.max(before, after);
          const tileKeys = keysPerTile(n, cfg.numHeads * QUERY_ROWS, DEFAULT_SCORE_BUDGET);
          const ceiling = await tileMatmulGflops(cfg.numHeads, cfg.dKv, QUERY_ROWS, tileKeys);
          const gflop = {
            kv: (2 * n * cfg.dModel * inner * 2) / 1e9,
            query: (2 * n * cfg.dModel * inner) / 1e9,
            attention: (4 * n * n * inner) / 1e9,
            output: (2 * n * inner * cfg.dModel + 2 * n * cfg.dModel * cfg.dFf * (cfg.isGatedAct ? 3 : 2)) / 1e9,
          };
          const label = v.label ? ` [${v.label}]` : '';
          console.log(
            `${shape} layer n=${n}${label}: MatMul ${before.toFixed(1)} before, ${after.toFixed(1)} after; ` +
              `${stats.farTiles} far (${stats.uniformTiles} uniform, in ${stats.farCalls} calls) and ${stats.nearTiles} near key tiles; ` +
              `attention's two MatMuls alone at the tile shape (${QUERY_ROWS} × ${tileKeys}) ${ceiling.toFixed(1)} GFLOP/s = ${(ceiling / peak).toFixed(2)} of MatMul`,
          );
          let total = 0;
          for (const stage of ['kv', 'query', 'attention', 'output'] as const) {
            const s = stats.ms[stage] / 1000;
            total += s;
            const rate = gflop[stage] / s;
            console.log(`  ${stage.padEnd(9)} ${s.toFixed(2)} s, ${gflop[stage].toFixed(0)} GFLOP, ${rate.toFixed(1)} GFLOP/s = ${(rate / peak).toFixed(2)} of MatMul`);
          }
          const all = Object.values(gflop).reduce((a, b) => a + b, 0);
          console.log(`  layer     ${total.toFixed(2)} s, ${(all / total).toFixed(1)} GFLOP/s = ${(all / total / peak).toFixed(2)} of MatMul`);
        }
      }
    }
    await model.release();
  }
}
