/**
 * Benchmark (not a test): one linear layer x (M, K) · W (K, N) as fp32 MatMul and as each int8
 * kernel of engine/graph/quantize.ts, on t5-small's shapes, in GOP/s (2·M·K·N multiply-adds per
 * second; int8 figures count the same operations). Also prints each kernel's relative error
 * against fp32, so a fast kernel that computes something else shows. Rows: 256 is the encoder's
 * query chunk (engine/encoder/layer-runner.ts), 1 a decoder step. The kernels run in turn, --rounds
 * times, and each keeps its best time, so a burst of load on a shared machine does not land on one.
 *   node bin/run-ts.mjs tests/bench/int8-matmul.ts [--rows 256,1] [--threads N] [--rounds 20]
 */
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { GraphBuilder } from '../../engine/graph/builder';
import { INT8_KERNELS, int8MatMul, type Int8Kernel } from '../../engine/graph/quantize';
import { cachedGraph } from '../../engine/runtime/graph-cache';
import { defaultThreads, f32, openSession } from '../../engine/runtime/onnx';
import { rng } from '../helpers/random-checkpoint';

const arg = (name: string, dflt: string) => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? process.argv[i + 1] : dflt;
};
const threads = Number(arg('threads', String(defaultThreads())));
const rowsList = arg('rows', '256,1').split(',').map(Number);
const rounds = Number(arg('rounds', '20'));
// t5-small: q/k/v/o (512×512), wi (512×2048), wo (2048×512).
const shapes: Array<[number, number]> = [
  [512, 512],
  [512, 2048],
  [2048, 512],
];

const dir = mkdtempSync(path.join(os.tmpdir(), 'longread-int8-bench-'));
const r = rng(7);

function graph(kind: 'fp32' | Int8Kernel, w: Float32Array, K: number, N: number): GraphBuilder {
  const g = new GraphBuilder(`mm_${kind}`);
  const x = g.input('x', 'float', ['M', K]);
  const y = kind === 'fp32' ? g.matmul(x, g.weight('w', w, [K, N])) : int8MatMul(g, x, 'w', w, K, N, kind);
  g.output(y, 'y', 'float', ['M', N]);
  return g;
}

try {
  console.log(`${threads} threads; ${os.cpus()[0]?.model ?? 'unknown CPU'}; load ${os.loadavg().map((l) => l.toFixed(2)).join(' ')}`);
  for (const M of rowsList) {
    for (const [K, N] of shapes) {
      const w = Float32Array.from({ length: K * N }, () => r.normal() * K ** -0.5);
      const x = Float32Array.from({ length: M * K }, () => r.normal());
      const feeds = { x: f32(x, [M, K]) };
      const kinds = ['fp32', ...INT8_KERNELS] as const;
      const sessions = new Map<(typeof kinds)[number], Awaited<ReturnType<typeof openSession>>>();
      const failures = new Map<string, string>();
      for (const kind of kinds) {
        try {
          const s = await openSession(cachedGraph(dir, `mm_${kind}_${K}x${N}`, () => graph(kind, w, K, N)), { threads });
          await s.session.run(feeds);
          sessions.set(kind, s);
        } catch (e) {
          failures.set(kind, (e as Error).message.split('\n')[0].slice(0, 120));
        }
      }
      const best = new Map<string, number>();
      const outputs = new Map<string, Float32Array>();
      for (let round = 0; round < rounds; round++) {
        for (const [kind, s] of sessions) {
          const t0 = performance.now();
          const out = await s.session.run(feeds);
          best.set(kind, Math.min(best.get(kind) ?? Infinity, performance.now() - t0));
          outputs.set(kind, out.y.data as Float32Array);
        }
      }
      const reference = outputs.get('fp32');
      const row = kinds.map((kind) => {
        const ms = best.get(kind);
        if (ms === undefined) return `${kind}: fails (${failures.get(kind)})`;
        const y = outputs.get(kind)!;
        let err = '';
        if (kind !== 'fp32' && reference) {
          let num = 0;
          let den = 0;
          for (let i = 0; i < y.length; i++) {
            num += (y[i] - reference[i]) ** 2;
            den += reference[i] ** 2;
          }
          err = `, rel.err ${Math.sqrt(num / den).toExponential(1)}`;
        }
        return `${kind} ${((2 * M * K * N) / (ms / 1000) / 1e9).toFixed(1)} GOP/s (${ms.toFixed(3)} ms${err})`;
      });
      for (const s of sessions.values()) await s.session.release();
      console.log(`M=${M} K=${K} N=${N}: ${row.join(' | ')}`);
    }
  }
} finally {
  rmSync(dir, { recursive: true, force: true });
}
