import { readFileSync } from 'node:fs';
import path from 'node:path';
import { z } from 'zod';
import { LongreadError } from '../../common/errors';
import type { T5Config } from './types';

/** Architectures whose weights follow T5ForConditionalGeneration's names (T5WithLMHeadModel is its old name). */
const GENERATIVE_ARCHITECTURES = new Set(['T5ForConditionalGeneration', 'T5WithLMHeadModel', 'T5Model']);
const ENCODER_ARCHITECTURES = new Set(['T5EncoderModel']);
const SUPPORTED_ACTS = new Set(['relu', 'gelu_new', 'gelu', 'silu']);
/** transformers' ACT2FN names for the same functions: PytorchGELUTanh is gelu_new's formula, swish is SiLU. */
const ACT_ALIASES: Record<string, string> = { gelu_pytorch_tanh: 'gelu_new', swish: 'silu' };

/**
 * Upper bounds on the sizes config.json may ask for. Real T5 checkpoints sit far below them
 * (t5-11b: 24 layers, d_model 1024, d_ff 65536, 128 heads; mT5: vocab 250112); a config past them
 * is a mistake or an attack, and would otherwise make every place that reads the config build
 * huge shape tables.
 */
export const CONFIG_LIMITS = {
  vocab_size: 1_000_000,
  d_model: 16_384,
  d_kv: 4_096,
  d_ff: 131_072,
  num_layers: 256,
  num_decoder_layers: 256,
  num_heads: 256,
  relative_attention_num_buckets: 1_024,
  relative_attention_max_distance: 1_048_576,
} as const;
/** One weight matrix is one Float32Array; past 2^31 - 1 elements (8 GiB) it is no model Longread can run. */
const MAX_TENSOR_ELEMENTS = 2 ** 31 - 1;

const size = (field: keyof typeof CONFIG_LIMITS) => z.number().int().positive().max(CONFIG_LIMITS[field]);
const tokenId = z.number().int().nonnegative().max(CONFIG_LIMITS.vocab_size);

/** The config.json fields we read, with transformers' T5Config defaults; unknown fields pass through. */
const configSchema = z
  .object({
    model_type: z.string().optional(),
    architectures: z.array(z.string()).max(16).optional(),
    vocab_size: size('vocab_size').default(32128),
    d_model: size('d_model').default(512),
    d_kv: size('d_kv').default(64),
    d_ff: size('d_ff').default(2048),
    num_layers: size('num_layers').default(6),
    num_decoder_layers: size('num_decoder_layers').nullable().optional(),
    num_heads: size('num_heads').default(8),
    relative_attention_num_buckets: size('relative_attention_num_buckets').default(32),
    relative_attention_max_distance: size('relative_attention_max_distance').default(128),
    layer_norm_epsilon: z.number().positive().max(1).default(1e-6),
    feed_forward_proj: z.string().max(64).default('relu'),
    dense_act_fn: z.string().max(64).optional(),
    is_gated_act: z.boolean().optional(),
    tie_word_embeddings: z.boolean().default(true),
    decoder_start_token_id: tokenId.nullable().optional(),
    eos_token_id: z.union([tokenId, z.array(tokenId).nonempty().max(64)]).default(1),
    pad_token_id: tokenId.default(0),
  })
  .loose();

export type RawT5Config = z.infer<typeof configSchema>;

/** Extra facts about a config that the engine's T5Config does not carry. */
export interface ConfigInfo {
  config: T5Config;
  /** True for T5EncoderModel checkpoints: no decoder, cannot generate. */
  encoderOnly: boolean;
  architectures: string[];
}

/**
 * Parses config.json text into a T5Config, following transformers' T5Config:
 * `feed_forward_proj` is `ACT` or `gated-ACT`; "gated-gelu" means gelu_new (tanh approximation);
 * explicit `dense_act_fn` / `is_gated_act` keys in the file win, because transformers' PretrainedConfig
 * sets leftover keys after T5Config derived them.
 */
