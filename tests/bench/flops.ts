import type { T5Config } from '../../engine/checkpoint/types';

/** Multiply–add FLOPs (2 per MAC) of one dense T5 encoder layer over n tokens attending to m keys. */
export function encoderLayerFlops(cfg: T5Config, n: number, m = n): number {
  const inner = cfg.numHeads * cfg.dKv;
  const projections = 2 * n * cfg.dModel * inner * 2 + 2 * m * cfg.dModel * inner * 2; // q, o over n; k, v over m
  const ffn = 2 * n * cfg.dModel * cfg.dFf * (cfg.isGatedAct ? 3 : 2);
  const attention = 2 * 2 * n * m * inner; // q·kᵀ and p·v
  return projections + ffn + attention;
}

/** t5-small and t5-base shapes (v1.0), as in the public configs. */
export function t5Shape(name: 't5-small' | 't5-base'): Partial<T5Config> {
  return name === 't5-small'
    ? { vocabSize: 32128, dModel: 512, dKv: 64, dFf: 2048, numLayers: 6, numDecoderLayers: 6, numHeads: 8 }
    : { vocabSize: 32128, dModel: 768, dKv: 64, dFf: 3072, numLayers: 12, numDecoderLayers: 12, numHeads: 12 };
}
