import type { Db } from './database';
import { cacheKey, canonicalJson, normalizeQuestion } from './cache-keys';

/** What an engine answer depends on besides the question: the document, the model and its settings. */
export interface CacheContext {
  docId: string;
  modelId: string;
  /** Engine settings that change the output (attention mode, beams, budgets…); any JSON object. */
  settings: Record<string, unknown>;
}

/** Answers keyed by document hash + model id + engine settings + normalized question. */
export class AnswerCache {
  constructor(private readonly db: Db) {}

  static key(ctx: CacheContext, question: string): string {
    return cacheKey('answer', ctx.docId, ctx.modelId, canonicalJson(ctx.settings), normalizeQuestion(question));
  }

  get<T = unknown>(ctx: CacheContext, question: string): T | null {
    const key = AnswerCache.key(ctx, question);
    const row = this.db.prepare('SELECT answer FROM answer_cache WHERE key = ?').get(key) as { answer: string } | undefined;
    if (!row) return null;
    this.db.prepare('UPDATE answer_cache SET used_at = ? WHERE key = ?').run(Date.now(), key);
    return JSON.parse(row.answer) as T;
  }

  put(ctx: CacheContext, question: string, answer: unknown): void {
    const now = Date.now();
    this.db
      .prepare('INSERT OR REPLACE INTO answer_cache (key, doc_hash, model_id, settings, question, answer, created_at, used_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)')
      .run(AnswerCache.key(ctx, question), ctx.docId, ctx.modelId, canonicalJson(ctx.settings), normalizeQuestion(question), JSON.stringify(answer), now, now);
  }

  clear(docId?: string): number {
    return (docId ? this.db.prepare('DELETE FROM answer_cache WHERE doc_hash = ?').run(docId) : this.db.prepare('DELETE FROM answer_cache').run()).changes;
  }
}

/** Summaries keyed by document hash + model id + engine settings + scope ('document', a section, …). */
export class SummaryCache {
  constructor(private readonly db: Db) {}

  static key(ctx: CacheContext, scope: string): string {
    return cacheKey('summary', ctx.docId, ctx.modelId, canonicalJson(ctx.settings), scope);
  }

  get<T = unknown>(ctx: CacheContext, scope = 'document'): T | null {
    const key = SummaryCache.key(ctx, scope);
    const row = this.db.prepare('SELECT summary FROM summary_cache WHERE key = ?').get(key) as { summary: string } | undefined;
    if (!row) return null;
    this.db.prepare('UPDATE summary_cache SET used_at = ? WHERE key = ?').run(Date.now(), key);
    return JSON.parse(row.summary) as T;
  }

  put(ctx: CacheContext, summary: unknown, scope = 'document'): void {
    const now = Date.now();
    this.db
      .prepare('INSERT OR REPLACE INTO summary_cache (key, doc_hash, model_id, settings, scope, summary, created_at, used_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)')
      .run(SummaryCache.key(ctx, scope), ctx.docId, ctx.modelId, canonicalJson(ctx.settings), scope, JSON.stringify(summary), now, now);
  }
}
