import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { expectedWeightShapes } from '../engine/checkpoint/weights';
import { writeSafetensors, type SafetensorsDtype, type TensorToWrite } from '../engine/checkpoint/safetensors';
import type { T5Config } from '../engine/checkpoint/types';
import { englishPieces, META, pieceScore } from './tiny-vocab';

export interface TinyT5Options {
  out: string;
  variant?: 't5' | 't5-v1.1';
  dModel?: number;
  dKv?: number;
  dFf?: number;
  layers?: number;
  /** Defaults to `layers`; omitted from config.json when equal (as in v1.0 configs) unless `writeDecoderLayers`. */
  decoderLayers?: number;
  heads?: number;
  buckets?: number;
  maxDistance?: number;
  /** Embedding rows; may exceed the tokenizer's piece count (real T5 pads 32100 pieces to 32128). */
  vocab?: number;
  dtype?: SafetensorsDtype;
  shards?: number;
  seed?: number;
  /**
   * How tied embeddings are stored: 'shared' (only shared.weight, as recent saves do), 'all' (shared plus
   * encoder/decoder embed_tokens copies), 'encoder' (only encoder.embed_tokens.weight).
   */
  embeddings?: 'shared' | 'all' | 'encoder';
  /** Std of the relative attention bias tables (T5's own init would be d_model^-0.5; larger makes positions visible). */
  biasStd?: number;
}

/** mulberry32: a small seeded PRNG, with a Box–Muller normal and integers in [lo, hi). */
export function seededRandom(seed: number) {
  let a = seed >>> 0;
  const uniform = () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const normal = () => Math.sqrt(-2 * Math.log(1 - uniform())) * Math.cos(2 * Math.PI * uniform());
  return { uniform, normal, int: (lo: number, hi: number) => lo + Math.floor(uniform() * (hi - lo)) };
}

export function tinyConfigFor(o: TinyT5Options): T5Config {
  const variant = o.variant ?? 't5';
  const gated = variant === 't5-v1.1';
  return {
    variant,
    vocabSize: o.vocab ?? 300,
    dModel: o.dModel ?? 32,
    dKv: o.dKv ?? 8,
    dFf: o.dFf ?? 64,
    numLayers: o.layers ?? 2,
    numDecoderLayers: o.decoderLayers ?? o.layers ?? 2,
    numHeads: o.heads ?? 4,
    relativeAttentionNumBuckets: o.buckets ?? 32,
    relativeAttentionMaxDistance: o.maxDistance ?? 128,
    denseAct: gated ? 'gelu_new' : 'relu',
    isGatedAct: gated,
    tieWordEmbeddings: !gated,
    layerNormEpsilon: 1e-6,
    decoderStartTokenId: 0,
    eosTokenId: 1,
    padTokenId: 0,
  };
}

/** Hugging Face's config.json for `c`, with the fields transformers writes for T5. */
export function hfConfigJson(c: T5Config, dtype: SafetensorsDtype): Record<string, unknown> {
  return {
    architectures: ['T5ForConditionalGeneration'],
    classifier_dropout: 0.0,
    d_ff: c.dFf,
    d_kv: c.dKv,
    d_model: c.dModel,
    decoder_start_token_id: c.decoderStartTokenId,
    dense_act_fn: c.denseAct,
    dropout_rate: 0.1,
    eos_token_id: c.eosTokenId,
    feed_forward_proj: c.isGatedAct ? `gated-${c.denseAct === 'gelu_new' ? 'gelu' : c.denseAct}` : c.denseAct,
    initializer_factor: 1.0,
    is_encoder_decoder: true,
    is_gated_act: c.isGatedAct,
    layer_norm_epsilon: c.layerNormEpsilon,
    model_type: 't5',
    num_decoder_layers: c.numDecoderLayers,
    num_heads: c.numHeads,
    num_layers: c.numLayers,
    pad_token_id: c.padTokenId,
    relative_attention_max_distance: c.relativeAttentionMaxDistance,
    relative_attention_num_buckets: c.relativeAttentionNumBuckets,
    tie_word_embeddings: c.tieWordEmbeddings,
    torch_dtype: { F32: 'float32', F16: 'float16', BF16: 'bfloat16' }[dtype],
    transformers_version: '4.46.0',
    use_cache: true,
    vocab_size: c.vocabSize,
  };
}

