import { rm } from 'node:fs/promises';
import path from 'node:path';
import { DEFAULT_SETTINGS, type CompressionPreset, type JobEvent, type ModelInfo, type Precision, type PrepareResult } from '../../common/api';
import { LongreadError } from '../../common/errors';
import type { AssistantLike } from '../api/assistant-host';
import { noAssistant } from '../api/assistant-host';
import type { Library } from '../library/library';
import { normalizeQuestion } from '../library/cache-keys';
import { LIBRARY_FILE } from '../library/paths';
import { EngineWorker } from './engine-worker';
import { JobQueue, type JobContext } from './job-queue';
import { bundledModelDir, ModelRegistry, type ModelEntry } from './models';
import type { PreviousTurn } from '../../engine/qa-format';
import { isPrepared, prepareDocument } from './prepare';
import { answer, answerCacheContext, answerCollection, cachedQuestion, collectionAnswerCacheContext, CONFIDENT_AT, type QaEnv } from './qa';
import type { CacheContext } from '../library/caches';
import type { Chat } from '../library/chats';
import type { Collection } from '../library/collections';
import type { ReadableDocument } from './reading';
import { ModelRuntime } from './runtime';
import { summarize, summaryCacheContext, summaryScope, type SummaryEnv } from './summarize';
import {
  DEFAULT_MAX_DOCUMENT_TOKENS,
  type AskCollectionRequest,
  type AskOutcome,
  type AskRequest,
  type CollectionSummaryOutcome,
  type SummarizeCollectionRequest,
  type AssistantOptions,
  type CallOptions,
  type JobHandle,
  type JobSnapshot,
  type SummarizeRequest,
  type SummaryOutcome,
} from './types';

interface Prepared<T> {
  cached: boolean;
  run: (ctx: JobContext) => Promise<T>;
}

/** Where compiled ONNX graphs of every model are cached (a bundled model folder may be read-only). */
export const GRAPH_CACHE_DIR = 'graph-cache';

/**
 * Question answering and summaries over the library's documents. Engine work runs as jobs on
 * one engine process per model (one job at a time per model, the rest queued); results are
 * cached in the library.
 */
export class Assistant implements AssistantLike {
  readonly registry: ModelRegistry;
  private readonly queue = new JobQueue();
  private readonly runtimes = new Map<string, ModelRuntime>();
  private readonly library: Library;
  private readonly compression: CompressionPreset;
  private readonly limit: number;
  private closed = false;
  private lanes = 0;

  private constructor(private readonly options: AssistantOptions) {
    this.library = options.library;
    this.registry = new ModelRegistry(options.home, bundledModelDir(options.modelDir, options.env ?? process.env));
    this.compression = options.compression ?? DEFAULT_SETTINGS.compression;
    this.limit = options.maxDocumentTokens ?? DEFAULT_MAX_DOCUMENT_TOKENS;
    if (!Number.isInteger(this.limit) || this.limit < 2) throw new LongreadError('invalid-argument', `the document token limit must be a whole number ≥ 2, got ${this.limit}`);
  }

  /** Opens without loading a model: the engine starts with the first job that needs it. */
  static async open(options: AssistantOptions): Promise<Assistant> {
    return new Assistant(options);
  }

  ask(req: AskRequest, onEvent: (e: JobEvent) => void, call: CallOptions = {}): JobHandle<AskOutcome> {
    return this.submit<AskOutcome>('ask', req.documentId, onEvent, call, req.modelId, (runtime) => {
      const env = this.qaEnv(runtime);
      const doc = this.document(req.documentId);
      const chat = this.chatFor(req);
      const previous = chat === null ? null : this.previousTurn(chat, (c) => c.docId === req.documentId, req.question);
      return this.answerJob(answerCacheContext(env, req), cachedQuestion(req, previous), (result) => this.record(chat, req.question, { docId: req.documentId }, result), (ctx) =>
        answer(ctx, env, req, doc, previous),
      );
    });
  }

  /**
   * A question asked of every document in a collection (read as one text, see answerCollection);
   * its chat is the collection's, and a follow-up in it is read with the turn before it.
   */
  askCollection(req: AskCollectionRequest, onEvent: (e: JobEvent) => void, call: CallOptions = {}): JobHandle<AskOutcome> {
    return this.submit<AskOutcome>('ask', undefined, onEvent, call, req.modelId, (runtime) => {
      const env = this.qaEnv(runtime);
      const { collection, docs } = this.collectionDocuments(req.collectionId);
      const chat = this.chatFor(req);
      const previous = chat === null ? null : this.previousTurn(chat, (c) => c.collectionId === collection.id, req.question);
      const named = { id: String(collection.id), name: collection.name };
      return this.answerJob(
        collectionAnswerCacheContext(env, collection.documentIds),
        cachedQuestion(req, previous),
        (result) => this.record(chat, req.question, { docId: null, collectionId: collection.id }, result),
        (ctx) => answerCollection(ctx, env, req, named, docs, previous),
      );
    });
  }

