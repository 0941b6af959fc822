import { LongreadError } from '../common/errors';
import { loadCheckpoint } from './checkpoint/load';
import { computeCross } from './decoder/cross';
import { generate, type GenerateOptions, type GenerateResult } from './decoder/generate';
import { pieceContinuesWord } from './decoder/quote';
import { encodeDense, type EncodeProgress } from './encoder/dense';
import { T5Model, type ModelOptions } from './t5-model';
import { loadTokenizer, type T5Tokenizer } from './tokenizer';
import { encodeVcc, type LayerEvidence, type LocalStateCache } from './vcc/encoder';
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
  /** Final encoder states (n, d), query tokens then document tokens. */
  hidden: Float32Array;
  n: number;
  attention: AttentionMode;
  settings?: VccSettings;
  evidence: LayerEvidence[];
  compressedLengths: number[];
  localCacheHit: boolean;
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

  async encode(req: EncodeRequest): Promise<Encoded> {
    this.checkIds(req.queryIds, 'the question');
    this.checkIds(req.documentIds, 'the document');
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
      hidden: r.hidden,
      n: r.n,
      attention: 'vcc',
      settings,
      evidence: r.evidence,
      compressedLengths: r.compressedLengths,
      localCacheHit: r.localCacheHit,
    };
  }

  async generate(encoded: Encoded, opts: GenerateOptions = {}): Promise<GenerateResult> {
    const cross = await computeCross(this.model, encoded.hidden, encoded.n, opts.signal);
    const continuesWord = opts.quoteFrom && !opts.continuesWord ? await this.wordContinuations() : opts.continuesWord;
    const { maxNewTokens = this.generationDefaults.maxNewTokens, numBeams = this.generationDefaults.numBeams } = opts;
    return generate(this.model, cross, { ...opts, maxNewTokens, numBeams, continuesWord });
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