export function parseT5Config(text: string, file = 'config.json'): ConfigInfo {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (e) {
    throw new LongreadError('model-config-invalid', `${file} is not valid JSON: ${(e as Error).message}`, { file, cause: e });
  }
  if (json === null || typeof json !== 'object' || Array.isArray(json)) {
    throw new LongreadError('model-config-invalid', `${file} must hold a JSON object`, { file });
  }
  const parsed = configSchema.safeParse(json);
  if (!parsed.success) {
    const issues = parsed.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`).join('; ');
    throw new LongreadError('model-config-invalid', `${file} has invalid fields: ${issues}`, { file });
  }
  const raw = parsed.data;

  if (raw.model_type !== 't5') {
    throw new LongreadError(
      'model-unsupported',
      `${file}: model_type is ${JSON.stringify(raw.model_type ?? null)}; Longread runs T5 / Flan-T5 checkpoints (model_type "t5")`,
      { file },
    );
  }
  const architectures = raw.architectures ?? ['T5ForConditionalGeneration'];
  const unknownArch = architectures.find((a) => !GENERATIVE_ARCHITECTURES.has(a) && !ENCODER_ARCHITECTURES.has(a));
  if (unknownArch !== undefined || architectures.length === 0) {
    throw new LongreadError(
      'model-unsupported',
      `${file}: architecture ${JSON.stringify(unknownArch ?? '(none)')} is not supported; expected T5ForConditionalGeneration or T5EncoderModel`,
      { file },
    );
  }
  const encoderOnly = architectures.every((a) => ENCODER_ARCHITECTURES.has(a));

  const actInfo = raw.feed_forward_proj.split('-');
  if ((actInfo.length > 1 && actInfo[0] !== 'gated') || actInfo.length > 2) {
    throw new LongreadError(
      'model-unsupported',
      `${file}: feed_forward_proj ${JSON.stringify(raw.feed_forward_proj)} is not of the form "ACT" or "gated-ACT"`,
      { file },
    );
  }
  let denseAct = actInfo[actInfo.length - 1]!;
  let isGatedAct = actInfo[0] === 'gated';
  if (raw.feed_forward_proj === 'gated-gelu') denseAct = 'gelu_new';
  if (raw.dense_act_fn !== undefined) denseAct = raw.dense_act_fn;
  if (raw.is_gated_act !== undefined) isGatedAct = raw.is_gated_act;
  denseAct = ACT_ALIASES[denseAct] ?? denseAct;
  if (!SUPPORTED_ACTS.has(denseAct)) {
    throw new LongreadError(
      'model-unsupported',
      `${file}: feed-forward activation ${JSON.stringify(denseAct)} (feed_forward_proj ${JSON.stringify(raw.feed_forward_proj)}) is not supported; expected one of ${[...SUPPORTED_ACTS].join(', ')}`,
      { file },
    );
  }
  if (raw.relative_attention_num_buckets < 4) {
    throw new LongreadError('model-config-invalid', `${file}: relative_attention_num_buckets must be at least 4`, { file });
  }
  const matrices: Array<[string, number]> = [
    ['vocab_size × d_model', raw.vocab_size * raw.d_model],
    ['d_ff × d_model', raw.d_ff * raw.d_model],
    ['num_heads × d_kv × d_model', raw.num_heads * raw.d_kv * raw.d_model],
  ];
  for (const [what, n] of matrices) {
    if (n > MAX_TENSOR_ELEMENTS) {
      throw new LongreadError('model-config-invalid', `${file}: ${what} is ${n} weights in one matrix, more than the ${MAX_TENSOR_ELEMENTS} Longread can hold`, { file });
    }
  }

  const eos = Array.isArray(raw.eos_token_id) ? raw.eos_token_id[0]! : raw.eos_token_id;
  const ids: Array<[string, number]> = [
    ['eos_token_id', eos],
    ['pad_token_id', raw.pad_token_id],
  ];
  const decoderStartTokenId = raw.decoder_start_token_id ?? raw.pad_token_id;
  ids.push(['decoder_start_token_id', decoderStartTokenId]);
  for (const [name, id] of ids) {
    if (id >= raw.vocab_size) {
      throw new LongreadError('model-config-invalid', `${file}: ${name} ${id} is outside vocab_size ${raw.vocab_size}`, { file });
    }
  }

  const config: T5Config = {
    variant: isGatedAct ? 't5-v1.1' : 't5',
    vocabSize: raw.vocab_size,
    dModel: raw.d_model,
    dKv: raw.d_kv,
    dFf: raw.d_ff,
    numLayers: raw.num_layers,
    numDecoderLayers: raw.num_decoder_layers ?? raw.num_layers,
    numHeads: raw.num_heads,
    relativeAttentionNumBuckets: raw.relative_attention_num_buckets,
    relativeAttentionMaxDistance: raw.relative_attention_max_distance,
    denseAct: denseAct as T5Config['denseAct'],
    isGatedAct,
    tieWordEmbeddings: raw.tie_word_embeddings,
    layerNormEpsilon: raw.layer_norm_epsilon,
    decoderStartTokenId,
    eosTokenId: eos,
    padTokenId: raw.pad_token_id,
  };
  return { config, encoderOnly, architectures };
}

/** Bounds on generation_config.json's lengths and beams (our beam search keeps 2·beams candidates per step). */
export const GENERATION_LIMITS = { max_new_tokens: 65_536, max_length: 65_537, num_beams: 64 } as const;

const generationSchema = z
  .object({
    decoder_start_token_id: tokenId.nullable().optional(),
    eos_token_id: z.union([tokenId, z.array(tokenId).nonempty().max(64)]).nullable().optional(),
    pad_token_id: tokenId.nullable().optional(),
    max_new_tokens: z.number().int().positive().max(GENERATION_LIMITS.max_new_tokens).nullable().optional(),
    max_length: z.number().int().positive().max(GENERATION_LIMITS.max_length).nullable().optional(),
    num_beams: z.number().int().positive().max(GENERATION_LIMITS.num_beams).nullable().optional(),
  })
  .loose();

/** What generation_config.json sets: the token ids override config.json's (as in transformers), the rest are defaults. */
export interface GenerationConfig {
  decoderStartTokenId?: number;
  eosTokenId?: number;
  padTokenId?: number;
  /** max_new_tokens, else max_length − 1 (transformers counts the decoder start token in max_length). */
  maxNewTokens?: number;
  numBeams?: number;
}

/**
 * Parses generation_config.json. Only the first of several eos_token_id values is used (the decoder
 * stops at one end token); sampling settings are ignored (Longread decodes greedily or by beams).
 */
export function parseGenerationConfig(text: string, file: string, vocabSize: number): GenerationConfig {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (e) {
    throw new LongreadError('model-config-invalid', `${file} is not valid JSON: ${(e as Error).message}`, { file, cause: e });
  }
  if (json === null || typeof json !== 'object' || Array.isArray(json)) throw new LongreadError('model-config-invalid', `${file} must hold a JSON object`, { file });
  const parsed = generationSchema.safeParse(json);
  if (!parsed.success) {
    const issues = parsed.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`).join('; ');
    throw new LongreadError('model-config-invalid', `${file} has invalid fields: ${issues}`, { file });
  }
  const g = parsed.data;
  const out: GenerationConfig = {};
  const eos = Array.isArray(g.eos_token_id) ? g.eos_token_id[0] : g.eos_token_id;
  for (const [name, id, key] of [
    ['decoder_start_token_id', g.decoder_start_token_id, 'decoderStartTokenId'],
    ['eos_token_id', eos, 'eosTokenId'],
    ['pad_token_id', g.pad_token_id, 'padTokenId'],
  ] as const) {
    if (id === null || id === undefined) continue;
    if (id >= vocabSize) throw new LongreadError('model-config-invalid', `${file}: ${name} ${id} is outside vocab_size ${vocabSize}`, { file });
    out[key] = id;
  }
  if (g.max_new_tokens != null) out.maxNewTokens = g.max_new_tokens;
  else if (g.max_length != null) {
    if (g.max_length < 2) throw new LongreadError('model-config-invalid', `${file}: max_length ${g.max_length} leaves no room for a generated token`, { file });
    out.maxNewTokens = g.max_length - 1;
  }
  if (g.num_beams != null) out.numBeams = g.num_beams;
  return out;
}

