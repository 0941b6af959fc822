import type { T5Config } from './types';

/**
 * Every tensor T5ForConditionalGeneration needs for `config`, with its shape, using Hugging Face's
 * names and [out, in] layout for linear weights. (`lm_head.weight` only when untied.)
 */
export function expectedWeightShapes(config: T5Config): Map<string, number[]> {
  const { dModel: d, dKv, numHeads, dFf, vocabSize, relativeAttentionNumBuckets: buckets } = config;
  const inner = numHeads * dKv;
  const out = new Map<string, number[]>();
  out.set('shared.weight', [vocabSize, d]);
  const attention = (prefix: string, withBias: boolean) => {
    out.set(`${prefix}.q.weight`, [inner, d]);
    out.set(`${prefix}.k.weight`, [inner, d]);
    out.set(`${prefix}.v.weight`, [inner, d]);
    out.set(`${prefix}.o.weight`, [d, inner]);
    if (withBias) out.set(`${prefix}.relative_attention_bias.weight`, [buckets, numHeads]);
  };
  const ffn = (prefix: string) => {
    if (config.isGatedAct) {
      out.set(`${prefix}.DenseReluDense.wi_0.weight`, [dFf, d]);
      out.set(`${prefix}.DenseReluDense.wi_1.weight`, [dFf, d]);
    } else {
      out.set(`${prefix}.DenseReluDense.wi.weight`, [dFf, d]);
    }
    out.set(`${prefix}.DenseReluDense.wo.weight`, [d, dFf]);
    out.set(`${prefix}.layer_norm.weight`, [d]);
  };
  for (let i = 0; i < config.numLayers; i++) {
    attention(`encoder.block.${i}.layer.0.SelfAttention`, i === 0);
    out.set(`encoder.block.${i}.layer.0.layer_norm.weight`, [d]);
    ffn(`encoder.block.${i}.layer.1`);
  }
  out.set('encoder.final_layer_norm.weight', [d]);
  for (let i = 0; i < config.numDecoderLayers; i++) {
    attention(`decoder.block.${i}.layer.0.SelfAttention`, i === 0);
    out.set(`decoder.block.${i}.layer.0.layer_norm.weight`, [d]);
    attention(`decoder.block.${i}.layer.1.EncDecAttention`, false);
    out.set(`decoder.block.${i}.layer.1.layer_norm.weight`, [d]);
    ffn(`decoder.block.${i}.layer.2`);
  }
  out.set('decoder.final_layer_norm.weight', [d]);
  if (!config.tieWordEmbeddings) out.set('lm_head.weight', [vocabSize, d]);
  return out;
}

/**
 * The number of weights `expectedWeightShapes(config)` describes, by arithmetic (nothing is built,
 * so it costs the same for any config).
 */
export function parameterCount(config: T5Config): number {
  const { dModel: d, dKv, numHeads, dFf, vocabSize, relativeAttentionNumBuckets: buckets } = config;
  const attention = 4 * numHeads * dKv * d;
  const ffn = (config.isGatedAct ? 3 : 2) * dFf * d + d;
  const bias = buckets * numHeads;
  const encoder = config.numLayers * (attention + d + ffn) + bias + d;
  const decoder = config.numDecoderLayers * (2 * attention + 2 * d + ffn) + bias + d;
  return vocabSize * d * (config.tieWordEmbeddings ? 1 : 2) + encoder + decoder;
}
