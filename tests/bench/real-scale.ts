/**
 * Benchmark (not a test): a whole `ask` of the engine at real model shapes and book lengths —
 * VCC encode (the app's preset, cached layout), then greedy generation of a fixed number of
 * tokens — for a first question and a second one that reuses the local-layer states. Random
 * weights with the shapes of t5-small / t5-base / t5-large (vocab 32128), made in memory, never
 * written; their graphs are cached under the temp folder. Each (shape, length) runs in its own
 * child process, so its peak RSS is its own.
 *
 *   node bin/run-ts.mjs tests/bench/real-scale.ts [--shapes t5-small,t5-base,t5-large]
 *     [--lengths 16384,65536,131072] [--skip t5-large@65536,t5-large@131072] [--tokens 32] [--threads N]
 *     [--groups 8:10]   (groups of blocks: blocks per group : groups kept; default the app's, 1:0 the paper's two levels)
 *     [--decoder-blocks N]   (blocks the decoder reads as tokens, the rest as means; default the app's, 0 every token)
 *     [--precision fp32|int8]   (the linear layers' weights; default fp32)
 *
 * Text: ../shared/corpus/books/pg2701.txt (Moby-Dick), tokenized with ../shared/models/t5-tokenizer
 * when it loads; otherwise each word and punctuation mark gets a fixed id from a hash (said in the output).
 */
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { T5Config } from '../../engine/checkpoint/types';
import { PRECISIONS, type Precision } from '../../common/precision';
import { Engine } from '../../engine/engine';
import { qaQueryText } from '../../engine/qa-format';
import { defaultThreads } from '../../engine/runtime/onnx';
import { loadTokenizer } from '../../engine/tokenizer';
import type { LocalStateCache } from '../../engine/vcc/encoder';
import { resolveSettings } from '../../engine/vcc/settings';
import { PRESET_BLOCKS } from '../../main/assistant/presets';
import { randomCheckpoint, tinyConfig } from '../helpers/random-checkpoint';

const here = path.dirname(fileURLToPath(import.meta.url));
const shared = path.resolve(here, '../../../shared');
const BOOK = path.join(shared, 'corpus/books/pg2701.txt');
const TOKENIZER = path.join(shared, 'models/t5-tokenizer');

type Shape = 't5-small' | 't5-base' | 't5-large';
const SHAPES: Record<Shape, Partial<T5Config>> = {
  't5-small': { dModel: 512, dKv: 64, dFf: 2048, numLayers: 6, numDecoderLayers: 6, numHeads: 8 },
  't5-base': { dModel: 768, dKv: 64, dFf: 3072, numLayers: 12, numDecoderLayers: 12, numHeads: 12 },
  't5-large': { dModel: 1024, dKv: 64, dFf: 4096, numLayers: 24, numDecoderLayers: 24, numHeads: 16 },
};
const QUESTIONS = ['What is the name of the ship that Ahab commands?', 'Who tells the story of the whale hunt?'];

const arg = (name: string, dflt: string) => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? process.argv[i + 1]! : dflt;
};
const threads = Number(arg('threads', String(defaultThreads())));
const tokens = Number(arg('tokens', '32'));
// Groups of blocks (doc section 5) as blocks per group : groups kept; unset: the app's preset (1:0 is the paper's two levels).
const groupsArg = arg('groups', '');
const [groupBlocks, keptGroups] = groupsArg.split(':').map(Number);
const groups = groupsArg ? { groupBlocks, keptGroups } : {};
const decoderArg = arg('decoder-blocks', '');
const decoder = decoderArg ? { decoderBlocks: Number(decoderArg) } : {};
const precision = arg('precision', 'fp32') as Precision;
if (!PRECISIONS.includes(precision)) throw new Error(`--precision must be fp32 or int8, got ${String(precision)}`);
const benchSettings = (numLayers: number) => resolveSettings(numLayers, { ...PRESET_BLOCKS.accurate, layout: 'cached', ...groups, ...decoder });
const GiB = 1024 ** 3;
const peakGiB = () => (process.resourceUsage().maxRSS * 1024) / GiB;

