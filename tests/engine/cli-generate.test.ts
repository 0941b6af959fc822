import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { loadCheckpoint } from '../../engine/checkpoint/load';
import type { Checkpoint } from '../../engine/checkpoint/types';
import { loadTokenizer } from '../../engine/tokenizer';
import { decoderLogits, encoderForward, greedyGenerate } from '../reference/t5-f64';
import { tempDir, tinyModelDir } from '../helpers/tiny-model';

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
  json: any;
}

function longread(args: string[]): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [path.join(repoRoot, 'bin', 'longread.mjs'), ...args], { cwd: repoRoot });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    child.on('error', reject);
    child.on('close', (code) => {
      let json: unknown = null;
      try {
        json = JSON.parse(stdout);
      } catch {
        // not JSON: the test decides whether that matters
      }
      resolve({ code, stdout, stderr, json });
    });
  });
}

function relErr(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let num = 0;
  let den = 0;
  for (let i = 0; i < b.length; i++) {
    num += (a[i]! - b[i]!) ** 2;
    den += b[i]! ** 2;
  }
  return Math.sqrt(num / den);
}

// Made at module level: a temp folder registered from inside a hook would be removed when the hook ends.
const model = await tinyModelDir({ variant: 't5-v1.1', seed: 31, layers: 3 });
const ckpt: Checkpoint = await loadCheckpoint(model);