  summarize(req: SummarizeRequest, onEvent: (e: JobEvent) => void, call: CallOptions = {}): JobHandle<SummaryOutcome> {
    return this.submit<SummaryOutcome>('summarize', req.documentId, onEvent, call, req.modelId, (runtime) => this.summaryJob(runtime, req));
  }

  /** Each document's own summary (the same job, and cache, as `summarize` of that document), in the collection's order. */
  summarizeCollection(req: SummarizeCollectionRequest, onEvent: (e: JobEvent) => void, call: CallOptions = {}): JobHandle<CollectionSummaryOutcome> {
    return this.submit<CollectionSummaryOutcome>('summarize', undefined, onEvent, call, req.modelId, (runtime) => {
      const { collection, docs } = this.collectionDocuments(req.collectionId);
      const parts = docs.map((doc) => ({ doc, job: this.summaryJob(runtime, { documentId: doc.id, length: req.length, regenerate: req.regenerate }) }));
      const cached = parts.every((p) => p.job.cached);
      return {
        cached,
        run: async (ctx) => {
          const documents: CollectionSummaryOutcome['documents'] = [];
          for (const [i, { doc, job }] of parts.entries()) {
            ctx.signal.throwIfAborted();
            const where = `"${doc.title}" (${i + 1} of ${parts.length})`;
            // one document's summary streams nothing: the collection's arrive whole, in order
            const step: JobContext = { ...ctx, token: () => {}, progress: (stage, extra = {}) => ctx.progress(stage, { ...extra, detail: extra.detail ? `${where}: ${extra.detail}` : where }) };
            const { engine, ...summary } = await job.run(step);
            documents.push({ documentId: doc.id, title: doc.title, summary });
          }
          return { collection: { id: String(collection.id), name: collection.name }, documents, cached, model: runtime.entry.id };
        },
      };
    });
  }

  /** Prepares a document for fast questions (prepare.ts), in the background: other jobs go first. */
  prepare(req: { documentId: string; modelId?: string }, onEvent: (e: JobEvent) => void, call: CallOptions = {}): JobHandle<PrepareResult> {
    return this.submit<PrepareResult>(
      'prepare',
      req.documentId,
      onEvent,
      call,
      req.modelId,
      (runtime) => {
        const doc = this.document(req.documentId);
        return { cached: false, run: (ctx) => prepareDocument(ctx, { library: this.library, runtime, compression: this.compression }, doc) };
      },
      { background: true },
    );
  }

  /** Which of the documents are ready for fast questions with the active model (or `modelId`), and the store's use. */
  readiness(documentIds: string[], modelId?: string): { ready: string[]; storeBytes: number; capBytes: number } {
    const store = this.library.engineState;
    let ready: string[] = [];
    try {
      const runtime = this.runtime(modelId);
      ready = documentIds.filter((id) => isPrepared(this.library, id, runtime.key));
    } catch {
      // no model: nothing is ready
    }
    return { ready, storeBytes: store.totalBytes(), capBytes: store.capBytes };
  }

  cancel(jobId: string): boolean {
    return this.queue.cancel(jobId);
  }

  jobs(): JobSnapshot[] {
    return this.queue.snapshot();
  }

  readonly models = {
    list: (): ModelInfo[] => this.registry.list(),
    import: async (dir: string, onProgress?: (p: unknown) => void, precision?: Precision): Promise<ModelInfo> => {
      const entry = await this.registry.import(dir, (d) => this.validate(d), onProgress, precision);
      return this.registry.list().find((m) => m.id === entry.id)!;
    },
    remove: async (id: string): Promise<ModelInfo[]> => {
      const entry = this.registry.get(id);
      if (!entry.bundled) await this.stopRuntime(id);
      await this.registry.remove(id);
      await rm(path.join(this.options.home, GRAPH_CACHE_DIR, id), { recursive: true, force: true });
      return this.registry.list();
    },
    setActive: (id: string): ModelInfo[] => {
      this.registry.setActive(id);
      return this.registry.list();
    },
    /** The model's next job opens a new engine in this precision (the fingerprint, and so the runtime's key, changes). */
    setPrecision: (id: string, precision: Precision): ModelInfo[] => {
      this.registry.setPrecision(id, precision);
      return this.registry.list();
    },
  };

