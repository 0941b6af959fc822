import type { CompressionPreset } from '../../common/api';
import type { CacheContext } from '../library/caches';
import type { Library } from '../library/library';
import { citationsFromEvidence, evidenceRanges } from './citations';
import type { JobContext } from './job-queue';
import { vccSettingsFor } from './presets';
import { planRead, type ReadableDocument } from './reading';
import type { ModelRuntime } from './runtime';
import { eosIdOf, feedIds, textTokenCount } from './text-ranges';
import type { AskOutcome, AskRequest } from './types';

/** Bump when how answers are computed changes, so old cached answers are not served. */
const QA_VERSION = 2;

export interface QaEnv {
  library: Library;
  runtime: ModelRuntime;
  compression: CompressionPreset;
  limit: number;
  maxAnswerTokens: number;
}

/** Everything an answer depends on besides the question: the answer-cache context. */
export function answerCacheContext(env: QaEnv, req: AskRequest): CacheContext {
  return {
    docId: req.documentId,
    modelId: env.runtime.key,
    settings: { v: QA_VERSION, compression: env.compression, layout: 'cached', limit: env.limit, sections: req.sections ?? null, maxNewTokens: env.maxAnswerTokens, numBeams: 1 },
  };
}

/**
 * Answers a question about a document: the question as VIP tokens, the document (or the chosen
 * sections, or the windows full-text search picks when it is over the limit) as context, VCC in
 * the cached layout so the local layers are reused across questions; the answer is a span of the text
 * read (quoting); citations from the evidence.
 */
export async function answer(ctx: JobContext, env: QaEnv, req: AskRequest, doc: ReadableDocument): Promise<Omit<AskOutcome, 'chatId'>> {
  const facts = await env.runtime.open(ctx);
  const t0 = performance.now();
  const tokens = await env.runtime.tokens(ctx, doc.id, doc.text);
  const tokenizeMs = performance.now() - t0;
  env.library.documents.ensureTokenCount(doc.id, { modelId: env.runtime.entry.id, count: () => textTokenCount(tokens) });
  ctx.progress('reading');
  const plan = planRead(doc, tokens, {
    limit: env.limit,
    sections: req.sections,
    question: req.question,
    search: (term) => env.library.documents.search(term, { docId: doc.id, limit: 1000 }).map((h) => h.page),
  });
  ctx.progress('encoding', { fraction: 0 });
  const r = await env.runtime.run(ctx, {
    query: { kind: 'qa', question: req.question },
    documentIds: feedIds(tokens, plan.windows, eosIdOf(tokens)),
    vcc: vccSettingsFor(env.compression, facts.numLayers),
    ensureEvidence: true,
    // Answers are quotes of the text read: faithful by construction, and a small model's copy cannot drift.
    generate: { maxNewTokens: env.maxAnswerTokens, numBeams: 1, quote: true },
    localState: { docId: doc.id, modelId: env.runtime.key },
  });
  return {
    answer: r.text ?? '',
    citations: citationsFromEvidence(r.evidence, plan.windows, tokens, doc),
    evidence: evidenceRanges(r.evidence, plan.windows, tokens),
    cached: false,
    model: env.runtime.entry.id,
    documentTokens: plan.documentTokens,
    read: plan.read,
    engine: {
      localCacheHit: r.localCacheHit,
      settings: r.settings,
      compressedLengths: r.compressedLengths,
      ...(r.encoderHash ? { encoderHash: r.encoderHash } : {}),
      queryTokens: r.queryTokens,
      timingsMs: { tokenize: tokenizeMs, encode: r.timingsMs.encode, generate: r.timingsMs.generate },
    },
  };
}
