import os from 'node:os';
import path from 'node:path';
import { mkdtempSync } from 'node:fs';
import { createHash } from 'node:crypto';
import type { Checkpoint, F32Tensor, T5Config } from '../../engine/checkpoint/types';

import { seededRandom as rng } from '../../scripts/make-tiny-t5';

export { rng };

export function tinyConfig(overrides: Partial<T5Config> = {}): T5Config {
  return {
    variant: 't5',
    vocabSize: 64,
    dModel: 32,
    dKv: 8,
    dFf: 48,
    numLayers: 2,
    numDecoderLayers: 2,
    numHeads: 4,
    relativeAttentionNumBuckets: 32,
    relativeAttentionMaxDistance: 128,
    denseAct: 'relu',
    isGatedAct: false,
    tieWordEmbeddings: true,
    layerNormEpsilon: 1e-6,
    decoderStartTokenId: 0,
    eosTokenId: 1,
    padTokenId: 0,
    ...overrides,
  };
}

/**
 * An in-memory random checkpoint with the Hugging Face tensor names. Its `dir` (where graphs are
 * cached) is `dir` when given, else a fresh temp folder.
 */
export function randomCheckpoint(config: T5Config, seed = 1, dir?: string): Checkpoint {
  const r = rng(seed);
  const weights = new Map<string, F32Tensor>();
  const add = (name: string, shape: number[], std: number, mean = 0) => {
    const data = new Float32Array(shape.reduce((a, b) => a * b, 1));
    for (let i = 0; i < data.length; i++) data[i] = mean + std * r.normal();
    weights.set(name, { shape, data });
  };
  const { dModel: d, dKv: dk, numHeads: H, dFf: ff } = config;
  const inner = H * dk;
  add('shared.weight', [config.vocabSize, d], 1);
  const attention = (p: string, bias: boolean) => {
    add(`${p}.q.weight`, [inner, d], (d * dk) ** -0.5);
    add(`${p}.k.weight`, [inner, d], d ** -0.5);
    add(`${p}.v.weight`, [inner, d], d ** -0.5);
    add(`${p}.o.weight`, [d, inner], inner ** -0.5);
    if (bias) add(`${p}.relative_attention_bias.weight`, [config.relativeAttentionNumBuckets, H], 1);
  };
  const ffn = (p: string) => {
    if (config.isGatedAct) {
      add(`${p}.DenseReluDense.wi_0.weight`, [ff, d], d ** -0.5);
      add(`${p}.DenseReluDense.wi_1.weight`, [ff, d], d ** -0.5);
    } else {
      add(`${p}.DenseReluDense.wi.weight`, [ff, d], d ** -0.5);
    }
    add(`${p}.DenseReluDense.wo.weight`, [d, ff], ff ** -0.5);
    add(`${p}.layer_norm.weight`, [d], 0.1, 1);
  };
  for (let l = 0; l < config.numLayers; l++) {
    attention(`encoder.block.${l}.layer.0.SelfAttention`, l === 0);
    add(`encoder.block.${l}.layer.0.layer_norm.weight`, [d], 0.1, 1);
    ffn(`encoder.block.${l}.layer.1`);
  }
  add('encoder.final_layer_norm.weight', [d], 0.1, 1);
  for (let l = 0; l < config.numDecoderLayers; l++) {
    attention(`decoder.block.${l}.layer.0.SelfAttention`, l === 0);
    add(`decoder.block.${l}.layer.0.layer_norm.weight`, [d], 0.1, 1);
    attention(`decoder.block.${l}.layer.1.EncDecAttention`, false);
    add(`decoder.block.${l}.layer.1.layer_norm.weight`, [d], 0.1, 1);
    ffn(`decoder.block.${l}.layer.2`);
  }
  add('decoder.final_layer_norm.weight', [d], 0.1, 1);
  if (!config.tieWordEmbeddings) add('lm_head.weight', [config.vocabSize, d], d ** -0.5);
  const hash = createHash('sha256').update(`random|${seed}|${JSON.stringify(config)}`).digest('hex');
  return { dir: dir ?? mkdtempSync(path.join(os.tmpdir(), 'longread-ckpt-')), config, weights, hash, storedDtype: 'F32' };
}
