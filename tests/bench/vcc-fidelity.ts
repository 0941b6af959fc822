/**
 * Benchmark (not a test): how close VCC stays to dense attention on real book text.
 * For each length and (k, h): relative error of the VIP tokens' final encoder states and of the
 * decoder's first-step logits against the dense encoder, next to a baseline at equal r that
 * mean-pools every non-VIP block uniformly (no VIP-centric selection).
 *   node bin/run-ts.mjs tests/bench/vcc-fidelity.ts [--model DIR] [--lengths 2048,4096,8192,16384] [--book pg1342.txt]
 *     [--groups 8:30,8:10,16:10]   (groups of blocks at k = 16, h = 90: blocks per group : groups kept)
 *     [--decoder-blocks 90,256,1024]   (also: the assistant's setting, cached layout, groups 8 / 10, with the
 *       decoder over a compressed memory of this many blocks as tokens, against the full-length output:
 *       first-logit error against dense and against VCC's full output, and 16 greedy tokens)
 *     [--decoder-only]   (only that table)
 * Without --model: a random t5-small-shaped checkpoint with the generated test tokenizer.
 */
import { readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Engine } from '../../engine/engine';
import { loadTokenizer } from '../../engine/tokenizer';
import { generate } from '../../engine/decoder/generate';
import { T5Model } from '../../engine/t5-model';
import { encodeDense } from '../../engine/encoder/dense';
import { encodeVcc } from '../../engine/vcc/encoder';
import { resolveSettings } from '../../engine/vcc/settings';
import { makeTinyT5 } from '../../scripts/make-tiny-t5';
import { randomCheckpoint, tinyConfig } from '../helpers/random-checkpoint';
import { t5Shape } from './flops';

const arg = (name: string, dflt: string) => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? process.argv[i + 1] : dflt;
};
const lengths = arg('lengths', '2048,4096,8192,16384').split(',').map(Number);
// Groups of blocks (doc section 5) at k = 16, h = 90, as blocks per group : groups kept.
const groupSettings = arg('groups', '8:30,8:10,16:10')
  .split(',')
  .filter(Boolean)
  .map((gk) => [16, 90, ...gk.split(':').map(Number)] as [number, number, number, number]);
const corpus = path.resolve(path.dirname(new URL(import.meta.url).pathname), '../../../shared/corpus/books');
const bookText = readFileSync(path.join(corpus, arg('book', 'pg1342.txt')), 'utf8');
const question = 'Question: What did Elizabeth say to Mr. Darcy when he first proposed to her, and why did she refuse him?';

let model: T5Model;
let tokenizerDir: string;
const modelDir = arg('model', '');
if (modelDir) {
  model = (await Engine.open(path.resolve(modelDir))).model;
  tokenizerDir = path.resolve(modelDir);
} else {
  tokenizerDir = await makeTinyT5({ out: path.join(os.tmpdir(), 'longread-fidelity-tokenizer'), variant: 't5', seed: 1 });
  model = new T5Model(randomCheckpoint(tinyConfig(t5Shape('t5-small')), 31), {});
}
const tokenizer = await loadTokenizer(tokenizerDir);
const queryIds = tokenizer.encode(question, { addEos: false });
const docAll = tokenizer.encode(bookText, { addEos: false });
const vip = 48;

const rel = (a: Float32Array, b: Float32Array) => {
  let num = 0;
  let den = 0;
  for (let i = 0; i < b.length; i++) {
    num += (a[i] - b[i]) ** 2;
    den += b[i] ** 2;
  }
  return Math.sqrt(num / den);
};
async function firstLogits(hidden: Float32Array, n: number) {
  return (await generate(model, { hidden, n }, { maxNewTokens: 1 })).firstStepLogits;
}
const decoderBlockCounts = arg('decoder-blocks', '').split(',').filter(Boolean).map(Number);
/** Leading tokens where a greedy output agrees with a reference one, of the reference's. */
const agreeing = (a: number[], ref: number[]) => {
  let i = 0;
  while (i < a.length && i < ref.length && a[i] === ref[i]) i++;
  return `${i}/${ref.length}`;
};
type Row = { label: string; r: number; vipErr: number; logitErr: number; seconds: number };