  /** Cancels every job and stops every engine worker. */
  async close(): Promise<void> {
    this.closed = true;
    this.queue.cancelAll();
    await this.queue.idle();
    await Promise.all([...this.runtimes.keys()].map((id) => this.stopRuntime(id)));
  }

  // -------------------------------------------------------------------------------------------

  /**
   * Starts a job. `prepare` runs first, synchronously (model, document and cache checks, all
   * cheap): a cache hit runs in a lane of its own so it never waits behind engine work.
   */
  private submit<T extends AskOutcome | SummaryOutcome | CollectionSummaryOutcome | PrepareResult>(
    kind: 'ask' | 'summarize' | 'prepare',
    documentId: string | undefined,
    onEvent: (e: JobEvent) => void,
    call: CallOptions,
    modelId: string | undefined,
    prepare: (runtime: ModelRuntime) => Prepared<T>,
    options: { background?: boolean } = {},
  ): JobHandle<T> {
    let lane: string;
    let model = '';
    let run: (ctx: JobContext) => Promise<T>;
    try {
      if (this.closed) throw new LongreadError('assistant-closed', 'The assistant was closed.');
      const runtime = this.runtime(modelId);
      const prepared = prepare(runtime);
      model = runtime.entry.id;
      lane = prepared.cached ? `cached-${++this.lanes}` : model;
      run = prepared.run;
    } catch (e) {
      lane = `failed-${++this.lanes}`;
      run = async () => {
        throw e;
      };
    }
    return this.queue.submit<T>({ kind, documentId, lane, modelId: model, onEvent, signal: call.signal, run, background: options.background });
  }

  private runtime(modelId?: string): ModelRuntime {
    const entry: ModelEntry | null = modelId ? this.registry.get(modelId) : this.registry.active();
    if (!entry) throw noAssistant();
    const key = this.registry.fingerprint(entry);
    const known = this.runtimes.get(entry.id);
    if (known && known.key === key) return known;
    if (known) void known.close();
    const runtime = new ModelRuntime(entry, key, this.worker(entry.dir, entry.id, entry.precision));
    this.runtimes.set(entry.id, runtime);
    return runtime;
  }

  /** `cacheName`: the model's own graph-cache folder (the engine prunes everything else under that root). */
  private worker(modelDir: string, cacheName: string, precision: Precision = 'fp32'): EngineWorker {
    const state = this.library.engineState;
    return new EngineWorker(
      {
        modelDir,
        threads: this.options.threads,
        provider: this.options.provider,
        precision,
        graphCacheRoot: path.join(this.options.home, GRAPH_CACHE_DIR, cacheName),
        engineState: { databaseFile: path.join(this.library.home, LIBRARY_FILE), dir: state.dir, capBytes: state.capBytes },
        reportEncoderHash: this.options.reportEncoderHash ?? false,
      },
      this.options.cancelGraceMs,
    );
  }

  /** Loads the checkpoint and tokenizer in a short-lived engine process: what an import must pass first. */
  private async validate(dir: string) {
    const w = this.worker(dir, '.validate'); // validation builds no graphs
    try {
      return await w.validate(dir);
    } finally {
      await w.close();
    }
  }

  private async stopRuntime(id: string): Promise<void> {
    const r = this.runtimes.get(id);
    if (!r) return;
    this.runtimes.delete(id);
    await r.close();
  }

  private qaEnv(runtime: ModelRuntime): QaEnv {
    return { library: this.library, runtime, compression: this.compression, limit: this.limit, maxAnswerTokens: this.options.maxAnswerTokens ?? 64, confidentAt: this.options.confidentAt ?? CONFIDENT_AT };
  }

  /** An answer from the cache, or computed (and cached); either way recorded in its chat. */
  private answerJob(cacheCtx: CacheContext, cacheQuestion: string, record: (result: AskOutcome) => AskOutcome, compute: (ctx: JobContext) => Promise<Omit<AskOutcome, 'chatId'>>): Prepared<AskOutcome> {
    const hit = this.library.answers.get<Omit<AskOutcome, 'chatId'>>(cacheCtx, cacheQuestion);
    if (hit) {
      // answers cached before evidence was kept have none
      const result: AskOutcome = { ...hit, evidence: hit.evidence ?? [], cached: true, chatId: '' };
      delete result.engine;
      return {
        cached: true,
        run: async (ctx) => {
          if (result.answer) ctx.token(result.answer);
          return record(result);
        },
      };
    }
    return {
      cached: false,
      run: async (ctx) => {
        const fresh = await compute(ctx);
        ctx.signal.throwIfAborted();
        const { engine, ...stored } = fresh;
        this.library.answers.put(cacheCtx, cacheQuestion, stored);
        return record({ ...fresh, chatId: '' });
      },
    };
  }

