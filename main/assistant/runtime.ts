import type { JobContext } from './job-queue';
import type { ModelEntry } from './models';
import { EngineWorker, type RequestHooks } from './engine-worker';
import type { EngineTask, EngineTaskResult, ModelFacts, PrepareTask, TokenizedText } from './types';

/** Tokenized documents kept per model (the last few asked about). */
const TOKEN_CACHE_DOCS = 3;

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
    while (this.tokenCache.size > TOKEN_CACHE_DOCS) this.tokenCache.delete(this.tokenCache.keys().next().value!);
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
