import { LongreadError } from '../common/errors';
import { loadCheckpoint } from './checkpoint/load';
import { generate, type GenerateOptions, type GenerateResult } from './decoder/generate';
import { pieceContinuesWord } from './decoder/quote';
import { encodeDense, type EncodeProgress } from './encoder/dense';
import type { Checkpoint } from './checkpoint/types';
import { decoderBytes, ensureMemoryFits, type MemoryEstimate, type MemoryRequest } from './memory';
import { T5Model, type ModelOptions } from './t5-model';
import { loadTokenizer, type T5Tokenizer } from './tokenizer';
import { encodeVcc, prepareChunkTokens, prepareLocalStates, type DecoderMemory, type LayerEvidence, type LocalStateCache } from './vcc/encoder';
import { resolveSettings, type VccSettings } from './vcc/settings';

export type AttentionMode = 'dense' | 'vcc';

export interface EncodeRequest {
  /** The question or instruction: the VIP tokens come first. */
  queryIds: number[];
  documentIds: number[];
  attention: AttentionMode;
  /** VCC overrides of the preset (ignored for dense). */
  vcc?: Partial<VccSettings>;
  signal?: AbortSignal;
  onProgress?: (p: EncodeProgress) => void;
  localCache?: LocalStateCache;
}

export interface Encoded {
  /** Final encoder states (n, d), query tokens then document tokens (VCC: computed when first read, see VccEncodeResult). */
  readonly hidden: Float32Array;
  n: number;
  attention: AttentionMode;
  settings?: VccSettings;
  evidence: LayerEvidence[];
  compressedLengths: number[];
  localCacheHit: boolean;
  /** What the decoder attends to instead of `hidden`, when the VCC settings compress it (decoderBlocks). */
  decoderMemory?: DecoderMemory;
}

/** A loaded model ready to encode and generate: the engine's one entry point for its callers. */
export class Engine {
  private tokenizerPromise?: Promise<T5Tokenizer>;
  private continuesWordPromise?: Promise<(id: number) => boolean>;

  private constructor(
    readonly dir: string,
    readonly model: T5Model,
    /** generation_config.json's max_new_tokens / num_beams: what generate uses when a call does not say. */
    readonly generationDefaults: { maxNewTokens?: number; numBeams?: number } = {},
  ) {}

  static async open(dir: string, opts: ModelOptions = {}): Promise<Engine> {
    const checkpoint = await loadCheckpoint(dir);
    return new Engine(dir, new T5Model(checkpoint, opts), checkpoint.generation);
  }

  /** An engine over a checkpoint already in memory (benchmarks' random weights); its tokenizer is looked for in checkpoint.dir. */
  static fromCheckpoint(checkpoint: Checkpoint, opts: ModelOptions = {}): Engine {
    return new Engine(checkpoint.dir, new T5Model(checkpoint, opts), checkpoint.generation);
  }

  get config() {
    return this.model.config;
  }

  tokenizer(): Promise<T5Tokenizer> {
    this.tokenizerPromise ??= loadTokenizer(this.dir);
    return this.tokenizerPromise;
  }

  /** Rejects ids outside the vocabulary before they reach a graph. */
  checkIds(ids: number[], what = 'input'): void {
    const vocab = this.config.vocabSize;
    const bad = ids.find((id) => !Number.isInteger(id) || id < 0 || id >= vocab);
    if (bad !== undefined) {
      throw new LongreadError('invalid-input-ids', `${what} contains token id ${bad}, outside the model's vocabulary of ${vocab} (model: ${this.dir})`);
    }
  }

  /** What encoding and answering n tokens will hold at its peak, in bytes (see engine/memory.ts). */
  memoryEstimate(req: MemoryRequest): MemoryEstimate {
    return this.model.memoryEstimate(req);
  }

  /** Throws LongreadError 'not-enough-memory' when a request of this size cannot fit in this machine's memory. */
  ensureMemory(req: MemoryRequest): void {
    const est = this.model.memoryEstimate(req);
    const { numLayers, numDecoderLayers, dModel } = this.config;
    ensureMemoryFits(est, req, this.model.memoryLimits(), this.model.heldBytes + est.fixedBytes, `The model in ${this.dir} (${numLayers}+${numDecoderLayers} layers, d_model ${dModel})`);
  }