/** Random weights with T5-like scales: activations stay O(1) through the stack. */
export function tinyWeights(c: T5Config, seed: number, biasStd = 1): TensorToWrite[] {
  const r = seededRandom(seed);
  const { dModel: d, dKv, numHeads, dFf } = c;
  const stdFor = (name: string): { std: number; mean: number } => {
    if (name.endsWith('layer_norm.weight')) return { std: 0.1, mean: 1 };
    if (name === 'shared.weight') return { std: 1, mean: 0 };
    if (name === 'lm_head.weight') return { std: d ** -0.5, mean: 0 };
    if (name.endsWith('relative_attention_bias.weight')) return { std: biasStd, mean: 0 };
    if (name.endsWith('.q.weight')) return { std: (d * dKv) ** -0.5, mean: 0 };
    if (name.endsWith('.k.weight') || name.endsWith('.v.weight')) return { std: d ** -0.5, mean: 0 };
    if (name.endsWith('.o.weight')) return { std: (numHeads * dKv) ** -0.5, mean: 0 };
    if (name.endsWith('.wo.weight')) return { std: dFf ** -0.5, mean: 0 };
    return { std: d ** -0.5, mean: 0 }; // wi, wi_0, wi_1
  };
  const out: TensorToWrite[] = [];
  for (const [name, shape] of expectedWeightShapes(c)) {
    const { std, mean } = stdFor(name);
    const data = new Float32Array(shape.reduce((a, b) => a * b, 1));
    for (let i = 0; i < data.length; i++) data[i] = mean + std * r.normal();
    out.push({ name, shape, data });
  }
  return out;
}

export const T5_SPECIALS = ['<pad>', '</s>', '<unk>'];

/** A T5-style tokenizer.json: Unigram, <pad>=0 </s>=1 <unk>=2, Metaspace, "$A </s>" template; `pieces` follow the specials. */
export function t5UnigramTokenizerJson(pieces: Array<[string, number]>): Record<string, unknown> {
  const vocab: Array<[string, number]> = [...T5_SPECIALS.map((s): [string, number] => [s, 0.0]), ...pieces];
  return {
    version: '1.0',
    truncation: null,
    padding: null,
    added_tokens: T5_SPECIALS.map((content, id) => ({ id, content, single_word: false, lstrip: false, rstrip: false, normalized: false, special: true })),
    normalizer: null,
    pre_tokenizer: {
      type: 'Sequence',
      pretokenizers: [{ type: 'WhitespaceSplit' }, { type: 'Metaspace', replacement: META, prepend_scheme: 'always', split: true }],
    },
    post_processor: {
      type: 'TemplateProcessing',
      single: [{ Sequence: { id: 'A', type_id: 0 } }, { SpecialToken: { id: '</s>', type_id: 0 } }],
      pair: [
        { Sequence: { id: 'A', type_id: 0 } },
        { SpecialToken: { id: '</s>', type_id: 0 } },
        { Sequence: { id: 'B', type_id: 0 } },
        { SpecialToken: { id: '</s>', type_id: 0 } },
      ],
      special_tokens: { '</s>': { id: '</s>', ids: [1], tokens: ['</s>'] } },
    },
    decoder: { type: 'Metaspace', replacement: META, prepend_scheme: 'always', split: true },
    model: { type: 'Unigram', unk_id: 2, vocab, byte_fallback: false },
  };
}

/** The tiny test tokenizer: English pieces from tiny-vocab, at most `maxPieces` entries with the specials. */
export function tinyTokenizerJson(maxPieces: number): Record<string, unknown> {
  const pieces = englishPieces().slice(0, Math.max(0, maxPieces - T5_SPECIALS.length));
  return t5UnigramTokenizerJson(pieces.map((p, i): [string, number] => [p, pieceScore(p, i)]));
}

function shardTensors(tensors: TensorToWrite[], shards: number): TensorToWrite[][] {
  const total = tensors.reduce((a, t) => a + t.data.length, 0);
  const groups: TensorToWrite[][] = Array.from({ length: shards }, () => []);
  let acc = 0;
  for (const t of tensors) {
    const g = Math.min(shards - 1, Math.floor((acc / total) * shards));
    groups[g]!.push(t);
    acc += t.data.length;
  }
  // Every shard must hold something; move tensors from the largest group if needed.
  for (const g of groups) {
    if (g.length === 0) {
      const donor = groups.reduce((a, b) => (b.length > a.length ? b : a));
      g.push(donor.pop()!);
    }
  }
  return groups;
}

