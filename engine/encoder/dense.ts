import { throwIfAborted } from '../../common/errors';
import { getWeight } from '../graph/t5-blocks';
import type { T5Model } from '../t5-model';
import { embed, finalLayerNorm, runEncoderLayer, type LayerRunOptions } from './layer-runner';

export interface EncodeProgress {
  /** Layers finished so far, out of `layers`; fractional while a layer is under way. */
  layer: number;
  layers: number;
}

export interface EncodeOptions extends Omit<LayerRunOptions, 'onFraction'> {
  onProgress?: (p: EncodeProgress) => void;
}

/** Layer-run options that report progress within layer `l` of `layers`. */
export function layerOptions(opts: EncodeOptions, l: number, layers: number): LayerRunOptions {
  const { onProgress, ...rest } = opts;
  return onProgress ? { ...rest, onFraction: (f) => onProgress({ layer: l + f, layers }) } : rest;
}

/** The token embeddings of `ids`, laid out (n, d). */
export function embedIds(model: T5Model, ids: ArrayLike<number>): Float32Array {
  return embed(getWeight(model.checkpoint, 'shared.weight').data, model.config.dModel, ids);
}

export function applyFinalLayerNorm(model: T5Model, x: Float32Array): void {
  finalLayerNorm(x, getWeight(model.checkpoint, 'encoder.final_layer_norm.weight').data, model.config.layerNormEpsilon);
}

/** The dense encoder: every layer attends over all n tokens (in query chunks). Returns (n, d). */
export async function encodeDense(model: T5Model, ids: ArrayLike<number>, opts: EncodeOptions = {}): Promise<Float32Array> {
  const n = ids.length;
  const layers = model.config.numLayers;
  const batch = {
    x: embedIds(model, ids),
    batch: 1,
    length: n,
    positions: BigInt64Array.from({ length: n }, (_, i) => BigInt(i)),
    keyBias: new Float32Array(n),
  };
  for (let l = 0; l < layers; l++) {
    throwIfAborted(opts.signal, 'Encoding');
    await runEncoderLayer(model, l, batch, layerOptions(opts, l, layers));
    opts.onProgress?.({ layer: l + 1, layers });
  }
  applyFinalLayerNorm(model, batch.x);
  return batch.x;
}