/** Stand-in ids when the tokenizer does not load: a fixed id per word or punctuation mark. */
function hashIds(text: string, vocab: number): number[] {
  return (text.match(/\w+|[^\s\w]/g) ?? []).map((w) => 3 + (createHash('md5').update(w).digest().readUInt32LE(0) % (vocab - 3)));
}

async function textIds(vocab: number): Promise<{ doc: number[]; questions: number[][]; how: string }> {
  const book = readFileSync(BOOK, 'utf8');
  try {
    const tok = await loadTokenizer(TOKENIZER);
    return { doc: tok.encode(book, { addEos: false }), questions: QUESTIONS.map((q) => tok.encode(qaQueryText(q), { addEos: false })), how: 't5-tokenizer' };
  } catch (e) {
    return { doc: hashIds(book, vocab), questions: QUESTIONS.map((q) => hashIds(qaQueryText(q), vocab)), how: `hashed words (tokenizer: ${(e as Error).message.split('\n')[0]})` };
  }
}

async function child(shape: Shape, n: number): Promise<void> {
  const t = performance.now();
  // Wall seconds since the last lap; CPU seconds (user + system, all threads) are kept beside them,
  // since on a shared machine wall time also measures the neighbours.
  const cpu = () => {
    const u = process.cpuUsage();
    return (u.user + u.system) / 1e6;
  };
  let cpuLast = cpu();
  const cpuLap = () => {
    const now = cpu();
    const s = now - cpuLast;
    cpuLast = now;
    return s;
  };
  const lap = (() => {
    let last = performance.now();
    return () => {
      const now = performance.now();
      const s = (now - last) / 1000;
      last = now;
      return s;
    };
  })();
  // Random weights never stop by themselves often, but an EOS would cut the timing short: no id is EOS here.
  const cfg = tinyConfig({ ...SHAPES[shape], vocabSize: 32128, eosTokenId: -1 });
  const cacheDir = path.join(os.tmpdir(), `longread-bench-${shape}`);
  mkdirSync(cacheDir, { recursive: true });
  const ckpt = randomCheckpoint(cfg, 7, cacheDir);
  const weightsS = lap();
  const engine = Engine.fromCheckpoint(ckpt, { threads, precision });
  const { doc, questions, how } = await textIds(cfg.vocabSize);
  if (doc.length + questions[0]!.length < n) throw new Error(`the book has only ${doc.length} tokens`);
  const settings = benchSettings(cfg.numLayers);
  // Open every graph first (built on the first run of a shape, then read from the cache).
  await engine.model.warmUp();
  for (let l = settings.localLayers; l < cfg.numLayers; l++) {
    await engine.model.encoderSelect(l);
    await engine.model.encoderKeys(l);
  }
  const graphsS = lap();
  const graphsPeak = peakGiB();

  const store = new Map<string, Float32Array>();
  const localCache: LocalStateCache = { get: (keys) => keys.map((k) => store.get(k)), set: (entries) => entries.forEach((e) => store.set(e.key, e.states)) };
  const asks = [];
  // One document for both questions (so the second can reuse its local-layer states), sized for the longer one.
  const documentIds = doc.slice(0, n - Math.max(...questions.map((q) => q.length)));
  for (const q of questions) {
    const estimate = engine.memoryEstimate({ n: q.length + documentIds.length, attention: 'vcc' }).totalBytes / GiB;
    let localS = -1;
    let localCpu = 0;
    lap();
    cpuLap();
    const encoded = await engine.encode({
      queryIds: q,
      documentIds,
      attention: 'vcc',
      vcc: settings,
      localCache,
      onProgress: (p) => {
        // The first report at or past the local layers (on a cache hit: the first VCC layer's first chunk).
        if (localS < 0 && p.layer >= settings.localLayers) {
          localS = lap();
          localCpu = cpuLap();
        }
      },
    });
    const vccS = lap();
    const vccCpu = cpuLap();
    const r = await engine.generate(encoded, { maxNewTokens: tokens });
    const generateS = lap();
    const generateCpu = cpuLap();
    asks.push({ localS, vccS, generateS, localCpu, vccCpu, generateCpu, generated: r.outputIds.length, decoderStates: (encoded.decoderMemory ?? encoded).n, cacheHit: encoded.localCacheHit, r: Math.max(...encoded.compressedLengths), estimateGiB: estimate, peakGiB: peakGiB() });
  }
  await engine.close();
  const out = { shape, n, tokenizer: how, weightsS, graphsS, graphsPeakGiB: graphsPeak, asks, totalS: (performance.now() - t) / 1000, peakGiB: peakGiB() };
  process.stdout.write(JSON.stringify(out) + '\n');
}

