/** A T5-family configuration, normalized from Hugging Face's config.json. */
export interface T5Config {
  /** Name of the family variant, for messages: 't5' (v1.0, ReLU) or 't5-v1.1' (gated). */
  variant: 't5' | 't5-v1.1';
  vocabSize: number;
  dModel: number;
  dKv: number;
  dFf: number;
  numLayers: number;
  numDecoderLayers: number;
  numHeads: number;
  relativeAttentionNumBuckets: number;
  relativeAttentionMaxDistance: number;
  /** The feed-forward activation: 'relu' or 'gelu_new' (tanh approximation), 'gelu' (erf), 'silu'. */
  denseAct: 'relu' | 'gelu_new' | 'gelu' | 'silu';
  /** Gated feed-forward (wi_0, wi_1) as in v1.1 / Flan-T5; plain (wi) as in v1.0. */
  isGatedAct: boolean;
  /** Tied input/output embeddings; when true the decoder output is scaled by dModel^-0.5 before the LM head. */
  tieWordEmbeddings: boolean;
  layerNormEpsilon: number;
  decoderStartTokenId: number;
  eosTokenId: number;
  padTokenId: number;
}

/** A dense float32 tensor, row-major. Linear weights keep Hugging Face's [out, in] layout. */
export interface F32Tensor {
  shape: number[];
  data: Float32Array;
}

/** A loaded checkpoint: everything the engine needs to build graphs, with weights converted to float32. */
export interface Checkpoint {
  /** Absolute path of the model folder. */
  dir: string;
  config: T5Config;
  /** Hugging Face tensor names, e.g. 'encoder.block.0.layer.0.SelfAttention.q.weight'. */
  weights: Map<string, F32Tensor>;
  /** Hex sha256 over config.json and every weight file: the key of cached graphs. */
  hash: string;
  /** Dtype the weights were stored in on disk (all converted to float32 here). */
  storedDtype: 'F32' | 'F16' | 'BF16';
  /** generation_config.json's defaults (its token ids are already in `config`); absent fields: none given. */
  generation?: { maxNewTokens?: number; numBeams?: number };
}