console.log(`model: ${modelDir || 'random t5-small-shaped'}; book ${arg('book', 'pg1342.txt')} (${docAll.length} tokens); question ${queryIds.length} tokens; n_p = ${vip}`);
for (const n of lengths) {
  const doc = docAll.slice(0, n - queryIds.length);
  const ids = [...queryIds, ...doc];
  let t0 = performance.now();
  const dense = await encodeDense(model, ids);
  const denseSeconds = (performance.now() - t0) / 1000;
  const denseLogits = await firstLogits(dense, ids.length);
  const rows: Row[] = [];
  const q = ids.slice(0, vip);
  const d = ids.slice(vip);
  const decoderOnly = process.argv.includes('--decoder-only');
  if (!decoderOnly) {
    // The assistant's layout: question in its own segment, document segments at fixed positions.
    const s = resolveSettings(model.config.numLayers, { vipTokens: vip, layout: 'cached' });
    t0 = performance.now();
    const v = await encodeVcc(model, q, d, s);
    const seconds = (performance.now() - t0) / 1000;
    const vipErr = rel(v.hidden.subarray(0, vip * model.config.dModel), dense.subarray(0, vip * model.config.dModel));
    rows.push({ label: 'VCC k=16 h=90 cached', r: v.compressedLengths[0], vipErr, logitErr: rel(await firstLogits(v.hidden, v.n), denseLogits), seconds });
  }
  const settings: Array<[number, number, number, number]> = [[16, 90, 1, 0], [16, 30, 1, 0], [32, 55, 1, 0], [64, 30, 1, 0], ...groupSettings];
  for (const [k, h, groupBlocks, keptGroups] of decoderOnly ? [] : settings) {
    const s = resolveSettings(model.config.numLayers, { blockSize: k, fineBlocks: h, vipTokens: vip, groupBlocks, keptGroups });
    t0 = performance.now();
    const v = await encodeVcc(model, q, d, s);
    const seconds = (performance.now() - t0) / 1000;
    // r of the first VCC layer (with groups it varies a little from layer to layer).
    const r = v.compressedLengths[0];
    const vipErr = rel(v.hidden.subarray(0, vip * model.config.dModel), dense.subarray(0, vip * model.config.dModel));
    const label = groupBlocks > 1 ? `VCC k=${k} h=${h} g=${groupBlocks}/${keptGroups}` : `VCC k=${k} h=${h}`;
    rows.push({ label, r, vipErr, logitErr: rel(await firstLogits(v.hidden, v.n), denseLogits), seconds });
    // Baseline at equal r: every non-VIP block mean-pooled, block size chosen so the count matches.
    const kb = Math.ceil((ids.length - vip) / Math.max(1, r - vip));
    const sb = resolveSettings(model.config.numLayers, { blockSize: kb, fineBlocks: 0, vipTokens: vip });
    t0 = performance.now();
    const b = await encodeVcc(model, q, d, sb);
    const bs = (performance.now() - t0) / 1000;
    const berr = rel(b.hidden.subarray(0, vip * model.config.dModel), dense.subarray(0, vip * model.config.dModel));
    rows.push({ label: `  mean-pool k=${kb}`, r: b.compressedLengths[0], vipErr: berr, logitErr: rel(await firstLogits(b.hidden, b.n), denseLogits), seconds: bs });
  }
  const memoryRows: string[] = [];
  if (decoderBlockCounts.length > 0) {
    const greedy = async (states: { hidden: Float32Array; n: number; keyBias?: Float32Array }) => generate(model, states, { maxNewTokens: 16 });
    const denseOut = await greedy({ hidden: dense, n: ids.length });
    const base = { vipTokens: vip, layout: 'cached', groupBlocks: 8, keptGroups: 10 } as const;
    const full = await encodeVcc(model, q, d, resolveSettings(model.config.numLayers, base));
    const fullOut = await greedy(full);
    memoryRows.push(`full output  ${String(full.n).padStart(7)}   ${rel(fullOut.firstStepLogits, denseLogits).toExponential(3).padStart(12)}   ${'—'.padStart(12)}   ${agreeing(fullOut.outputIds, denseOut.outputIds)} with dense`);
    for (const decoderBlocks of decoderBlockCounts) {
      const v = await encodeVcc(model, q, d, resolveSettings(model.config.numLayers, { ...base, decoderBlocks }));
      const mem = v.decoderMemory ?? v;
      t0 = performance.now();
      const out = await greedy(mem);
      const genSeconds = (performance.now() - t0) / 1000;
      memoryRows.push(
        `${String(decoderBlocks).padStart(6)} blocks ${String(mem.n).padStart(7)}   ${rel(out.firstStepLogits, denseLogits).toExponential(3).padStart(12)}   ${rel(out.firstStepLogits, fullOut.firstStepLogits).toExponential(3).padStart(12)}   ` +
          `${agreeing(out.outputIds, denseOut.outputIds)} with dense, ${agreeing(out.outputIds, fullOut.outputIds)} with the full output (16 tokens ${genSeconds.toFixed(1)} s)`,
      );
    }
  }
  console.log(`\nn=${ids.length} (dense encoder ${denseSeconds.toFixed(1)} s)`);
  console.log('setting                 r      VIP-state rel.err   first-logit rel.err   encoder s');
  for (const row of rows) {
    console.log(`${row.label.padEnd(22)} ${String(row.r).padStart(6)}   ${row.vipErr.toExponential(3).padStart(12)}        ${row.logitErr.toExponential(3).padStart(12)}      ${row.seconds.toFixed(1)}`);
  }
  if (memoryRows.length > 0) {
    console.log('\ndecoder memory (cached layout, groups 8 / 10)   states   logit err vs dense   vs VCC full output   greedy tokens agreeing');
    for (const row of memoryRows) console.log(row);
  }
}
