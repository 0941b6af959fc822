import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { copyFileSync, cpSync, existsSync, mkdirSync, readdirSync, readFileSync, truncateSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { LongreadError } from '../../common/errors';
import { loadCheckpoint } from '../../engine/checkpoint/load';
import { parseStateDictPickle, readTorchBin } from '../../engine/checkpoint/torch-pickle';
import type { SafetensorsDtype } from '../../engine/checkpoint/safetensors';
import { makeTinyT5 } from '../../scripts/make-tiny-t5';
import { tempDir } from '../helpers/tiny-model';

const PYTHON = process.env.LONGREAD_TORCH_PYTHON ?? '/usr/bin/python3';
const SCRIPT = path.join(path.dirname(fileURLToPath(import.meta.url)), '..', 'helpers', 'torch_save_t5.py');
const torchCheck = spawnSync(PYTHON, ['-c', 'import torch'], { encoding: 'utf8' });
const noTorch = torchCheck.status === 0 ? false : `needs PyTorch as the reference (${PYTHON} -c "import torch" failed; apt-get install python3-torch libopenblas0-pthread)`;
if (noTorch) console.log(`# torch checkpoint tests skipped: ${noTorch}`);

async function rejectsWith(p: Promise<unknown> | (() => unknown), code: string, mentions: string[]): Promise<LongreadError> {
  let err: unknown;
  try {
    await (typeof p === 'function' ? p() : p);
  } catch (e) {
    err = e;
  }
  assert.ok(err instanceof LongreadError, `expected a LongreadError ${code}, got ${String(err)}`);
  assert.equal(err.code, code, err.message);
  for (const m of mentions) assert.ok(err.message.includes(m), `message ${JSON.stringify(err.message)} should mention ${m}`);
  return err;
}

/** Made at file level, so the folders outlive each test's own cleanup. */
const root = tempDir('longread-torch-');

/** The torch.save'd folders the tests read, each its own copy (some tests damage theirs): dtype and script flags. */
const JOBS = {
  f32: ['F32', []],
  f16: ['F16', []],
  bf16: ['BF16', []],
  bf16Protocol4: ['BF16', ['--protocol', '4']],
  f16Shards3: ['F16', ['--shards', '3']],
  f32Torch2: ['F32', ['--repack']],
  bigEndian: ['F32', ['--big-endian']],
  legacy: ['F32', ['--legacy']],
  legacyBf16: ['BF16', ['--legacy']],
  legacyTruncated: ['F16', ['--legacy']],
  truncated: ['F16', []],
  shortStorage: ['F32', ['--short-storage']],
  shards2: ['F32', ['--shards', '2']],
} satisfies Record<string, [SafetensorsDtype, string[]]>;
type Job = keyof typeof JOBS;

/** One float32 safetensors tiny T5 (v1.1: untied lm_head) as the source of every job; one Python run writes them all. */
const src = noTorch ? '' : await makeTinyT5({ variant: 't5-v1.1', out: path.join(root, 'src') });
const hostileFile = path.join(root, 'hostile', 'pytorch_model.bin');
const hostileMarker = path.join(root, 'hostile', 'pwned');
const hostileLegacyFile = path.join(root, 'hostile-legacy', 'pytorch_model.bin');
if (!noTorch) {
  const jobs: string[][] = [];
  for (const [name, [dtype, flags]] of Object.entries(JOBS)) {
    const out = path.join(root, name);
    mkdirSync(out);
    for (const f of readdirSync(src)) if (f.endsWith('.json')) copyFileSync(path.join(src, f), path.join(out, f));
    jobs.push([src, out, dtype, ...flags]);
  }
  mkdirSync(path.dirname(hostileFile));
  jobs.push(['--hostile', hostileFile, hostileMarker]);
  mkdirSync(path.dirname(hostileLegacyFile));
  jobs.push(['--hostile-legacy', hostileLegacyFile, hostileMarker]);
  writeFileSync(path.join(root, 'jobs.json'), JSON.stringify(jobs));
  const r = spawnSync(PYTHON, [SCRIPT, '--jobs', path.join(root, 'jobs.json')], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`torch_save_t5.py failed:\n${r.stderr}`);
}

/** A job's folder and what torch itself read back from it, converted to float32 by torch. */
function torchFolder(job: Job) {
  const out = path.join(root, job);
  const manifest = JSON.parse(readFileSync(`${out}.reference.json`, 'utf8')) as Record<string, { shape: number[]; offset: number; contiguous: boolean }>;
  const raw = readFileSync(`${out}.reference.f32`);
  const reference = new Map<string, { shape: number[]; data: Float32Array; contiguous: boolean }>();
  for (const [name, m] of Object.entries(manifest)) {
    const n = m.shape.reduce((a, b) => a * b, 1);
    const data = new Float32Array(n);
    new Uint8Array(data.buffer).set(raw.subarray(m.offset, m.offset + 4 * n));
    reference.set(name, { shape: m.shape, data, contiguous: m.contiguous });
  }
  return { src, out, reference, dtype: JOBS[job][0] as SafetensorsDtype };
}

function sameBits(a: Float32Array, b: Float32Array, what: string): void {
  assert.equal(a.length, b.length, what);
  const ua = new Uint32Array(a.buffer, a.byteOffset, a.length);
  const ub = new Uint32Array(b.buffer, b.byteOffset, b.length);
  for (let i = 0; i < ua.length; i++) if (ua[i] !== ub[i]) assert.fail(`${what}: element ${i} is ${a[i]} (0x${ua[i]!.toString(16)}), torch read ${b[i]} (0x${ub[i]!.toString(16)})`);
}

describe('pytorch_model.bin written by torch.save', { skip: noTorch }, () => {
  for (const [job, label] of [
    ['f32', 'float32'],
    ['f16', 'float16'],
    ['bf16', 'bfloat16'],
    ['bf16Protocol4', 'bfloat16, pickle protocol 4'],
    ['f16Shards3', 'float16 in 3 shards with pytorch_model.bin.index.json'],
    ['f32Torch2', 'float32 laid out as torch 2.x writes it (byteorder record, padded local headers, zip64 entries)'],
    ['legacy', 'float32 in the legacy format (torch < 1.6)'],
    ['legacyBf16', 'bfloat16 in the legacy format'],
  ] as Array<[Job, string]>) {
    test(`${label}: every tensor bit-exact with what torch reads`, async () => {
      const { src, out, reference, dtype } = torchFolder(job);
      const ckpt = await loadCheckpoint(out);
      assert.equal(ckpt.storedDtype, dtype);
      assert.ok(reference.has('encoder.embed_tokens.weight') && reference.has('lm_head.weight'), 'the reference state dict has the tied copies');
      assert.ok([...reference.values()].some((r) => !r.contiguous), 'the reference holds a non-contiguous tensor');
      for (const [name, t] of ckpt.weights) {
        const ref = reference.get(name);
        assert.ok(ref, `torch's state dict has ${name}`);
        assert.deepEqual(t.shape, ref.shape, name);
        sameBits(t.data, ref.data, name);
      }
      if (dtype === 'F32') {
        // float32 round-trips: the .bin folder loads to exactly the safetensors folder's weights
        const fromSafetensors = await loadCheckpoint(src);
        assert.deepEqual([...ckpt.weights.keys()].sort(), [...fromSafetensors.weights.keys()].sort());
        for (const [name, t] of fromSafetensors.weights) sameBits(ckpt.weights.get(name)!.data, t.data, name);
        assert.notEqual(ckpt.hash, fromSafetensors.hash);
      }
    });
  }

  test('tied copies in the state dict share one float32 tensor', async () => {
    const { out } = torchFolder('bf16');
    const { tensors } = await readTorchBin(path.join(out, 'pytorch_model.bin'));
    const shared = tensors.get('shared.weight')!;
    assert.equal(tensors.get('encoder.embed_tokens.weight'), shared);
    assert.equal(tensors.get('decoder.embed_tokens.weight'), shared);
    assert.notEqual(tensors.get('lm_head.weight'), shared, 'v1.1 keeps an untied lm_head');
  });

  test('a folder with both formats loads safetensors; the hash follows the bytes', async () => {
    const { out } = torchFolder('f16');
    const both = path.join(root, 'both');
    cpSync(src, both, { recursive: true });
    copyFileSync(path.join(out, 'pytorch_model.bin'), path.join(both, 'pytorch_model.bin'));
    assert.equal((await loadCheckpoint(both)).storedDtype, 'F32');
    const a = await loadCheckpoint(out);
    const b = await loadCheckpoint(out);
    assert.equal(a.hash, b.hash);
  });

  test('a hostile pickle (os.system) is refused and nothing runs', async () => {
    const file = hostileFile;
    const marker = hostileMarker;
    const dir = path.dirname(file);
    assert.ok(existsSync(file) && !existsSync(marker));
    const err = await rejectsWith(readTorchBin(file), 'torch-bin-unsupported', [file, 'posix.system']);
    assert.match(err.message, /never runs code/);
    assert.ok(!existsSync(marker), 'the command in the pickle did not run');
    // through the folder loader too
    copyFileSync(path.join(src, 'config.json'), path.join(dir, 'config.json'));
    await rejectsWith(loadCheckpoint(dir), 'torch-bin-unsupported', [file, 'posix.system']);
    await rejectsWith(readTorchBin(hostileLegacyFile), 'torch-bin-unsupported', [hostileLegacyFile, 'posix.system']);
    assert.ok(!existsSync(marker));
  });

  test('a byteorder record other than little is refused', async () => {
    const { out } = torchFolder('bigEndian');
    await rejectsWith(loadCheckpoint(out), 'torch-bin-unsupported', [path.join(out, 'pytorch_model.bin'), 'byte order "big"']);
  });

  test('a truncated pytorch_model.bin is a typed error naming it, in either format', async () => {
    for (const job of ['truncated', 'legacyTruncated'] as const) {
      const { out } = torchFolder(job);
      const file = path.join(out, 'pytorch_model.bin');
      truncateSync(file, Math.floor(statSync(file).size * 0.6));
      await rejectsWith(loadCheckpoint(out), 'torch-bin-corrupt', [file]);
    }
  });

  test('a storage record shorter than its pickle says is refused before it is read', async () => {
    const { out } = torchFolder('shortStorage');
    await rejectsWith(loadCheckpoint(out), 'torch-bin-corrupt', [path.join(out, 'pytorch_model.bin'), 'but its tensors need']);
  });

  test('a shard missing from pytorch_model.bin.index.json is named', async () => {
    const { out } = torchFolder('shards2');
    const index = path.join(out, 'pytorch_model.bin.index.json');
    const json = JSON.parse(readFileSync(index, 'utf8')) as { weight_map: Record<string, string> };
    json.weight_map['decoder.final_layer_norm.weight'] = 'pytorch_model-00009-of-00002.bin';
    writeFileSync(index, JSON.stringify(json));
    await rejectsWith(loadCheckpoint(out), 'model-file-missing', ['pytorch_model-00009-of-00002.bin']);
  });
});

// ---------- the pickle machine on hand-written pickles (no torch needed) ----------

/** Builds pickle bytes from opcodes and raw pieces. */
function pickle(...parts: Array<string | number[]>): Uint8Array {
  const out: number[] = [];
  for (const p of parts) {
    if (typeof p === 'string') for (const c of Buffer.from(p, 'latin1')) out.push(c);
    else out.push(...p);
  }
  return new Uint8Array(out);
}
const unicode = (s: string) => {
  const b = Buffer.from(s, 'utf8');
  return [0x58, b.length & 0xff, (b.length >> 8) & 0xff, 0, 0, ...b];
};

describe('state dict pickle machine', () => {
  const file = '/models/x/pytorch_model.bin';

  test('GLOBAL outside the allowlist is refused before anything is called', async () => {
    for (const [mod, name] of [['os', 'system'], ['posix', 'system'], ['builtins', 'eval'], ['subprocess', 'Popen'], ['torch', 'load']]) {
      const bytes = pickle([0x80, 2], `c${mod}\n${name}\n`, unicode('touch /tmp/x'), [0x85, 0x52, 0x2e]);
      await rejectsWith(() => parseStateDictPickle(bytes, file), 'torch-bin-unsupported', [file, `${mod}.${name}`]);
    }
  });

  test('opcodes a state dict does not need are refused', async () => {
    // INST ('i') and OBJ ('o') import and call; EMPTY_LIST is simply not part of a state dict
    for (const op of [0x69, 0x6f, 0x5d, 0x47]) {
      await rejectsWith(() => parseStateDictPickle(pickle([0x80, 2, op, 0x2e]), file), 'torch-bin-unsupported', [file, `opcode 0x${op.toString(16)}`]);
    }
  });

  test('a state dict with a non-tensor value is refused, naming the key', async () => {
    const bytes = pickle([0x80, 2, 0x7d], unicode('epoch'), [0x4b, 3, 0x73, 0x2e]);
    await rejectsWith(() => parseStateDictPickle(bytes, file), 'torch-bin-unsupported', [file, '"epoch"', 'not a tensor']);
  });

  test('a pickle that is not a dict, or a persistent id that is not a storage, is refused', async () => {
    await rejectsWith(() => parseStateDictPickle(pickle([0x80, 2, 0x4b, 7, 0x2e]), file), 'torch-bin-unsupported', ['not a state dict']);
    await rejectsWith(() => parseStateDictPickle(pickle([0x80, 2], unicode('x'), [0x51, 0x2e]), file), 'torch-bin-unsupported', ['persistent id']);
  });

  test('damaged pickles are typed errors: truncated, no STOP, empty stack, unset memo', async () => {
    await rejectsWith(() => parseStateDictPickle(pickle([0x80, 2, 0x58, 0xff, 0, 0, 0, 0x41]), file), 'torch-bin-corrupt', [file, 'ends inside']);
    await rejectsWith(() => parseStateDictPickle(pickle([0x80, 2, 0x7d]), file), 'torch-bin-corrupt', ['without STOP']);
    await rejectsWith(() => parseStateDictPickle(pickle([0x80, 2, 0x73, 0x2e]), file), 'torch-bin-corrupt', ['empty stack']);
    await rejectsWith(() => parseStateDictPickle(pickle([0x80, 2, 0x68, 5, 0x2e]), file), 'torch-bin-corrupt', ['memo slot 5']);
  });

  test('an empty OrderedDict state dict parses (BUILD with _metadata ignored)', () => {
    const bytes = pickle([0x80, 2], 'ccollections\nOrderedDict\n', [0x29, 0x52, 0x7d], unicode('_metadata'), [0x7d, 0x73, 0x62, 0x2e]);
    assert.equal(parseStateDictPickle(bytes, file).size, 0);
  });

  test('a file that is not a zip is torch-bin-corrupt, naming it', async () => {
    const dir = tempDir('longread-notzip-');
    const f = path.join(dir, 'pytorch_model.bin');
    writeFileSync(f, Buffer.alloc(4096, 7));
    await rejectsWith(readTorchBin(f), 'torch-bin-corrupt', [f]);
  });
});
