import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { readFileSync, rmSync, truncateSync, writeFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { spawnSync } from 'node:child_process';
import { describe, test } from 'node:test';
import { LongreadError } from '../../common/errors';
import { parseT5Config } from '../../engine/checkpoint/config';
import { loadCheckpoint } from '../../engine/checkpoint/load';
import {
  bf16BytesToF32,
  bf16ToF32,
  f16BytesToF32,
  f16ToF32,
  f32ToBf16,
  f32ToF16,
  readSafetensors,
  writeSafetensors,
} from '../../engine/checkpoint/safetensors';
import { tinyConfigFor, tinyWeights, seededRandom, type TinyT5Options } from '../../scripts/make-tiny-t5';
import { tempDir, tinyModelDir } from '../helpers/tiny-model';

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

// ---------- half-precision conversions against plain references ----------

/** Plain float32 bits → value, through a DataView. */
function f32FromBits(u: number): number {
  const dv = new DataView(new ArrayBuffer(4));
  dv.setUint32(0, u >>> 0);
  return dv.getFloat32(0);
}
function f32Bits(x: number): number {
  const dv = new DataView(new ArrayBuffer(4));
  dv.setFloat32(0, x);
  return dv.getUint32(0);
}

describe('fp16 / bf16 conversions', () => {
  test('fp16 decoding: known values, subnormals, infinities, NaN', () => {
    assert.equal(f16ToF32(0x3c00), 1);
    assert.equal(f16ToF32(0xc000), -2);
    assert.equal(f16ToF32(0x7bff), 65504);
    assert.equal(f16ToF32(0x0001), 2 ** -24);
    assert.equal(f16ToF32(0x03ff), 1023 * 2 ** -24);
    assert.equal(f16ToF32(0x0400), 2 ** -14);
    assert.equal(f16ToF32(0x3555), 0.333251953125);
    assert.equal(f16ToF32(0x7c00), Infinity);
    assert.equal(f16ToF32(0xfc00), -Infinity);
    assert.ok(Number.isNaN(f16ToF32(0x7e00)) && Number.isNaN(f16ToF32(0xfc01)));
    assert.ok(Object.is(f16ToF32(0x8000), -0));
  });

  test('fp16: every bit pattern decodes in bulk as one by one and re-encodes to itself', () => {
    const raw = new Uint8Array(65536 * 2);
    for (let b = 0; b < 65536; b++) [raw[2 * b], raw[2 * b + 1]] = [b & 0xff, b >> 8];
    const bulk = new Float32Array(65536);
    f16BytesToF32(raw, bulk);
    for (let b = 0; b < 65536; b++) {
      const v = f16ToF32(b);
      if (Number.isNaN(v)) {
        assert.ok(Number.isNaN(bulk[b]!));
        assert.ok(Number.isNaN(f16ToF32(f32ToF16(v))));
        continue;
      }
      assert.ok(Object.is(bulk[b], v), `bits ${b.toString(16)}`);
      assert.equal(f32ToF16(v), b, `bits ${b.toString(16)}`);
    }
  });

  test('fp16 encoding rounds to nearest even (checked against a search over all fp16 values)', () => {
    const positives: number[] = [];
    for (let b = 0; b <= 0x7c00; b++) positives.push(f16ToF32(b));
    const nearest = (x: number): number => {
      const a = Math.abs(x);
      let lo = 0;
      let hi = positives.length - 1;
      while (hi - lo > 1) {
        const mid = (lo + hi) >> 1;
        if (positives[mid]! <= a) lo = mid;
        else hi = mid;
      }
      // Overflow: values at or beyond 65520 (halfway to the next binade) round to infinity.
      let pick: number;
      if (lo === 0x7bff) pick = a >= 65520 ? 0x7c00 : 0x7bff;
      else {
        const dl = a - positives[lo]!;
        const dh = positives[hi]! - a;
        pick = dl < dh ? lo : dh < dl ? hi : lo % 2 === 0 ? lo : hi;
      }
      return (x < 0 ? 0x8000 : 0) | pick;
    };
    const r = seededRandom(3);
    const samples = [1 + 2 ** -11, 1 + 3 * 2 ** -11, 65519, 65520, 1e6, 2 ** -25, 2 ** -25 * 1.0001, 3 * 2 ** -26, 1e-9, 6.1e-5];
    for (let i = 0; i < 3000; i++) {
      samples.push(Math.fround(r.normal() * 10 ** Math.floor(r.uniform() * 12 - 8)));
    }
    for (const x of samples) for (const s of [x, -x]) assert.equal(f32ToF16(s), nearest(s), `value ${s}`);
  });

  test('bf16 decoding and round-to-nearest-even encoding against the float32 bit layout', () => {
    const raw = new Uint8Array(65536 * 2);
    for (let b = 0; b < 65536; b++) [raw[2 * b], raw[2 * b + 1]] = [b & 0xff, b >> 8];
    const bulk = new Float32Array(65536);
    bf16BytesToF32(raw, bulk);
    for (let b = 0; b < 65536; b++) {
      const ref = f32FromBits(b << 16);
      assert.ok(Object.is(bulk[b], ref) || (Number.isNaN(ref) && Number.isNaN(bulk[b]!)), `bits ${b}`);
      assert.ok(Object.is(bf16ToF32(b), ref) || Number.isNaN(ref));
    }
    const r = seededRandom(5);
    const values = [Infinity, -Infinity, NaN, 0, -0, 3.4028234663852886e38, 1e-40, 1e-45, 1.00390625, 1.005859375];
    for (let i = 0; i < 5000; i++) values.push(f32FromBits(Math.floor(r.uniform() * 2 ** 32)));
    for (const x of values) {
      const got = f32ToBf16(x);
      if (Number.isNaN(x)) {
        assert.ok(Number.isNaN(bf16ToF32(got)));
        continue;
      }
      const u = f32Bits(x);
      const down = u >>> 16;
      const rest = u & 0xffff;
      const want = rest > 0x8000 || (rest === 0x8000 && (down & 1) === 1) ? down + 1 : down;
      assert.equal(got, want & 0xffff, `value ${x}`);
    }
  });
});

// ---------- config.json semantics ----------

describe('config.json (transformers T5Config semantics)', () => {
  const base = { model_type: 't5', architectures: ['T5ForConditionalGeneration'], vocab_size: 100, d_model: 16, num_heads: 2, d_kv: 8 };
  test('defaults: decoder layers = num_layers, max distance 128, tied, relu, start token = pad', () => {
    const { config } = parseT5Config(JSON.stringify({ ...base, num_layers: 3 }));
    assert.equal(config.numDecoderLayers, 3);
    assert.equal(config.relativeAttentionMaxDistance, 128);
    assert.equal(config.relativeAttentionNumBuckets, 32);
    assert.equal(config.tieWordEmbeddings, true);
    assert.equal(config.denseAct, 'relu');
    assert.equal(config.isGatedAct, false);
    assert.equal(config.variant, 't5');
    assert.equal(config.dFf, 2048);
    assert.equal(config.layerNormEpsilon, 1e-6);
    assert.equal(config.decoderStartTokenId, 0);
    assert.equal(config.eosTokenId, 1);
  });
  test('gated-gelu means gelu_new (tanh), gated; other gated activations keep their name', () => {
    const a = parseT5Config(JSON.stringify({ ...base, feed_forward_proj: 'gated-gelu', tie_word_embeddings: false })).config;
    assert.deepEqual([a.denseAct, a.isGatedAct, a.variant, a.tieWordEmbeddings], ['gelu_new', true, 't5-v1.1', false]);
    const b = parseT5Config(JSON.stringify({ ...base, feed_forward_proj: 'gated-silu' })).config;
    assert.deepEqual([b.denseAct, b.isGatedAct], ['silu', true]);
    const c = parseT5Config(JSON.stringify({ ...base, feed_forward_proj: 'gelu' })).config;
    assert.deepEqual([c.denseAct, c.isGatedAct], ['gelu', false]);
    // Keys written in the file win, as PretrainedConfig sets them after T5Config derived its own.
    const d = parseT5Config(JSON.stringify({ ...base, feed_forward_proj: 'gated-gelu', dense_act_fn: 'gelu' })).config;
    assert.equal(d.denseAct, 'gelu');
    const e = parseT5Config(JSON.stringify({ ...base, num_layers: 4, num_decoder_layers: 1, decoder_start_token_id: 5, eos_token_id: [7, 8] })).config;
    assert.deepEqual([e.numLayers, e.numDecoderLayers, e.decoderStartTokenId, e.eosTokenId], [4, 1, 5, 7]);
  });
  test('published config.json shapes: t5-v1_1-base and original t5-small', () => {
    const v11 = parseT5Config(
      JSON.stringify({
        architectures: ['T5ForConditionalGeneration'], d_ff: 2048, d_kv: 64, d_model: 768, decoder_start_token_id: 0, dense_act_fn: 'gelu_new',
        dropout_rate: 0.1, eos_token_id: 1, feed_forward_proj: 'gated-gelu', initializer_factor: 1.0, is_encoder_decoder: true, is_gated_act: true,
        layer_norm_epsilon: 1e-6, model_type: 't5', num_decoder_layers: 12, num_heads: 12, num_layers: 12, output_past: true, pad_token_id: 0,
        relative_attention_max_distance: 128, relative_attention_num_buckets: 32, tie_word_embeddings: false, transformers_version: '4.33.2',
        use_cache: true, vocab_size: 32128,
      }),
    ).config;
    assert.deepEqual(
      [v11.variant, v11.dModel, v11.numHeads, v11.dKv, v11.dFf, v11.denseAct, v11.isGatedAct, v11.tieWordEmbeddings, v11.vocabSize],
      ['t5-v1.1', 768, 12, 64, 2048, 'gelu_new', true, false, 32128],
    );
    // Old exports: T5WithLMHeadModel, no feed_forward_proj, tie_word_embeddings or max distance keys.
    const old = parseT5Config(
      JSON.stringify({
        architectures: ['T5WithLMHeadModel'], d_ff: 2048, d_kv: 64, d_model: 512, decoder_start_token_id: 0, dropout_rate: 0.1, eos_token_id: 1,
        initializer_factor: 1.0, is_encoder_decoder: true, layer_norm_epsilon: 1e-6, model_type: 't5', n_positions: 512, num_heads: 8, num_layers: 6,
        output_past: true, pad_token_id: 0, relative_attention_num_buckets: 32, task_specific_params: { summarization: { prefix: 'summarize: ' } },
        vocab_size: 32128,
      }),
    ).config;
    assert.deepEqual(
      [old.variant, old.numDecoderLayers, old.denseAct, old.isGatedAct, old.tieWordEmbeddings, old.relativeAttentionMaxDistance],
      ['t5', 6, 'relu', false, true, 128],
    );
    // Same functions under other ACT2FN names.
    const alias = parseT5Config(JSON.stringify({ ...base, feed_forward_proj: 'gated-gelu', dense_act_fn: 'gelu_pytorch_tanh' })).config;
    assert.equal(alias.denseAct, 'gelu_new');
  });
  test('rejections are typed and name the file', async () => {
    const f = '/models/x/config.json';
    await rejectsWith(() => parseT5Config('{nope', f), 'model-config-invalid', [f]);
    await rejectsWith(() => parseT5Config(JSON.stringify({ ...base, d_model: -4 }), f), 'model-config-invalid', [f, 'd_model']);
    await rejectsWith(() => parseT5Config(JSON.stringify({ ...base, model_type: 'bart' }), f), 'model-unsupported', [f, 'bart']);
    await rejectsWith(() => parseT5Config(JSON.stringify({ ...base, architectures: ['T5ForSequenceClassification'] }), f), 'model-unsupported', [f, 'T5ForSequenceClassification']);
    await rejectsWith(() => parseT5Config(JSON.stringify({ ...base, feed_forward_proj: 'gated-gelu-x' }), f), 'model-unsupported', [f, 'gated-gelu-x']);
    await rejectsWith(() => parseT5Config(JSON.stringify({ ...base, feed_forward_proj: 'mish' }), f), 'model-unsupported', [f, 'mish']);
    await rejectsWith(() => parseT5Config(JSON.stringify({ ...base, eos_token_id: 100 }), f), 'model-config-invalid', [f, 'eos_token_id']);
  });
});

// ---------- generator → loader round trips ----------

function expectedValue(x: number, dtype: 'F32' | 'F16' | 'BF16'): number {
  if (dtype === 'F16') return f16ToF32(f32ToF16(x));
  if (dtype === 'BF16') return bf16ToF32(f32ToBf16(x));
  return x;
}

describe('tiny checkpoint round trips', () => {
  for (const variant of ['t5', 't5-v1.1'] as const) {
    for (const dtype of ['F32', 'F16', 'BF16'] as const) {
      test(`${variant} ${dtype}`, async () => {
        const opts: Omit<TinyT5Options, 'out'> = { variant, dtype, seed: 11, layers: 2, decoderLayers: 3, dModel: 16, dKv: 4, heads: 3, dFf: 24, vocab: 200 };
        const dir = await tinyModelDir(opts);
        const ckpt = await loadCheckpoint(dir);
        const config = tinyConfigFor({ ...opts, out: dir });
        assert.deepEqual(ckpt.config, config);
        assert.equal(ckpt.storedDtype, dtype);
        assert.equal(ckpt.dir, dir);
        const written = tinyWeights(config, 11);
        assert.equal(ckpt.weights.size, written.length);
        for (const t of written) {
          const got = ckpt.weights.get(t.name);
          assert.ok(got, t.name);
          assert.deepEqual(got.shape, t.shape);
          for (let i = 0; i < t.data.length; i++) {
            if (got.data[i] !== expectedValue(t.data[i]!, dtype)) assert.fail(`${t.name}[${i}]: ${got.data[i]} vs ${t.data[i]}`);
          }
        }
        assert.equal(ckpt.weights.has('lm_head.weight'), variant === 't5-v1.1');
        const hash = createHash('sha256').update(readFileSync(path.join(dir, 'config.json'))).update(readFileSync(path.join(dir, 'model.safetensors'))).digest('hex');
        assert.equal(ckpt.hash, hash);
      });
    }
  }

  test('sharded checkpoint loads the same weights as a single file', async () => {
    const opts = { variant: 't5-v1.1' as const, seed: 4, dtype: 'BF16' as const };
    const single = await loadCheckpoint(await tinyModelDir(opts, 'single'));
    const shardedDir = await tinyModelDir({ ...opts, shards: 3 }, 'sharded');
    const index = JSON.parse(readFileSync(path.join(shardedDir, 'model.safetensors.index.json'), 'utf8'));
    assert.equal(new Set(Object.values(index.weight_map)).size, 3);
    const sharded = await loadCheckpoint(shardedDir);
    assert.equal(sharded.weights.size, single.weights.size);
    for (const [name, t] of single.weights) assert.deepEqual(sharded.weights.get(name), t, name);
    assert.notEqual(sharded.hash, single.hash);
    assert.equal((await loadCheckpoint(shardedDir)).hash, sharded.hash);
  });

  test('tied embeddings: shared.weight is found when only encoder.embed_tokens is stored; copies are dropped', async () => {
    const ref = await loadCheckpoint(await tinyModelDir({ seed: 2 }, 'ref'));
    for (const embeddings of ['encoder', 'all'] as const) {
      const ckpt = await loadCheckpoint(await tinyModelDir({ seed: 2, embeddings }, embeddings));
      assert.deepEqual(ckpt.weights.get('shared.weight'), ref.weights.get('shared.weight'));
      assert.ok(!ckpt.weights.has('encoder.embed_tokens.weight') && !ckpt.weights.has('decoder.embed_tokens.weight'));
      assert.ok(!ckpt.weights.has('lm_head.weight'));
    }
  });

  test('the hash changes with the weights and with the config', async () => {
    const a = await loadCheckpoint(await tinyModelDir({ seed: 1 }, 'a'));
    const b = await loadCheckpoint(await tinyModelDir({ seed: 2 }, 'b'));
    assert.notEqual(a.hash, b.hash);
    const dir = await tinyModelDir({ seed: 1 }, 'c');
    const cfg = JSON.parse(readFileSync(path.join(dir, 'config.json'), 'utf8'));
    cfg.layer_norm_epsilon = 1e-5;
    writeFileSync(path.join(dir, 'config.json'), JSON.stringify(cfg));
    const c = await loadCheckpoint(dir);
    assert.notEqual(c.hash, a.hash);
    assert.equal(c.config.layerNormEpsilon, 1e-5);
  });
});

describe('make-tiny-t5', () => {
  test('deterministic from the seed; custom sizes land in config.json and the tensors', async () => {
    const opts = { variant: 't5-v1.1' as const, seed: 9, dModel: 24, dKv: 5, heads: 3, dFf: 40, layers: 1, decoderLayers: 2, buckets: 12, maxDistance: 40, vocab: 700 };
    const a = await tinyModelDir(opts, 'a');
    const b = await tinyModelDir(opts, 'b');
    const c = await tinyModelDir({ ...opts, seed: 10 }, 'c');
    const bytes = (d: string) => readFileSync(path.join(d, 'model.safetensors'));
    assert.ok(bytes(a).equals(bytes(b)));
    assert.ok(!bytes(a).equals(bytes(c)));
    const cfg = JSON.parse(readFileSync(path.join(a, 'config.json'), 'utf8'));
    assert.deepEqual(
      [cfg.d_model, cfg.d_kv, cfg.num_heads, cfg.d_ff, cfg.num_layers, cfg.num_decoder_layers, cfg.relative_attention_num_buckets, cfg.relative_attention_max_distance, cfg.vocab_size],
      [24, 5, 3, 40, 1, 2, 12, 40, 700],
    );
    assert.deepEqual([cfg.feed_forward_proj, cfg.dense_act_fn, cfg.is_gated_act, cfg.tie_word_embeddings], ['gated-gelu', 'gelu_new', true, false]);
    const ckpt = await loadCheckpoint(a);
    assert.deepEqual(ckpt.weights.get('encoder.block.0.layer.0.SelfAttention.q.weight')!.shape, [15, 24]);
    assert.deepEqual(ckpt.weights.get('decoder.block.0.layer.0.SelfAttention.relative_attention_bias.weight')!.shape, [12, 3]);
    assert.deepEqual(ckpt.weights.get('shared.weight')!.shape, [700, 24]);
    // The embedding matrix may be larger than the tokenizer, as in real T5 (32128 rows, 32100 pieces).
    const tj = JSON.parse(readFileSync(path.join(a, 'tokenizer.json'), 'utf8'));
    assert.ok(tj.model.vocab.length < 700);
    // Bias tables are large enough (std ~1) for position effects to show.
    const bias = ckpt.weights.get('encoder.block.0.layer.0.SelfAttention.relative_attention_bias.weight')!.data;
    const std = Math.sqrt(bias.reduce((s2, v) => s2 + v * v, 0) / bias.length);
    assert.ok(std > 0.5 && std < 2, `bias std ${std}`);
  });

  test('command line writes a sharded F16 folder the loader accepts', async () => {
    const out = path.join(tempDir(), 'cli');
    const r = spawnSync(process.execPath, ['bin/run-ts.mjs', 'scripts/make-tiny-t5.ts', '--out', out, '--variant', 't5', '--dtype', 'F16', '--shards', '2', '--layers', '1', '--seed', '5'], {
      cwd: path.resolve(import.meta.dirname, '../..'),
      encoding: 'utf8',
    });
    assert.equal(r.status, 0, r.stderr);
    assert.equal(r.stdout.trim(), out);
    const ckpt = await loadCheckpoint(out);
    assert.equal(ckpt.storedDtype, 'F16');
    assert.equal(ckpt.config.numDecoderLayers, 1);
    const bad = spawnSync(process.execPath, ['bin/run-ts.mjs', 'scripts/make-tiny-t5.ts', '--out', out, '--dtype', 'F64'], {
      cwd: path.resolve(import.meta.dirname, '../..'),
      encoding: 'utf8',
    });
    assert.equal(bad.status, 2);
    assert.match(bad.stderr, /--dtype/);
  });
});

// ---------- bad input ----------

/** Rewrites a safetensors file with a new header (same data bytes), for lying-header cases. */
function rewriteHeader(file: string, edit: (header: Record<string, any>) => void): void {
  const buf = readFileSync(file);
  const n = Number(buf.readBigUInt64LE(0));
  const header = JSON.parse(buf.subarray(8, 8 + n).toString('utf8'));
  edit(header);
  const text = Buffer.from(JSON.stringify(header));
  const len = Buffer.alloc(8);
  len.writeBigUInt64LE(BigInt(text.length));
  writeFileSync(file, Buffer.concat([len, text, buf.subarray(8 + n)]));
}

describe('bad checkpoints', () => {
  test('missing folder', async () => {
    const dir = path.join(tempDir(), 'nope');
    await rejectsWith(loadCheckpoint(dir), 'model-not-found', [dir]);
  });

  test('missing config.json, missing weights, missing shard', async () => {
    const a = await tinyModelDir({}, 'a');
    rmSync(path.join(a, 'config.json'));
    await rejectsWith(loadCheckpoint(a), 'model-file-missing', [path.join(a, 'config.json')]);
    const b = await tinyModelDir({}, 'b');
    rmSync(path.join(b, 'model.safetensors'));
    await rejectsWith(loadCheckpoint(b), 'model-file-missing', [path.join(b, 'model.safetensors')]);
    const c = await tinyModelDir({ shards: 2 }, 'c');
    rmSync(path.join(c, 'model-00002-of-00002.safetensors'));
    await rejectsWith(loadCheckpoint(c), 'model-file-missing', ['model-00002-of-00002.safetensors']);
  });

  test('invalid config.json and unsupported architecture', async () => {
    const a = await tinyModelDir({}, 'a');
    writeFileSync(path.join(a, 'config.json'), '{"model_type": "t5",');
    await rejectsWith(loadCheckpoint(a), 'model-config-invalid', [path.join(a, 'config.json')]);
    const b = await tinyModelDir({}, 'b');
    const cfg = JSON.parse(readFileSync(path.join(b, 'config.json'), 'utf8'));
    writeFileSync(path.join(b, 'config.json'), JSON.stringify({ ...cfg, model_type: 'llama', architectures: ['LlamaForCausalLM'] }));
    await rejectsWith(loadCheckpoint(b), 'model-unsupported', [path.join(b, 'config.json'), 'llama']);
    writeFileSync(path.join(b, 'config.json'), JSON.stringify({ ...cfg, architectures: ['T5EncoderModel'] }));
    await rejectsWith(loadCheckpoint(b), 'model-unsupported', [path.join(b, 'config.json'), 'T5EncoderModel']);
  });

  test('truncated safetensors: inside the data, inside the header, shorter than the length prefix', async () => {
    const dir = await tinyModelDir({}, 'a');
    const file = path.join(dir, 'model.safetensors');
    const size = statSync(file).size;
    truncateSync(file, size - 10);
    await rejectsWith(loadCheckpoint(dir), 'safetensors-truncated', [file]);
    truncateSync(file, 100);
    await rejectsWith(loadCheckpoint(dir), 'safetensors-truncated', [file]);
    truncateSync(file, 5);
    await rejectsWith(loadCheckpoint(dir), 'safetensors-truncated', [file]);
  });

  test('corrupt header: bad JSON, absurd length, sizes and offsets that lie', async () => {
    const dir = await tinyModelDir({}, 'a');
    const file = path.join(dir, 'model.safetensors');
    const good = readFileSync(file);
    const n = Number(good.readBigUInt64LE(0));

    const badJson = Buffer.from(good);
    badJson.fill(0x7b, 8 + 1, 8 + 20); // '{{{{…' inside the header
    writeFileSync(file, badJson);
    await rejectsWith(loadCheckpoint(dir), 'safetensors-corrupt', [file, 'JSON']);

    const hugeLen = Buffer.from(good);
    hugeLen.writeBigUInt64LE(2n ** 60n, 0);
    writeFileSync(file, hugeLen);
    await rejectsWith(loadCheckpoint(dir), 'safetensors-corrupt', [file]);

    const cases: Array<[string, (h: Record<string, any>) => void, string]> = [
      ['shape larger than its bytes', (h) => (h['shared.weight'].shape = [301, 32]), 'shared.weight'],
      ['overlapping offsets', (h) => {
        const t = h['encoder.final_layer_norm.weight'];
        t.data_offsets = [t.data_offsets[0] - 4, t.data_offsets[1] - 4];
      }, 'overlaps'],
      ['offsets past the end', (h) => {
        const last = Object.values(h).filter((v: any) => v.data_offsets).sort((a: any, b: any) => b.data_offsets[1] - a.data_offsets[1])[0] as any;
        last.shape = [last.shape[0] + 2];
        last.data_offsets = [last.data_offsets[0], last.data_offsets[1] + 8];
      }, 'data section'],
      ['gap between tensors', (h) => {
        const last = Object.values(h).filter((v: any) => v.data_offsets).sort((a: any, b: any) => b.data_offsets[1] - a.data_offsets[1])[0] as any;
        last.shape = [last.shape[0] - 2];
        last.data_offsets = [last.data_offsets[0] + 8, last.data_offsets[1]];
      }, 'gap'],
      ['negative offset', (h) => (h['shared.weight'].data_offsets = [-4, 100]), 'data_offsets'],
      ['bytes not described', (h) => {
        delete h['decoder.final_layer_norm.weight'];
      }, 'not described'],
    ];
    for (const [what, edit, mention] of cases) {
      writeFileSync(file, good);
      rewriteHeader(file, edit);
      const err = await rejectsWith(loadCheckpoint(dir), what === 'offsets past the end' ? 'safetensors-truncated' : 'safetensors-corrupt', [file, mention]);
      assert.ok(err.file === file, what);
    }
    assert.ok(n > 0);
  });

  test('unknown and unsupported dtypes', async () => {
    const dir = await tinyModelDir({}, 'a');
    const file = path.join(dir, 'model.safetensors');
    const good = readFileSync(file);
    rewriteHeader(file, (h) => (h['shared.weight'].dtype = 'Q4_K'));
    await rejectsWith(loadCheckpoint(dir), 'safetensors-dtype', [file, 'Q4_K', 'shared.weight']);
    writeFileSync(file, good);
    rewriteHeader(file, (h) => (h['encoder.final_layer_norm.weight'].dtype = 'I32'));
    await rejectsWith(loadCheckpoint(dir), 'safetensors-dtype', [file, 'I32']);
  });

  test('missing weight and wrong shape name the file and the tensor', async () => {
    const dir = await tinyModelDir({ variant: 't5-v1.1' }, 'a');
    const file = path.join(dir, 'model.safetensors');
    const { tensors } = readSafetensors(file);
    const keep = [...tensors].filter(([name]) => name !== 'decoder.block.1.layer.1.EncDecAttention.v.weight');
    writeSafetensors(file, keep.map(([name, t]) => ({ name, shape: t.shape, data: t.data })), 'F32');
    await rejectsWith(loadCheckpoint(dir), 'model-weight-missing', [file, 'decoder.block.1.layer.1.EncDecAttention.v.weight']);

    writeSafetensors(file, [...tensors].filter(([n]) => n !== 'lm_head.weight').map(([name, t]) => ({ name, shape: t.shape, data: t.data })), 'F32');
    await rejectsWith(loadCheckpoint(dir), 'model-weight-missing', [file, 'lm_head.weight']);

    writeSafetensors(
      file,
      [...tensors].map(([name, t]) =>
        name === 'encoder.block.0.layer.1.DenseReluDense.wi_1.weight' ? { name, shape: [t.shape[1]!, t.shape[0]!], data: t.data } : { name, shape: t.shape, data: t.data },
      ),
      'F32',
    );
    await rejectsWith(loadCheckpoint(dir), 'model-weight-shape', [file, 'encoder.block.0.layer.1.DenseReluDense.wi_1.weight', '[32, 64]', '[64, 32]']);

    // A config that disagrees with the weights is a shape error too.
    writeSafetensors(file, [...tensors].map(([name, t]) => ({ name, shape: t.shape, data: t.data })), 'F32');
    const cfg = JSON.parse(readFileSync(path.join(dir, 'config.json'), 'utf8'));
    writeFileSync(path.join(dir, 'config.json'), JSON.stringify({ ...cfg, d_ff: 48 }));
    await rejectsWith(loadCheckpoint(dir), 'model-weight-shape', [file, 'DenseReluDense']);
  });

  test('sharded index that points at the wrong shard', async () => {
    const dir = await tinyModelDir({ shards: 2 }, 'a');
    const indexFile = path.join(dir, 'model.safetensors.index.json');
    const index = JSON.parse(readFileSync(indexFile, 'utf8'));
    const name = Object.keys(index.weight_map).find((k) => index.weight_map[k] === 'model-00001-of-00002.safetensors')!;
    index.weight_map[name] = 'model-00002-of-00002.safetensors';
    writeFileSync(indexFile, JSON.stringify(index));
    await rejectsWith(loadCheckpoint(dir), 'safetensors-corrupt', ['model-00001-of-00002.safetensors', name]);
    writeFileSync(indexFile, '{"weight_map": 3}');
    await rejectsWith(loadCheckpoint(dir), 'safetensors-corrupt', [indexFile]);
  });
});
