/**
 * Benchmark (not a test): fp32 vs int8 engine on a t5-small-shaped random checkpoint (one
 * checkpoint, both precisions' graphs built and cached before timing). Per precision, the best of
 * --reps dense encodes of --n tokens, alternating fp32 and int8 so a drift in the machine's load
 * hits both: the encoder's seconds, its rate (GFLOP/s for fp32, GOP/s for int8: the same operation
 * count), each stage's rate (keys/values, queries and output + FFN are the linear layers int8
 * changes; attention is activations × activations and stays fp32), then greedy decoding's ms per token.
 *   node bin/run-ts.mjs tests/bench/int8-speed.ts [--n 4096] [--reps 3] [--tokens 32] [--threads N] [--shape t5-small|t5-base]
 */
import { mkdirSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { embedIds } from '../../engine/encoder/dense';
import { runEncoderLayer } from '../../engine/encoder/layer-runner';
import { Engine } from '../../engine/engine';
import { PRECISIONS, type Precision } from '../../engine/graph/quantize';
import { defaultThreads } from '../../engine/runtime/onnx';
import { randomCheckpoint, tinyConfig } from '../helpers/random-checkpoint';
import { encoderLayerFlops, t5Shape } from './flops';

const arg = (name: string, dflt: string) => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? process.argv[i + 1]! : dflt;
};
const threads = Number(arg('threads', String(defaultThreads())));
const n = Number(arg('n', '4096'));
const reps = Number(arg('reps', '3'));
const tokens = Number(arg('tokens', '32'));
const shape = arg('shape', 't5-small') as 't5-small' | 't5-base';

const cfg = tinyConfig(t5Shape(shape));
const cacheDir = path.join(os.tmpdir(), `longread-bench-${shape}-int8`);
mkdirSync(cacheDir, { recursive: true });
const ckpt = randomCheckpoint(cfg, 21, cacheDir);
const engines = Object.fromEntries(PRECISIONS.map((p) => [p, Engine.fromCheckpoint(ckpt, { threads, precision: p })])) as Record<Precision, Engine>;
const ids = Array.from({ length: n }, (_, i) => 3 + ((i * 7919) % 32000));
const inner = cfg.numHeads * cfg.dKv;
const opsPerLayer = {
  kv: 2 * n * cfg.dModel * inner * 2,
  query: 2 * n * cfg.dModel * inner,
  attention: 4 * n * n * inner,
  output: 2 * n * inner * cfg.dModel + 2 * n * cfg.dModel * cfg.dFf * (cfg.isGatedAct ? 3 : 2),
};
type Stage = keyof typeof opsPerLayer;

async function encodeOnce(engine: Engine): Promise<{ seconds: number; ms: Record<Stage, number>; hidden: Float32Array }> {
  const model = engine.model;
  const batch = { x: embedIds(model, ids), batch: 1, length: n, positions: BigInt64Array.from(ids, (_, i) => BigInt(i)), keyBias: new Float32Array(n) };
  const ms = { kv: 0, query: 0, attention: 0, output: 0 };
  const t0 = performance.now();
  for (let l = 0; l < cfg.numLayers; l++) {
    const stats = await runEncoderLayer(model, l, batch);
    for (const s of Object.keys(ms) as Stage[]) ms[s] += stats.ms[s];
  }
  return { seconds: (performance.now() - t0) / 1000, ms, hidden: batch.x };
}

console.log(`${shape}-shaped random checkpoint, n=${n}, ${threads} threads, ${os.cpus()[0]?.model ?? ''}; load ${os.loadavg().map((l) => l.toFixed(2)).join(' ')}`);
for (const p of PRECISIONS) {
  await engines[p].model.warmUp();
  await engines[p].encode({ queryIds: ids.slice(0, 300), documentIds: [], attention: 'dense' });
}
// Per precision the best whole encode, and each stage's best over the runs (a burst of load on a shared machine lands on one stage of one run).
const best: Record<Precision, Awaited<ReturnType<typeof encodeOnce>> | undefined> = { fp32: undefined, int8: undefined };
const bestStage = Object.fromEntries(PRECISIONS.map((p) => [p, { kv: Infinity, query: Infinity, attention: Infinity, output: Infinity }])) as Record<Precision, Record<Stage, number>>;
for (let r = 0; r < reps; r++) {
  for (const p of PRECISIONS) {
    const res = await encodeOnce(engines[p]);
    if (!best[p] || res.seconds < best[p]!.seconds) best[p] = res;
    for (const st of Object.keys(res.ms) as Stage[]) bestStage[p][st] = Math.min(bestStage[p][st], res.ms[st]);
  }
}
const totalOps = encoderLayerFlops(cfg, n) * cfg.numLayers;
for (const p of PRECISIONS) {
  const b = best[p]!;
  const unit = p === 'fp32' ? 'GFLOP/s' : 'GOP/s';
  const stages = (Object.keys(opsPerLayer) as Stage[])
    .map((s) => `${s} ${(bestStage[p][s] / 1000).toFixed(2)} s ${((opsPerLayer[s] * cfg.numLayers) / (bestStage[p][s] / 1000) / 1e9).toFixed(1)}`)
    .join(', ');
  console.log(`${p}: encoder ${b.seconds.toFixed(2)} s (best of ${reps}), ${(totalOps / b.seconds / 1e9).toFixed(1)} ${unit} over ${(totalOps / 1e9).toFixed(0)} G ops; each stage's best (${unit}): ${stages}`);
}
let num = 0;
let den = 0;
for (let i = 0; i < best.fp32!.hidden.length; i++) {
  num += (best.int8!.hidden[i]! - best.fp32!.hidden[i]!) ** 2;
  den += best.fp32!.hidden[i]! ** 2;
}
console.log(`int8 vs fp32 encoder states (before the final norm): relative error ${Math.sqrt(num / den).toExponential(2)}; speed-up ${(best.fp32!.seconds / best.int8!.seconds).toFixed(2)}×`);

for (const p of PRECISIONS) {
  const encoded = await engines[p].encode({ queryIds: ids, documentIds: [], attention: 'dense' });
  let perToken = Infinity;
  for (let r = 0; r < reps; r++) {
    const t0 = performance.now();
    const out = await engines[p].generate(encoded, { maxNewTokens: tokens, numBeams: 1 });
    perToken = Math.min(perToken, (performance.now() - t0) / Math.max(1, out.outputIds.length));
  }
  console.log(`${p}: decoding over ${n} encoder states, ${perToken.toFixed(1)} ms per token (best of ${reps}, ${tokens} tokens at most)`);
}
for (const p of PRECISIONS) await engines[p].close();