/**
 * Reads and parses `dir/config.json`, with generation_config.json's token ids applied when that file
 * exists; returns config.json's raw bytes too (they are part of the checkpoint hash).
 */
export function readT5Config(dir: string): ConfigInfo & { bytes: Buffer; file: string; generation: GenerationConfig } {
  const file = path.join(dir, 'config.json');
  let bytes: Buffer;
  try {
    bytes = readFileSync(file);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw new LongreadError(
      'model-file-missing',
      code === 'ENOENT' ? `${file} is missing: a Hugging Face model folder needs config.json` : `cannot read ${file}: ${(e as Error).message}`,
      { file, cause: e },
    );
  }
  const info = parseT5Config(bytes.toString('utf8'), file);
  const generationFile = path.join(dir, 'generation_config.json');
  let generation: GenerationConfig = {};
  let text: string | null = null;
  try {
    text = readFileSync(generationFile, 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'ENOENT') {
      throw new LongreadError('model-file-missing', `cannot read ${generationFile}: ${(e as Error).message}`, { file: generationFile, cause: e });
    }
  }
  if (text !== null) {
    generation = parseGenerationConfig(text, generationFile, info.config.vocabSize);
    const { decoderStartTokenId, eosTokenId, padTokenId } = generation;
    info.config = {
      ...info.config,
      ...(decoderStartTokenId !== undefined ? { decoderStartTokenId } : {}),
      ...(eosTokenId !== undefined ? { eosTokenId } : {}),
      ...(padTokenId !== undefined ? { padTokenId } : {}),
    };
  }
  return { ...info, bytes, file, generation };
}
