/**
 * Benchmark (not a test): wall time and peak RSS of `ask` on a 128K-token book, the first
 * question (the local layers run and their states are stored) against a second, different
 * question on the same book (the local-layer states come from the library's engine-state store).
 * Each question runs in its own process, so its peak RSS is its own; the book is added first. With
 * --one-process the questions are asked one after another of one assistant, as in the running app (its
 * peak RSS is then the process's so far).
 *   node bin/run-ts.mjs tests/bench/ask.ts [--model DIR | --shape mini|small] [--threads N] [--tokens 131072] [--compression accurate] [--one-process]
 * Without --model, a random checkpoint of the given shape with the tiny test tokenizer is used
 * (random weights: the numbers are about cost, not answers).
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { DEFAULT_SETTINGS, type CompressionPreset } from '../../common/api';
import { loadTokenizer } from '../../engine/tokenizer';
import { Assistant } from '../../main/assistant/assistant';
import { Library } from '../../main/library/library';
import { makeTinyT5 } from '../../scripts/make-tiny-t5';

const arg = (name: string, dflt?: string) => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? process.argv[i + 1] : dflt;
};
const SHAPES = {
  mini: { dModel: 256, dKv: 64, dFf: 1024, layers: 4, heads: 4 },
  small: { dModel: 512, dKv: 64, dFf: 2048, layers: 6, heads: 8 },
} as const;
const QUESTIONS = ['What is the name of the ship Ahab commands?', 'Why does Ishmael go to sea?', 'Who is Queequeg?'];

/** Asks the questions one after another of one assistant; prints a JSON line per question. */
async function child(home: string, model: string, documentId: string, questions: string[], threads: number | undefined, compression: CompressionPreset) {
  const library = Library.open({ home });
  const assistant = await Assistant.open({ library, home, modelDir: model, threads, compression, maxAnswerTokens: 16 });
  for (const question of questions) {
    const t0 = performance.now();
    const r = await assistant.ask({ documentId, question }, () => {}).result;
    const wall = (performance.now() - t0) / 1000;
    process.stdout.write(
      JSON.stringify({ wall, maxRssMiB: process.resourceUsage().maxRSS / 1024, localCacheHit: r.engine?.localCacheHit, timingsMs: r.engine?.timingsMs, read: r.read, documentTokens: r.documentTokens }) + '\n',
    );
  }
  await assistant.close();
  library.close();
}

const childAt = process.argv.indexOf('--child');
if (childAt > 0) {
  const [home, model, documentId, questions, compression, threads] = process.argv.slice(childAt + 1);
  await child(home!, model!, documentId!, JSON.parse(questions!) as string[], threads ? Number(threads) : undefined, compression as CompressionPreset);
} else {
  const corpus = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..', '..', 'shared', 'corpus', 'books', 'pg2701.txt');
  const work = mkdtempSync(path.join(os.tmpdir(), 'longread-bench-ask-'));
  try {
    const shape = (arg('shape', 'mini') as keyof typeof SHAPES) ?? 'mini';
    const model = arg('model') ?? (await makeTinyT5({ out: path.join(work, `random-${shape}`), vocab: 499, seed: 3, ...SHAPES[shape] }));
    const threads = arg('threads');
    const compression = arg('compression', DEFAULT_SETTINGS.compression)!;
    const target = Number(arg('tokens', '131072'));
    // A book of exactly the limit: Moby-Dick cut where its tokens reach it (less one for </s>).
    const text = readFileSync(corpus, 'utf8');
    const tok = await loadTokenizer(model);
    const { offsets } = tok.encodeWithOffsets(text, { addEos: false });
    const cut = offsets.length >= target ? offsets[target - 2]![1] : text.length;
    const file = path.join(work, 'moby-dick-128k.txt');
    writeFileSync(file, text.slice(0, cut));
    const home = path.join(work, 'home');
    const library = Library.open({ home });
    const documentId = (await library.add(file)).document.id;
    library.close();
    console.log(`model ${arg('model') ?? `random ${shape} ${JSON.stringify(SHAPES[shape])}`}, book ${cut} characters, compression ${compression}, threads ${threads ?? 'all'} (${os.availableParallelism()} cores, shared)`);
    console.log('question                          wall s   peak RSS MiB   local cache   tokenize ms   encode ms   generate ms');
    const onePass = process.argv.includes('--one-process');
    const runs = onePass ? [QUESTIONS] : QUESTIONS.map((q) => [q]);
    const self = fileURLToPath(import.meta.url);
    let i = 0;
    for (const questions of runs) {
      const res = spawnSync(process.execPath, ['--import', 'tsx', self, '--child', home, model, documentId, JSON.stringify(questions), compression, threads ?? ''], { encoding: 'utf8', maxBuffer: 1 << 22 });
      const lines = res.stdout.trim().split('\n').filter((l) => l.startsWith('{'));
      if (res.status !== 0 || lines.length !== questions.length) throw new Error(`child failed (exit ${res.status}): ${res.stderr.slice(-2000)}`);
      for (const line of lines) {
        const m = JSON.parse(line) as { wall: number; maxRssMiB: number; localCacheHit: boolean; timingsMs: { tokenize: number; encode: number; generate: number }; documentTokens: number };
        const t = m.timingsMs;
        const name = `${['first', 'second', 'third'][i] ?? `#${i + 1}`}${onePass ? '' : ' (own process)'}`;
        console.log(
          `${name.padEnd(30)} ${m.wall.toFixed(1).padStart(8)} ${m.maxRssMiB.toFixed(0).padStart(14)} ${String(m.localCacheHit).padStart(13)} ${t.tokenize.toFixed(0).padStart(13)} ${t.encode.toFixed(0).padStart(11)} ${t.generate.toFixed(0).padStart(13)}   (${m.documentTokens} document tokens)`,
        );
        i++;
      }
    }
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}