  async encode(req: EncodeRequest): Promise<Encoded> {
    this.checkIds(req.queryIds, 'the question');
    this.checkIds(req.documentIds, 'the document');
    this.ensureMemory({ n: req.queryIds.length + req.documentIds.length, attention: req.attention });
    if (req.attention === 'dense') {
      const ids = [...req.queryIds, ...req.documentIds];
      if (ids.length === 0) throw new LongreadError('invalid-argument', 'nothing to encode: the input has no tokens');
      const hidden = await encodeDense(this.model, ids, { signal: req.signal, onProgress: req.onProgress });
      return { hidden, n: ids.length, attention: 'dense', evidence: [], compressedLengths: [], localCacheHit: false };
    }
    const settings = resolveSettings(this.config.numLayers, req.vcc);
    const r = await encodeVcc(this.model, req.queryIds, req.documentIds, settings, {
      signal: req.signal,
      onProgress: req.onProgress,
      localCache: req.localCache,
    });
    return {
      // read through, so that states a decoder memory makes unneeded are reassembled only when asked for
      get hidden() {
        return r.hidden;
      },
      n: r.n,
      attention: 'vcc',
      settings,
      evidence: r.evidence,
      compressedLengths: r.compressedLengths,
      localCacheHit: r.localCacheHit,
      ...(r.decoderMemory ? { decoderMemory: r.decoderMemory } : {}),
    };
  }

  /**
   * Computes and caches the document's local-layer states (VCC, cached layout) before any
   * question, so that a question pays only for the VCC layers: how many segments were cached already, of how many.
   */
  async prepareLocalStates(req: { documentIds: number[]; vcc?: Partial<VccSettings>; localCache: LocalStateCache; signal?: AbortSignal; onProgress?: (p: EncodeProgress) => void }): Promise<{ cached: number; keys: string[] }> {
    this.checkIds(req.documentIds, 'the document');
    const settings = resolveSettings(this.config.numLayers, { ...req.vcc, layout: 'cached' });
    // it works a chunk of segments at a time: far less memory than an encode of the whole
    this.ensureMemory({ n: Math.min(req.documentIds.length, prepareChunkTokens(settings)) + 1, attention: 'vcc' });
    return prepareLocalStates(this.model, req.documentIds, settings, req.localCache, { signal: req.signal, onProgress: req.onProgress });
  }

  async generate(encoded: Encoded, opts: GenerateOptions = {}): Promise<GenerateResult> {
    const { maxNewTokens = this.generationDefaults.maxNewTokens, numBeams = this.generationDefaults.numBeams } = opts;
    const memory = encoded.decoderMemory ?? encoded;
    const need = decoderBytes(this.config, memory.n, numBeams ?? 1);
    const limits = this.model.memoryLimits();
    if (need > limits.availableBytes) {
      throw new LongreadError(
        'not-enough-memory',
        `Generating with ${numBeams ?? 1} beams over ${memory.n.toLocaleString('en-US')} encoder states needs about ${(need / 1024 ** 3).toFixed(1)} GiB more memory, ` +
          `but only ${(limits.availableBytes / 1024 ** 3).toFixed(1)} GiB is free now. Use fewer beams or a shorter text.`,
      );
    }
    const continuesWord = opts.quoteFrom && !opts.continuesWord ? await this.wordContinuations() : opts.continuesWord;
    return generate(this.model, memory, { ...opts, maxNewTokens, numBeams, continuesWord });
  }

  /** Which ids continue the word before them (see pieceContinuesWord), from the tokenizer's pieces. */
  private wordContinuations(): Promise<(id: number) => boolean> {
    this.continuesWordPromise ??= this.tokenizer().then((tok) => {
      const mask = Uint8Array.from({ length: this.config.vocabSize }, (_, id) => (pieceContinuesWord(tok.piece(id)) ? 1 : 0));
      return (id: number) => mask[id] === 1;
    });
    return this.continuesWordPromise;
  }

  async close(): Promise<void> {
    await this.model.release();
  }
}