/** Writes a complete tiny Hugging Face T5 folder into `options.out` and returns its path. */
export async function makeTinyT5(options: TinyT5Options): Promise<string> {
  const out = path.resolve(options.out);
  const dtype = options.dtype ?? 'F32';
  const shards = options.shards ?? 1;
  const config = tinyConfigFor(options);
  const pieceBudget = config.vocabSize;
  if (pieceBudget < 100) throw new Error(`vocab ${pieceBudget} is too small for an English tokenizer (need at least 100)`);
  mkdirSync(out, { recursive: true });
  const json = (name: string, value: unknown) => writeFileSync(path.join(out, name), JSON.stringify(value, null, 2) + '\n');

  json('config.json', hfConfigJson(config, dtype));
  json('generation_config.json', {
    decoder_start_token_id: config.decoderStartTokenId,
    eos_token_id: config.eosTokenId,
    pad_token_id: config.padTokenId,
    transformers_version: '4.46.0',
  });
  json('tokenizer.json', tinyTokenizerJson(pieceBudget));
  json('special_tokens_map.json', { eos_token: '</s>', pad_token: '<pad>', unk_token: '<unk>' });
  json('tokenizer_config.json', {
    added_tokens_decoder: Object.fromEntries(
      ['<pad>', '</s>', '<unk>'].map((content, id) => [
        String(id),
        { content, lstrip: false, normalized: false, rstrip: false, single_word: false, special: true },
      ]),
    ),
    additional_special_tokens: [],
    clean_up_tokenization_spaces: false,
    eos_token: '</s>',
    extra_ids: 0,
    model_max_length: 512,
    pad_token: '<pad>',
    tokenizer_class: 'T5Tokenizer',
    unk_token: '<unk>',
  });

  let tensors = tinyWeights(config, options.seed ?? 1, options.biasStd ?? 1);
  if (config.tieWordEmbeddings && options.embeddings && options.embeddings !== 'shared') {
    const shared = tensors.find((t) => t.name === 'shared.weight')!;
    const enc = { ...shared, name: 'encoder.embed_tokens.weight' };
    const dec = { ...shared, name: 'decoder.embed_tokens.weight' };
    tensors = options.embeddings === 'all' ? [...tensors, enc, dec] : [enc, ...tensors.filter((t) => t !== shared)];
  }

  if (shards <= 1) {
    writeSafetensors(path.join(out, 'model.safetensors'), tensors, dtype);
  } else {
    const groups = shardTensors(tensors, shards);
    const weightMap: Record<string, string> = {};
    const pad = (n: number) => String(n).padStart(5, '0');
    let totalSize = 0;
    groups.forEach((group, i) => {
      const file = `model-${pad(i + 1)}-of-${pad(shards)}.safetensors`;
      writeSafetensors(path.join(out, file), group, dtype);
      for (const t of group) {
        weightMap[t.name] = file;
        totalSize += t.data.length * (dtype === 'F32' ? 4 : 2);
      }
    });
    json('model.safetensors.index.json', { metadata: { total_size: totalSize }, weight_map: weightMap });
  }
  return out;
}

function parseArgs(argv: string[]): TinyT5Options {
  const opts: Record<string, string> = {};
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (!a.startsWith('--')) throw new Error(`unexpected argument ${a}`);
    const value = argv[i + 1];
    if (value === undefined || value.startsWith('--')) throw new Error(`${a} needs a value`);
    opts[a.slice(2)] = value;
    i++;
  }
  const int = (k: string): number | undefined => {
    if (opts[k] === undefined) return undefined;
    const n = Number(opts[k]);
    if (!Number.isInteger(n) || n <= 0) throw new Error(`--${k} must be a positive integer`);
    return n;
  };
  if (!opts.out) throw new Error('--out DIR is required');
  const variant = opts.variant ?? 't5';
  if (variant !== 't5' && variant !== 't5-v1.1') throw new Error('--variant must be t5 or t5-v1.1');
  const dtype = (opts.dtype ?? 'F32').toUpperCase();
  if (dtype !== 'F32' && dtype !== 'F16' && dtype !== 'BF16') throw new Error('--dtype must be F32, F16 or BF16');
  const known = ['out', 'variant', 'd-model', 'd-kv', 'd-ff', 'layers', 'decoder-layers', 'heads', 'buckets', 'max-distance', 'vocab', 'dtype', 'shards', 'seed'];
  const unknown = Object.keys(opts).find((k) => !known.includes(k));
  if (unknown) throw new Error(`unknown option --${unknown}`);
  return {
    out: opts.out,
    variant,
    dModel: int('d-model'),
    dKv: int('d-kv'),
    dFf: int('d-ff'),
    layers: int('layers'),
    decoderLayers: int('decoder-layers'),
    heads: int('heads'),
    buckets: int('buckets'),
    maxDistance: int('max-distance'),
    vocab: int('vocab'),
    dtype,
    shards: int('shards'),
    seed: opts.seed === undefined ? undefined : Number(opts.seed),
  };
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  try {
    const dir = await makeTinyT5(parseArgs(process.argv.slice(2)));
    console.log(dir);
  } catch (e) {
    console.error(`make-tiny-t5: ${(e as Error).message}`);
    process.exit(2);
  }
}
