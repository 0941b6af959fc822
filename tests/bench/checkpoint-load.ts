/**
 * Benchmark (not a test): loading the same random T5 weights from model.safetensors and from a
 * pytorch_model.bin written by the real torch.save, in float32 and bfloat16. Sizes default to
 * t5-small's (d_model 512, d_ff 2048, 6 + 6 layers, 8 heads, vocab 32128: 60M parameters).
 * Needs Debian's python3-torch.
 *   node bin/run-ts.mjs tests/bench/checkpoint-load.ts [--d-model 512] [--layers 6] [--vocab 32128]
 */
import { spawnSync } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadCheckpoint } from '../../engine/checkpoint/load';
import { makeTinyT5 } from '../../scripts/make-tiny-t5';

const arg = (name: string, fallback: number) => {
  const i = process.argv.indexOf(name);
  return i > 0 ? Number(process.argv[i + 1]) : fallback;
};
const dModel = arg('--d-model', 512);
const layers = arg('--layers', 6);
const vocab = arg('--vocab', 32128);
const script = path.join(path.dirname(fileURLToPath(import.meta.url)), '..', 'helpers', 'torch_save_t5.py');
const root = mkdtempSync(path.join(os.tmpdir(), 'longread-bench-ckpt-'));
try {
  const src = await makeTinyT5({ out: path.join(root, 'src'), dModel, dFf: 4 * dModel, dKv: 64, heads: dModel / 64, layers, vocab });
  const jobs: Array<[string, string]> = [];
  for (const dtype of ['F32', 'BF16']) {
    const out = path.join(root, dtype);
    mkdirSync(out);
    for (const f of readdirSync(src)) if (f.endsWith('.json')) copyFileSync(path.join(src, f), path.join(out, f));
    const r = spawnSync('/usr/bin/python3', [script, src, out, dtype], { encoding: 'utf8' });
    if (r.status !== 0) throw new Error(r.stderr);
    jobs.push([`pytorch_model.bin ${dtype}`, out]);
  }
  jobs.unshift(['model.safetensors F32', src]);
  for (const [label, dir] of jobs) {
    const file = readdirSync(dir).find((f) => f.endsWith('.safetensors') || f.endsWith('.bin'))!;
    const mb = statSync(path.join(dir, file)).size / 1e6;
    const times: number[] = [];
    let params = 0;
    for (let i = 0; i < 3; i++) {
      const t0 = performance.now();
      const c = await loadCheckpoint(dir);
      times.push(performance.now() - t0);
      params = [...c.weights.values()].reduce((n, t) => n + t.data.length, 0);
    }
    times.sort((a, b) => a - b);
    console.log(`${label.padEnd(24)} ${mb.toFixed(0).padStart(5)} MB  ${(params / 1e6).toFixed(1)}M params  load median ${times[1]!.toFixed(0)} ms (min ${times[0]!.toFixed(0)})`);
  }
} finally {
  rmSync(root, { recursive: true, force: true });
}