describe('longread generate', () => {
  test('--input-ids --json: generated ids, text and first-step logits as the reference computes them', async () => {
    const ids = [5, 17, 42, 99, 7, 150, 23, 64, 88, 3, 12];
    const r = await longread(['generate', '--model', model, '--input-ids', ids.join(','), '--max-new-tokens', '7', '--threads', '1', '--json']);
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(r.json.outputIds, greedyGenerate(ckpt, ids, 7));
    assert.deepEqual(r.json.inputIds, ids);
    const enc = encoderForward(ckpt, ids);
    const ref = decoderLogits(ckpt, enc, [ckpt.config.decoderStartTokenId]);
    assert.equal(r.json.firstStepLogits.length, ckpt.config.vocabSize);
    assert.ok(relErr(r.json.firstStepLogits, ref) <= 1e-4);
    const tokenizer = await loadTokenizer(model);
    assert.equal(r.json.text, tokenizer.decode(r.json.outputIds, { skipSpecial: true }));
  });

  test('--precision int8: int8 graphs in their own cache folder, logits near fp32 but not equal; an unknown precision is refused', async () => {
    const ids = [5, 17, 42, 99, 7, 150, 23, 64, 88, 3, 12];
    const r = await longread(['generate', '--model', model, '--input-ids', ids.join(','), '--max-new-tokens', '3', '--threads', '1', '--precision', 'int8', '--json']);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.json.precision, 'int8');
    const ref = decoderLogits(ckpt, encoderForward(ckpt, ids), [ckpt.config.decoderStartTokenId]);
    const err = relErr(r.json.firstStepLogits, ref);
    assert.ok(err > 1e-4 && err < 0.05, `int8 vs the fp32 reference: ${err.toExponential(2)}`);
    assert.ok(readdirSync(path.join(model, '.longread-cache')).some((d) => d.endsWith('-int8')));
    const bad = await longread(['generate', '--model', model, '--input-ids', '5,6', '--precision', 'int4']);
    assert.notEqual(bad.code, 0);
    assert.match(bad.stderr, /fp32, int8/);
  });

  test('--input TEXT is tokenized with the model tokenizer, </s> appended; plain mode streams the text', async () => {
    const text = 'The whale swam under the ship at dawn.';
    const tokenizer = await loadTokenizer(model);
    const ids = tokenizer.encode(text, { addEos: true });
    assert.equal(ids.at(-1), tokenizer.eosId);
    const json = await longread(['generate', '--model', model, '--input', text, '--max-new-tokens', '5', '--json']);
    assert.equal(json.code, 0, json.stderr);
    assert.equal(json.json.inputTokens, ids.length);
    assert.deepEqual(json.json.inputIds, ids);
    assert.deepEqual(json.json.outputIds, greedyGenerate(ckpt, ids, 5));
    const plain = await longread(['generate', '--model', model, '--input', text, '--max-new-tokens', '5']);
    assert.equal(plain.code, 0, plain.stderr);
    assert.equal(plain.stdout, `${json.json.text}\n`);
  });

  test('--attention vcc with every block fine, one segment and the paper layout equals dense; --dump-encoder writes n × d float32', async () => {
    const ids = Array.from({ length: 150 }, (_, i) => 3 + ((i * 53) % 290));
    const dir = tempDir();
    const dense = await longread(['generate', '--model', model, '--input-ids', ids.join(','), '--max-new-tokens', '4', '--dump-encoder', path.join(dir, 'dense.f32'), '--json']);
    const vcc = await longread([
      'generate', '--model', model, '--input-ids', ids.join(','), '--max-new-tokens', '4', '--json',
      '--attention', 'vcc', '--vip-tokens', '6', '--block-size', '4', '--fine-blocks', '1000', '--local-layers', '1', '--segment', '1024',
      '--layout', 'paper', '--dump-encoder', path.join(dir, 'vcc.f32'),
    ]);
    assert.equal(vcc.code, 0, vcc.stderr);
    assert.equal(vcc.json.attention, 'vcc');
    const read = (f: string) => {
      const b = readFileSync(path.join(dir, f));
      return new Float32Array(b.buffer, b.byteOffset, b.byteLength / 4);
    };
    const a = read('dense.f32');
    const b = read('vcc.f32');
    assert.equal(a.length, ids.length * ckpt.config.dModel);
    assert.ok(relErr(a, encoderForward(ckpt, ids)) <= 1e-4);
    assert.ok(relErr(b, a) <= 1e-5, `vcc vs dense ${relErr(b, a)}`);
    assert.deepEqual(vcc.json.outputIds, dense.json.outputIds);
  });

  test('--attention vcc at compressing settings reports compressed lengths and evidence within the document; --decoder-blocks compresses what the decoder reads', async () => {
    const ids = Array.from({ length: 600 }, (_, i) => 3 + ((i * 31 + (i >> 3)) % 290));
    const r = await longread([
      'generate', '--model', model, '--input-ids', ids.join(','), '--max-new-tokens', '2', '--json',
      '--attention', 'vcc', '--vip-tokens', '8', '--block-size', '8', '--fine-blocks', '5', '--local-layers', '1', '--segment', '128', '--layout', 'cached',
    ]);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.json.settings.layout, 'cached');
    assert.equal(r.json.compressedLengths.length, 2);
    for (const len of r.json.compressedLengths) assert.ok(len < ids.length, `compressed length ${len}`);
    for (const layer of r.json.evidence) {
      assert.equal(layer.blocks.length, 5);
      for (const blk of layer.blocks) assert.ok(blk.start >= 0 && blk.end <= ids.length - 8 && blk.start < blk.end);
    }
    assert.equal(r.json.decoderStates, ids.length);
    // --decoder-blocks 2: the decoder reads 8 VIP states, 2 blocks of 8 tokens and the other 72 blocks' means
    const c = await longread([
      'generate', '--model', model, '--input-ids', ids.join(','), '--max-new-tokens', '2', '--json',
      '--attention', 'vcc', '--vip-tokens', '8', '--block-size', '8', '--fine-blocks', '5', '--local-layers', '1', '--segment', '128', '--layout', 'cached', '--decoder-blocks', '2',
    ]);
    assert.equal(c.code, 0, c.stderr);
    assert.equal(c.json.settings.decoderBlocks, 2);
    assert.equal(c.json.decoderStates, 8 + 2 * 8 + 72);
    assert.deepEqual(c.json.compressedLengths, r.json.compressedLengths);
    assert.notDeepEqual(c.json.firstStepLogits, r.json.firstStepLogits);
  });

  // ONNX Runtime's telemetry parsed /proc/self/cmdline with a recursive regex: a command line above
  // ~29 KB crashed the process with SIGSEGV, dense and VCC alike.
  test('16,384 ids with VCC and 8,192 dense through --input-ids (~64 and ~33 KB command lines) answer instead of crashing', async () => {
    for (const [attention, n] of [['vcc', 16_384], ['dense', 8_192]] as const) {
      const ids = Array.from({ length: n }, (_, i) => 3 + ((i * 7919) % (ckpt.config.vocabSize - 3)));
      const r = await longread(['generate', '--model', model, '--attention', attention, '--input-ids', ids.join(','), '--max-new-tokens', '1', '--json']);
      assert.equal(r.code, 0, `${attention}: exit ${r.code}, ${r.stderr.slice(-400)}`);
      assert.equal(r.json.inputTokens, n);
      assert.equal(r.json.outputIds.length, 1);
    }
  });

  test('an engine worker thread started by a process with a long command line runs 16K tokens', async () => {
    const child = spawn(
      process.execPath,
      ['--import', 'tsx', path.join(repoRoot, 'tests/helpers/engine-worker-child.ts'), model, tempDir(), '16384', 'x'.repeat(60_000)],
      { cwd: repoRoot },
    );
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    const [code, signal] = await new Promise<[number | null, string | null]>((resolve) => child.on('close', (c, s) => resolve([c, s])));
    assert.equal(signal, null, `worker process died with ${signal}: ${stderr.slice(-400)}`);
    assert.equal(code, 0, stderr.slice(-400));
    assert.equal(JSON.parse(stdout).outputIds.length, 1);
  });

  test('bad input: typed JSON errors with a non-zero exit, and no half-written graph cache', async () => {
    const outOfVocab = await longread(['generate', '--model', model, '--input-ids', '5,17,100000', '--json']);
    assert.equal(outOfVocab.code, 1);
    assert.equal(outOfVocab.json.error.code, 'invalid-input-ids');
    assert.match(outOfVocab.json.error.message, /100000/);

    const missing = path.join(tempDir(), 'no-such-model');
    const noModel = await longread(['generate', '--model', missing, '--input-ids', '5', '--json']);
    assert.equal(noModel.code, 1);
    assert.equal(noModel.json.error.code, 'model-not-found');
    assert.match(noModel.json.error.message, /no-such-model/);

    const neither = await longread(['generate', '--model', model, '--json']);
    assert.equal(neither.code, 1);
    assert.equal(neither.json.error.code, 'invalid-argument');

    const cache = path.join(model, '.longread-cache');
    if (existsSync(cache)) {
      for (const dir of readdirSync(cache)) {
        for (const f of readdirSync(path.join(cache, dir))) assert.doesNotMatch(f, /\.tmp/, `leftover ${dir}/${f}`);
      }
    }
  });
});