  private summaryJob(runtime: ModelRuntime, req: SummarizeRequest): Prepared<SummaryOutcome> {
    const env: SummaryEnv = { library: this.library, runtime, compression: this.compression, limit: this.limit, maxSummaryTokens: this.options.maxSummaryTokens ?? 192 };
    const doc = this.document(req.documentId);
    const cacheCtx = { ...summaryCacheContext(env, req.length), docId: doc.id };
    const scope = summaryScope(req);
    if (req.section !== undefined && (req.section < 0 || req.section >= doc.sections.length)) {
      throw new LongreadError('section-not-found', `"${doc.title}" has ${doc.sections.length} sections (0–${Math.max(0, doc.sections.length - 1)}); there is no section ${req.section}.`);
    }
    const hit = req.regenerate ? null : this.library.summaries.get<Omit<SummaryOutcome, 'cached'>>(cacheCtx, scope);
    if (hit) return { cached: true, run: async () => ({ ...hit, cached: true }) };
    return {
      cached: false,
      run: async (ctx) => {
        const fresh = await summarize(ctx, env, req, doc);
        ctx.signal.throwIfAborted();
        this.library.summaries.put(cacheCtx, fresh, scope);
        return { ...fresh, cached: false };
      },
    };
  }

  /** A collection and its documents; a typed error when there is no such collection or it is empty. */
  private collectionDocuments(collectionId: string): { collection: Collection; docs: ReadableDocument[] } {
    const collection = this.library.collections.nonEmpty(collectionId);
    return { collection, docs: collection.documentIds.map((id) => this.document(id)) };
  }

  private document(id: string): ReadableDocument {
    const doc = this.library.documents.load(id);
    if (!doc) throw new LongreadError('document-not-found', `No document with id ${id} is in the library.`);
    return doc;
  }

  /** The chat the question belongs to (checked now); a new chat is only made when the answer is there. */
  private chatFor(req: { chatId?: string }): number | null {
    if (!req.chatId) return null;
    const chat = this.library.chats.list().find((c) => c.id === Number(req.chatId));
    if (!chat) throw new LongreadError('chat-not-found', `There is no chat ${req.chatId}.`);
    return chat.id;
  }

  /**
   * The chat's last question and the answer shown to it ('' when none was confident), or null in
   * a new chat. The same question asked again is no follow-up of itself: it follows what the first
   * asking followed (and so is answered, and cached, alike).
   */
  private previousTurn(chatId: number, sameSubject: (chat: Chat) => boolean, question: string): PreviousTurn | null {
    // a question about another book (or collection) follows nothing said about this one
    const chat = this.library.chats.list().find((c) => c.id === chatId);
    if (!chat || !sameSubject(chat)) return null;
    const messages = this.library.chats.messages(chatId);
    const same = normalizeQuestion(question);
    for (let i = messages.length - 1; i >= 0; i--) {
      const m = messages[i]!;
      if (m.role !== 'user') continue;
      if (normalizeQuestion(m.content) === same) continue;
      const reply = messages[i + 1];
      return { question: m.content, answer: reply?.role === 'assistant' ? reply.content : '' };
    }
    return null;
  }

  private record(chat: number | null, question: string, subject: { docId: string | null; collectionId?: number }, result: AskOutcome): AskOutcome {
    const q = question.trim().replace(/\s+/g, ' ');
    const { chatId } = this.library.chats.addExchange(chat, { ...subject, title: q.length > 80 ? `${q.slice(0, 79)}…` : q }, [
      { role: 'user', content: question.trim() },
      {
        role: 'assistant',
        content: result.answer,
        meta: {
          citations: result.citations,
          answeredFrom: result.answeredFrom,
          confident: result.confident,
          confidence: result.confidence,
          model: result.model,
          read: result.read,
          cached: result.cached,
          documentTokens: result.documentTokens,
          ...(result.collection ? { collection: result.collection } : {}),
        },
      },
    ]);
    result.chatId = String(chatId);
    return result;
  }
}
