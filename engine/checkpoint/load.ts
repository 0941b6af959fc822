import { createHash } from 'node:crypto';
import { existsSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { LongreadError } from '../../common/errors';
import { readT5Config } from './config';
import { readSafetensors, type SafetensorsDtype } from './safetensors';
import { readTorchBin } from './torch-pickle';
import { expectedWeightShapes } from './weights';
import type { Checkpoint, F32Tensor } from './types';

const SAFETENSORS = { single: 'model.safetensors', index: 'model.safetensors.index.json' };
const TORCH = { single: 'pytorch_model.bin', index: 'pytorch_model.bin.index.json' };

export type WeightFormat = 'safetensors' | 'torch';

export interface WeightFiles {
  format: WeightFormat;
  /** In hashing order. */
  files: string[];
  /** Tensor → shard file name, when sharded. */
  weightMap?: Map<string, string>;
  indexFile?: string;
}

/**
 * The weight files of a model folder and the tensor → file map when sharded. safetensors wins
 * over PyTorch's pytorch_model.bin when a folder has both, as in transformers.
 */
export function listWeightFiles(dir: string): WeightFiles {
  for (const [format, names] of [['safetensors', SAFETENSORS], ['torch', TORCH]] as const) {
    const indexFile = path.join(dir, names.index);
    if (existsSync(indexFile)) return { format, ...readIndex(dir, indexFile, format) };
    const single = path.join(dir, names.single);
    if (existsSync(single)) return { format, files: [single] };
  }
  throw new LongreadError(
    'model-file-missing',
    `${path.join(dir, SAFETENSORS.single)} is missing (and there is no ${SAFETENSORS.index}, ${TORCH.single} or ${TORCH.index} either)`,
    { file: path.join(dir, SAFETENSORS.single) },
  );
}

function readIndex(dir: string, indexFile: string, format: WeightFormat): { files: string[]; weightMap: Map<string, string>; indexFile: string } {
  const code = format === 'safetensors' ? 'safetensors-corrupt' : 'torch-bin-corrupt';
  let json: unknown;
  try {
    json = JSON.parse(readFileSync(indexFile, 'utf8'));
  } catch (e) {
    throw new LongreadError(code, `${indexFile} is not valid JSON: ${(e as Error).message}`, { file: indexFile, cause: e });
  }
  const map = (json as { weight_map?: unknown } | null)?.weight_map;
  if (map === null || typeof map !== 'object' || Array.isArray(map)) {
    throw new LongreadError(code, `${indexFile} has no "weight_map" object`, { file: indexFile });
  }
  const weightMap = new Map<string, string>();
  for (const [name, shard] of Object.entries(map as Record<string, unknown>)) {
    if (typeof shard !== 'string' || shard.includes('/') || shard.includes('\\') || shard.startsWith('.')) {
      throw new LongreadError(code, `${indexFile}: tensor "${name}" maps to an invalid shard name ${JSON.stringify(shard)}`, { file: indexFile });
    }
    weightMap.set(name, shard);
  }
  const files = [...new Set(weightMap.values())].sort().map((f) => path.join(dir, f));
  for (const f of files) {
    if (!existsSync(f)) throw new LongreadError('model-file-missing', `weights shard ${f} listed in ${indexFile} is missing`, { file: f });
  }
  return { files, weightMap, indexFile };
}

/**
 * Loads a Hugging Face T5 / Flan-T5 folder: config.json plus safetensors or PyTorch weights (single or sharded),
 * converted to float32 and checked against the architecture.
 *
 * Tied embeddings are normalized: `shared.weight` is always present (taken from
 * `encoder.embed_tokens.weight` if it is the only copy); the per-stack `embed_tokens` copies are
 * dropped; `lm_head.weight` is present exactly when the embeddings are untied.
 */
export async function loadCheckpoint(dir: string): Promise<Checkpoint> {
  const abs = path.resolve(dir);
  let isDir = false;
  try {
    isDir = statSync(abs).isDirectory();
  } catch {
    isDir = false;
  }
  if (!isDir) throw new LongreadError('model-not-found', `model folder ${abs} does not exist or is not a folder`, { file: abs });

  const { config, bytes: configBytes, encoderOnly, file: configFile, generation } = readT5Config(abs);
  if (encoderOnly) {
    throw new LongreadError('model-unsupported', `${configFile}: T5EncoderModel checkpoints have no decoder and cannot generate text`, { file: configFile });
  }
  const { format, files, weightMap, indexFile } = listWeightFiles(abs);
  const corruptCode = format === 'safetensors' ? 'safetensors-corrupt' : 'torch-bin-corrupt';

  const hash = createHash('sha256');
  hash.update(configBytes);
  const weights = new Map<string, F32Tensor>();
  const dtypeCounts = new Map<SafetensorsDtype, number>();
  const sourceOf = new Map<string, string>();
  for (const file of files) {
    const onBytes = (b: Uint8Array) => hash.update(b);
    const { tensors, dtypes } = format === 'safetensors' ? readSafetensors(file, { onBytes }) : await readTorchBin(file, { onBytes });
    for (const [name, t] of tensors) {
      const earlier = sourceOf.get(name);
      if (earlier !== undefined) {
        throw new LongreadError(corruptCode, `tensor "${name}" appears in both ${earlier} and ${file}`, { file });
      }
      if (weightMap && weightMap.get(name) !== path.basename(file)) {
        throw new LongreadError(corruptCode, `${file} holds tensor "${name}", which ${indexFile} does not assign to it`, { file });
      }
      sourceOf.set(name, file);
      weights.set(name, t);
      const dt = dtypes.get(name)!;
      dtypeCounts.set(dt, (dtypeCounts.get(dt) ?? 0) + t.data.length);
    }
    // Let other work (UI, progress) run between multi-hundred-MB shards.
    await new Promise((r) => setImmediate(r));
  }
  if (weightMap) {
    for (const [name, shard] of weightMap) {
      if (!weights.has(name)) {
        const file = path.join(abs, shard);
        throw new LongreadError('model-weight-missing', `${indexFile} lists tensor "${name}" in ${file}, but that file does not contain it`, { file });
      }
    }
  }
  const weightsFile = indexFile ?? files[0]!;

  normalizeEmbeddings(weights, config.tieWordEmbeddings, weightsFile);

  const expected = expectedWeightShapes(config);
  for (const [name, shape] of expected) {
    const t = weights.get(name);
    if (!t) {
      throw new LongreadError('model-weight-missing', `${weightsFile} has no tensor "${name}", which a ${config.variant} model with this config.json needs`, {
        file: weightsFile,
      });
    }
    if (t.shape.length !== shape.length || t.shape.some((s, i) => s !== shape[i])) {
      throw new LongreadError(
        'model-weight-shape',
        `${weightsFile}: tensor "${name}" has shape [${t.shape.join(', ')}] but config.json implies [${shape.join(', ')}]`,
        { file: weightsFile },
      );
    }
  }

  let storedDtype: SafetensorsDtype = 'F32';
  let most = -1;
  for (const [dt, n] of dtypeCounts) if (n > most) [storedDtype, most] = [dt, n];
  const defaults = { ...(generation.maxNewTokens !== undefined ? { maxNewTokens: generation.maxNewTokens } : {}), ...(generation.numBeams !== undefined ? { numBeams: generation.numBeams } : {}) };
  return { dir: abs, config, weights, hash: hash.digest('hex'), storedDtype, generation: defaults };
}

function normalizeEmbeddings(weights: Map<string, F32Tensor>, tied: boolean, file: string): void {
  if (!weights.has('shared.weight')) {
    const copy = weights.get('encoder.embed_tokens.weight') ?? weights.get('decoder.embed_tokens.weight');
    if (copy) weights.set('shared.weight', copy);
    else if (tied && weights.has('lm_head.weight')) weights.set('shared.weight', weights.get('lm_head.weight')!);
  }
  // transformers ties encoder/decoder embed_tokens to shared; a separate copy would be ignored there too.
  weights.delete('encoder.embed_tokens.weight');
  weights.delete('decoder.embed_tokens.weight');
  if (tied) weights.delete('lm_head.weight');
  else if (!weights.has('lm_head.weight')) {
    throw new LongreadError('model-weight-missing', `${file} has no tensor "lm_head.weight", which a model with tie_word_embeddings false needs`, { file });
  }
}