type Result = {
  shape: Shape;
  n: number;
  tokenizer: string;
  weightsS: number;
  graphsS: number;
  graphsPeakGiB: number;
  asks: Array<{ localS: number; vccS: number; generateS: number; localCpu: number; vccCpu: number; generateCpu: number; generated: number; decoderStates: number; cacheHit: boolean; r: number; estimateGiB: number; peakGiB: number }>;
  peakGiB: number;
};

function measure(shape: Shape, n: number): Result | string {
  const res = spawnSync(process.execPath, ['--import', 'tsx', fileURLToPath(import.meta.url), '--child', shape, String(n), '--threads', String(threads), '--tokens', String(tokens), ...(groupsArg ? ['--groups', groupsArg] : []), ...(decoderArg ? ['--decoder-blocks', decoderArg] : []), '--precision', precision], {
    encoding: 'utf8',
    maxBuffer: 1 << 22,
  });
  const line = res.stdout.trim().split('\n').pop() ?? '';
  try {
    return JSON.parse(line) as Result;
  } catch {
    return `failed (exit ${res.status}, signal ${res.signal}): ${res.stderr.trim().split('\n').slice(-3).join(' | ')}`;
  }
}

const childAt = process.argv.indexOf('--child');
if (childAt > 0) {
  await child(process.argv[childAt + 1] as Shape, Number(process.argv[childAt + 2]));
} else {
  if (!existsSync(BOOK)) {
    console.log(`skipped: ${BOOK} is not there`);
    process.exit(0);
  }
  const shapes = arg('shapes', 't5-small,t5-base,t5-large').split(',') as Shape[];
  const lengths = arg('lengths', '16384,65536,131072').split(',').map(Number);
  const skip = new Set(arg('skip', 't5-large@65536,t5-large@131072').split(','));
  console.log(`${threads} threads, ${precision} weights, ${tokens} generated tokens per question, VCC settings ${JSON.stringify(benchSettings(12))} (local layers: a third of each shape's)`);
  console.log('Times: wall seconds [CPU seconds, all threads]. r: the longest compressed sequence of a VCC layer.');
  console.log('| shape | tokens | ask | local layers s | VCC layers s | generate s (tok/s) | decoder states | r | estimate GiB | peak RSS GiB |');
  console.log('|---|---|---|---|---|---|---|---|---|---|');
  for (const shape of shapes) {
    for (const n of lengths) {
      if (skip.has(`${shape}@${n}`)) {
        console.log(`| ${shape} | ${n} | skipped | | | | | | | |`);
        continue;
      }
      const r = measure(shape, n);
      if (typeof r === 'string') {
        console.log(`| ${shape} | ${n} | ${r} | | | | | | | |`);
        continue;
      }
      r.asks.forEach((a, i) => {
        const label = i === 0 ? 'first' : a.cacheHit ? 'second (local states reused)' : 'second';
        const tps = a.generated / a.generateS;
        console.log(
          `| ${shape} | ${n} | ${label} | ${a.localS.toFixed(1)} [${a.localCpu.toFixed(0)}] | ${a.vccS.toFixed(1)} [${a.vccCpu.toFixed(0)}] | ${a.generateS.toFixed(1)} [${a.generateCpu.toFixed(0)}] (${tps.toFixed(2)}) | ${a.decoderStates} | ${a.r} | ${a.estimateGiB.toFixed(2)} | ${a.peakGiB.toFixed(2)} |`,
        );
      });
      console.log(`|   | (random weights ${r.weightsS.toFixed(0)} s, open graphs ${r.graphsS.toFixed(0)} s at peak ${r.graphsPeakGiB.toFixed(2)} GiB; ids: ${r.tokenizer}) | | | | | | | | |`);
    }
  }
}
