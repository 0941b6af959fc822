import type { JobContext } from './job-queue';
import type { ModelEntry } from './models';
import { EngineWorker, type RequestHooks } from './engine-worker';
import type { EngineTask, EngineTaskResult, ModelFacts, PrepareTask, TokenizedText } from './types';

/**
 * Tokenized documents kept per model, the last asked about first, up to this many bytes (12 a
 * token: about 5.6M tokens, some forty books), so a collection's documents stay tokenized between
 * its questions; the last one is always kept.
 */
const TOKEN_CACHE_BYTES = 64 * 1024 * 1024;

/** One model as the jobs see it: its worker, its facts, and the documents it has tokenized. */
export class ModelRuntime {
  private readonly tokenCache = new Map<string, TokenizedText>();

  constructor(
    readonly entry: ModelEntry,
    /** Model id plus a fingerprint of its files: the model part of every cache key. */
    readonly key: string,
    readonly worker: EngineWorker,
  ) {}

  async open(ctx: JobContext): Promise<ModelFacts> {
    if (!this.worker.running) ctx.progress('loading-model');
    return this.worker.open(this.hooks(ctx));
  }

  async tokens(ctx: JobContext, cacheKey: string, text: string): Promise<TokenizedText> {
    const known = this.tokenCache.get(cacheKey);
    if (known) {
      this.tokenCache.delete(cacheKey);
      this.tokenCache.set(cacheKey, known);
      return known;
    }
    ctx.progress('tokenizing', { fraction: 0 });
    const t = await this.worker.tokenize(text, this.hooks(ctx));
    ctx.progress('tokenizing', { fraction: 1 });
    this.tokenCache.set(cacheKey, t);
    const bytes = (x: TokenizedText) => x.ids.byteLength + x.offsets.byteLength;
    let total = [...this.tokenCache.values()].reduce((a, x) => a + bytes(x), 0);
    while (total > TOKEN_CACHE_BYTES && this.tokenCache.size > 1) {
      const oldest = this.tokenCache.keys().next().value!;
      total -= bytes(this.tokenCache.get(oldest)!);
      this.tokenCache.delete(oldest);
    }
    return t;
  }

  run(ctx: JobContext, task: EngineTask, stream = true): Promise<EngineTaskResult> {
    return this.worker.run(task, this.hooks(ctx, stream));
  }

  /** The document's local-layer states computed and stored ahead of questions. */
  prepare(ctx: JobContext, task: PrepareTask): Promise<{ segments: number; alreadyStored: number }> {
    return this.worker.prepare(task, this.hooks(ctx, false));
  }

  private hooks(ctx: JobContext, stream = true): RequestHooks {
    return {
      signal: ctx.signal,
      onProgress: (p) => ctx.progress(p.stage, { fraction: p.fraction, tokensPerSecond: p.tokensPerSecond }),
      onToken: stream ? (text) => ctx.token(text) : undefined,
    };
  }

  close(): Promise<void> {
    this.tokenCache.clear();
    return this.worker.close();
  }
}
