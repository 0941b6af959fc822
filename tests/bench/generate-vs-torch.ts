/**
 * Benchmark (not a test): whole-process `longread generate` against plain fp32 PyTorch (OpenBLAS)
 * doing the same greedy generation (tests/bench/torch_generate.py), on one t5-small-shaped random
 * checkpoint folder, runs interleaved (engine, torch, engine, torch, …) so both see the same load.
 * Whole process: start, load, encode, generate, exit. The engine's graphs are built once before
 * timing (the cache a user's second run finds). Also says whether both produced the same ids.
 *
 *   node bin/run-ts.mjs tests/bench/generate-vs-torch.ts [--n 4096] [--tokens 32] [--runs 3]
 *     [--threads N] [--precision fp32|int8]
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { defaultThreads } from '../../engine/runtime/onnx';
import { makeTinyT5 } from '../../scripts/make-tiny-t5';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const arg = (name: string, dflt: string) => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? process.argv[i + 1]! : dflt;
};
const n = Number(arg('n', '4096'));
const tokens = Number(arg('tokens', '32'));
const runs = Number(arg('runs', '3'));
const threads = Number(arg('threads', String(defaultThreads())));
const precision = arg('precision', 'fp32');
const python = '/usr/bin/python3';

const work = mkdtempSync(path.join(os.tmpdir(), 'longread-vs-torch-'));
const home = path.join(work, 'home');
mkdirSync(home);
const modelDir = await makeTinyT5({ out: path.join(work, 't5-small'), dModel: 512, dKv: 64, dFf: 2048, layers: 6, heads: 8, vocab: 32128, seed: 5 });
const ids = Array.from({ length: n }, (_, i) => 3 + ((i * 7919) % 32000));
ids[n - 1] = 1;
const idsFile = path.join(work, 'ids.txt');
writeFileSync(idsFile, ids.join(','));

function timed(cmd: string, args: string[]): { seconds: number; out: { outputIds: number[] } } {
  const t0 = performance.now();
  const r = spawnSync(cmd, args, { encoding: 'utf8', maxBuffer: 64 << 20, env: { ...process.env, LONGREAD_HOME: home, OMP_NUM_THREADS: String(threads) } });
  const seconds = (performance.now() - t0) / 1000;
  if (r.status !== 0) throw new Error(`${cmd} ${args.slice(0, 2).join(' ')} failed (exit ${r.status}, ${r.signal}): ${r.stderr.slice(-1500)}`);
  const line = r.stdout.trim().split('\n').pop()!;
  return { seconds, out: JSON.parse(line) as { outputIds: number[] } };
}

const engineArgs = [path.join(root, 'bin/longread.mjs'), 'generate', '--model', modelDir, '--input-ids', ids.join(','), '--max-new-tokens', String(tokens), '--threads', String(threads), '--precision', precision, '--json'];
const torchArgs = [path.join(root, 'tests/bench/torch_generate.py'), modelDir, idsFile, String(tokens), String(threads)];

try {
  timed(process.execPath, engineArgs); // builds and caches the graphs
  const engine: number[] = [];
  const torch: number[] = [];
  let same = true;
  for (let i = 0; i < runs; i++) {
    const e = timed(process.execPath, engineArgs);
    const t = timed(python, torchArgs);
    engine.push(e.seconds);
    torch.push(t.seconds);
    same &&= JSON.stringify(e.out.outputIds) === JSON.stringify(t.out.outputIds);
  }
  const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
  console.log(`t5-small shape, n=${n}, ${tokens} new tokens, ${threads} threads, engine ${precision}, load ${os.loadavg()[0]!.toFixed(1)}`);
  console.log(`longread generate: ${engine.map((s) => s.toFixed(1)).join(' / ')} s (median ${median(engine).toFixed(1)})`);
  console.log(`PyTorch fp32:      ${torch.map((s) => s.toFixed(1)).join(' / ')} s (median ${median(torch).toFixed(1)})`);
  console.log(`ratio (PyTorch / longread, median): ${(median(torch) / median(engine)).toFixed(2)}×; same output ids: ${same}`);
} finally {
  rmSync(work, { recursive: true, force: true });
}
