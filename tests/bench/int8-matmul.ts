/**
 * Benchmark (not a test): one linear layer x (M, K) · W (K, N) as fp32 MatMul and as each int8
 * kernel of engine/graph/quantize.ts, on t5-small's shapes, in GOP/s (2·M·K·N multiply-adds per
 * second; int8 figures count the same operations). Also prints each kernel's relative error
 * against fp32, so a fast kernel that computes something else shows.
 *   node bin/run-ts.mjs tests/bench/int8-matmul.ts [--rows 4096,1] [--threads N] [--seconds 1]
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
const rowsList = arg('rows', '4096,1').split(',').map(Number);
const seconds = Number(arg('seconds', '1'));
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
      const row: string[] = [];
      let reference: Float32Array | undefined;
      for (const kind of ['fp32', ...INT8_KERNELS] as const) {
        let file: string;
        let s;
        try {
          file = cachedGraph(dir, `mm_${kind}_${K}x${N}`, () => graph(kind, w, K, N));
          s = await openSession(file, { threads });
          await s.session.run(feeds);
        } catch (e) {
          row.push(`${kind}: fails (${(e as Error).message.split('\n')[0].slice(0, 120)})`);
          continue;
        }
        let runs = 0;
        let best = Infinity;
        let y: Float32Array | undefined;
        const until = performance.now() + seconds * 1000;
        while (performance.now() < until || runs < 3) {
          const t0 = performance.now();
          const out = await s.session.run(feeds);
          best = Math.min(best, performance.now() - t0);
          y = out.y.data as Float32Array;
          runs++;
        }
        await s.session.release();
        const gops = (2 * M * K * N) / (best / 1000) / 1e9;
        let err = '';
        if (kind === 'fp32') reference = y;
        else if (reference && y) {
          let num = 0;
          let den = 0;
          for (let i = 0; i < y.length; i++) {
            num += (y[i] - reference[i]) ** 2;
            den += reference[i] ** 2;
          }
          err = `, rel.err ${Math.sqrt(num / den).toExponential(1)}`;
        }
        row.push(`${kind} ${gops.toFixed(1)} GOP/s (${best.toFixed(2)} ms${err})`);
      }
      console.log(`M=${M} K=${K} N=${N}: ${row.join(' | ')}`);
    }
  }
} finally {
  rmSync(dir, { recursive: true, force: true });
}
