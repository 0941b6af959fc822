/**
 * Benchmark (not a test): encoder wall time and peak RSS, dense vs VCC, for a t5-base-shaped random
 * checkpoint. Each measurement runs in its own child process so its peak RSS is its own.
 *   node bin/run-ts.mjs tests/bench/vcc-speed.ts [--dense 4096,8192,16384] [--vcc 4096,...,131072] [--threads N]
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
const cacheDir = path.join(os.tmpdir(), 'longread-bench-t5-base');
mkdirSync(cacheDir, { recursive: true });
const cfg = tinyConfig(t5Shape('t5-base'));

async function child(mode: 'dense' | 'vcc', n: number): Promise<void> {
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

function measure(mode: 'dense' | 'vcc', n: number) {
  const self = fileURLToPath(import.meta.url);
  const res = spawnSync(process.execPath, ['--import', 'tsx', self, '--child', mode, String(n), '--threads', String(threads)], {
    encoding: 'utf8',
    maxBuffer: 1 << 20,
  });
  const line = res.stdout.trim().split('\n').pop() ?? '';
  try {
    return JSON.parse(line) as { seconds: number; r: number; maxRssMiB: number };
  } catch {
    throw new Error(`child ${mode} n=${n} failed (exit ${res.status}): ${res.stderr.slice(-2000)}`);
  }
}

const childAt = process.argv.indexOf('--child');
if (childAt > 0) {
  await child(process.argv[childAt + 1] as 'dense' | 'vcc', Number(process.argv[childAt + 2]));
} else {
  const dense = arg('dense', '4096,8192,16384').split(',').filter(Boolean).map(Number);
  const vccOnly = arg('vcc', '32768,65536,131072').split(',').filter(Boolean).map(Number);
  console.log(`t5-base-shaped random checkpoint, ${threads} threads; VCC preset: ${JSON.stringify(resolveSettings(cfg.numLayers))}`);
  for (const n of dense) {
    const d = measure('dense', n);
    const v = measure('vcc', n);
    console.log(
      `n=${n}: dense ${d.seconds.toFixed(1)} s (peak RSS ${d.maxRssMiB.toFixed(0)} MiB) | ` +
        `VCC ${v.seconds.toFixed(1)} s (r=${v.r}, peak RSS ${v.maxRssMiB.toFixed(0)} MiB) | speed-up ${(d.seconds / v.seconds).toFixed(2)}×`,
    );
  }
  for (const n of vccOnly) {
    const v = measure('vcc', n);
    console.log(`n=${n}: VCC ${v.seconds.toFixed(1)} s (r=${v.r}, peak RSS ${v.maxRssMiB.toFixed(0)} MiB)`);
  }
}
