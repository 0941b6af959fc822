/**
 * Benchmark (not a test): encoder wall time and peak RSS, dense vs VCC, for t5-small- and
 * t5-base-shaped random checkpoints. Each measurement runs in its own child process so its peak RSS is its own.
 *   node bin/run-ts.mjs tests/bench/vcc-speed.ts [--shapes t5-small,t5-base] [--dense 16384] [--vcc 32768,65536,131072] [--threads N]
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { encodeDense } from '../../engine/encoder/dense';
import { defaultThreads } from '../../engine/runtime/onnx';
import { T5Model } from '../../engine/t5-model';
import { encodeVcc } from '../../engine/vcc/encoder';
import { resolveSettings } from '../../engine/vcc/settings';
import { randomCheckpoint, tinyConfig } from '../helpers/random-checkpoint';
import { t5Shape } from './flops';

const arg = (name: string, dflt: string) => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? process.argv[i + 1] : dflt;
};
const threads = Number(arg('threads', String(defaultThreads())));
type Shape = 't5-small' | 't5-base';

async function child(shape: Shape, mode: 'dense' | 'vcc', n: number): Promise<void> {
  const cacheDir = path.join(os.tmpdir(), `longread-bench-${shape}-speed`);
  mkdirSync(cacheDir, { recursive: true });
  const cfg = tinyConfig(t5Shape(shape));
  const model = new T5Model(randomCheckpoint(cfg, 21, cacheDir), { threads });
  const ids = Array.from({ length: n }, (_, i) => 3 + ((i * 7919) % 32000));
  const vip = 48;
  // Build and open graphs before timing: first use writes them to the cache.
  await encodeVcc(model, ids.slice(0, vip), ids.slice(vip, 600), resolveSettings(cfg.numLayers, { fineBlocks: 4 }));
  await encodeDense(model, ids.slice(0, 64));
  const t0 = performance.now();
  let r = n;
  if (mode === 'dense') await encodeDense(model, ids);
  else r = Math.max(...(await encodeVcc(model, ids.slice(0, vip), ids.slice(vip), resolveSettings(cfg.numLayers))).compressedLengths);
  const seconds = (performance.now() - t0) / 1000;
  process.stdout.write(JSON.stringify({ seconds, r, maxRssMiB: process.resourceUsage().maxRSS / 1024 }) + '\n');
}

function measure(shape: Shape, mode: 'dense' | 'vcc', n: number) {
  const self = fileURLToPath(import.meta.url);
  const res = spawnSync(process.execPath, ['--import', 'tsx', self, '--child', shape, mode, String(n), '--threads', String(threads)], {
    encoding: 'utf8',
    maxBuffer: 1 << 20,
  });
  const line = res.stdout.trim().split('\n').pop() ?? '';
  try {
    return JSON.parse(line) as { seconds: number; r: number; maxRssMiB: number };
  } catch {
    throw new Error(`child ${shape} ${mode} n=${n} failed (exit ${res.status}, signal ${res.signal}): ${res.stderr.slice(-2000)}`);
  }
}

const childAt = process.argv.indexOf('--child');
if (childAt > 0) {
  await child(process.argv[childAt + 1] as Shape, process.argv[childAt + 2] as 'dense' | 'vcc', Number(process.argv[childAt + 3]));
} else {
  const shapes = arg('shapes', 't5-small,t5-base').split(',').filter(Boolean) as Shape[];
  const dense = arg('dense', '16384').split(',').filter(Boolean).map(Number);
  const vccOnly = arg('vcc', '32768,65536,131072').split(',').filter(Boolean).map(Number);
  for (const shape of shapes) {
    const cfg = tinyConfig(t5Shape(shape));
    console.log(`${shape}-shaped random checkpoint, ${threads} threads; VCC preset: ${JSON.stringify(resolveSettings(cfg.numLayers))}`);
    for (const n of dense) {
      const d = measure(shape, 'dense', n);
      const v = measure(shape, 'vcc', n);
      console.log(
        `n=${n}: dense ${d.seconds.toFixed(1)} s (peak RSS ${d.maxRssMiB.toFixed(0)} MiB) | ` +
          `VCC ${v.seconds.toFixed(1)} s (r=${v.r}, peak RSS ${v.maxRssMiB.toFixed(0)} MiB) | speed-up ${(d.seconds / v.seconds).toFixed(2)}×`,
      );
    }
    for (const n of vccOnly) {
      const v = measure(shape, 'vcc', n);
      console.log(`n=${n}: VCC ${v.seconds.toFixed(1)} s (r=${v.r}, peak RSS ${v.maxRssMiB.toFixed(0)} MiB)`);
    }
  }
}
