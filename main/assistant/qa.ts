import type { CompressionPreset } from '../../common/api';
import { qaQueryText, type PreviousTurn } from '../../engine/qa-format';
import { normalizeQuestion } from '../library/cache-keys';
import type { CacheContext } from '../library/caches';
import type { Library } from '../library/library';
import { citation, evidenceRanges } from './citations';
import { passageWindows, questionPassages } from './passages';
import type { JobContext } from './job-queue';
import { vccSettingsFor } from './presets';
import { planRead, type ReadableDocument } from './reading';
import type { ModelRuntime } from './runtime';
import { eosIdOf, feedIds, textTokenCount } from './text-ranges';
import type { AskOutcome, AskRequest, EngineTask } from './types';

/** Bump when how answers are computed changes, so old cached answers are not served. */
const QA_VERSION = 4;

/** Citations an answer carries: the best-ranked passages. */
const CITATIONS = 5;

export interface QaEnv {
  library: Library;
  runtime: ModelRuntime;
  compression: CompressionPreset;
  limit: number;
  maxAnswerTokens: number;
  confidentAt: number;
}

/** Everything an answer depends on besides the question: the answer-cache context. */
export function answerCacheContext(env: QaEnv, req: AskRequest): CacheContext {
  return {
    docId: req.documentId,
    modelId: env.runtime.key,
    settings: { v: QA_VERSION, confidentAt: env.confidentAt, answers: env.runtime.entry.answers, compression: env.compression, layout: 'cached', limit: env.limit, sections: req.sections ?? null, maxNewTokens: env.maxAnswerTokens, numBeams: 1 },
  };
}

/**
 * What the answer cache keys an answer on: the question, and for a follow-up the turn before it
 * (the same words after another question are another query).
 */
export function cachedQuestion(req: AskRequest, previous: PreviousTurn | null): string {
  // each question normalized as a lone one is (the cache normalizes the whole string too)
  return previous ? qaQueryText(normalizeQuestion(req.question), { question: normalizeQuestion(previous.question), answer: previous.answer }) : req.question;
}

/**
 * Answers a question about a document: the question as VIP tokens, the document (or the chosen
 * sections, or the windows full-text search picks when it is over the limit) as context, VCC in
 * the cached layout so the local layers are reused across questions; citations from the evidence.
 * A model that answers from passages (the bundled one) then reads the few passages VCC ranked
 * highest again, densely, and answers from them; otherwise the answer is generated from the whole
 * compressed document. Either way the answer is a span of the text read (quoting).
 * A follow-up in a chat (`previous` is the turn before it) is read with that turn: the VIP query
 * holds the previous question and answer (within the VIP budget, see qaFollowUpQuery), and the
 * full-text search that picks windows and the passage ranking also use their words, so "and who
 * is his wife?" after "Who is the captain?" finds the captain's wife.
 */
export async function answer(ctx: JobContext, env: QaEnv, req: AskRequest, doc: ReadableDocument, previous: PreviousTurn | null = null): Promise<Omit<AskOutcome, 'chatId'>> {
  // the words that choose what is read and which passages rank: the question's, and a follow-up's previous turn's
  const searchText = previous ? `${previous.question} ${previous.answer} ${req.question}` : req.question;
  const facts = await env.runtime.open(ctx);
  const t0 = performance.now();
  const tokens = await env.runtime.tokens(ctx, doc.id, doc.text);
  const tokenizeMs = performance.now() - t0;
  env.library.documents.ensureTokenCount(doc.id, { modelId: env.runtime.entry.id, count: () => textTokenCount(tokens) });
  ctx.progress('reading');
  const vcc = vccSettingsFor(env.compression, facts.numLayers);
  const plan = planRead(doc, tokens, {
    limit: env.limit,
    sections: req.sections,
    question: searchText,
    search: (term) => env.library.documents.search(term, { docId: doc.id, limit: 1000 }).map((h) => h.page),
    alignTo: vcc.segment,
  });
  const query = previous ? ({ kind: 'qa', question: req.question, previous } as const) : ({ kind: 'qa', question: req.question } as const);
  // Answers are quotes of the text read: faithful by construction, and a small model's copy cannot drift.
  const generate = { maxNewTokens: env.maxAnswerTokens, numBeams: 1, quote: true };
  const eos = eosIdOf(tokens);
  const fromPassages = env.runtime.entry.answers === 'passages';
  const task: EngineTask = {
    query,
    documentIds: feedIds(tokens, plan.windows, eos),
    vcc,
    ensureEvidence: true,
    generate: fromPassages ? null : generate,
    localState: { docId: doc.id, modelId: env.runtime.key },
  };
  // The answer is known to be shown only once its confidence is: it is sent whole, not streamed.
  const silent: JobContext = { ...ctx, token: () => {} };
  ctx.progress('encoding', { fraction: 0 });
  const r = await env.runtime.run(silent, task);
  let answered = r;
  let answeredFrom: AskOutcome['answeredFrom'] = 'whole';
  const ranked = questionPassages(searchText, r.evidence, plan.windows, tokens, doc.text);
  const passages = fromPassages ? passageWindows(ranked, tokens) : [];
  if (passages.length > 0) {
    ctx.progress('generating', { fraction: 0, detail: 'reading the best passages again' });
    // the reread's encode takes milliseconds: its progress would only send the bar back to the start
    const quiet: JobContext = { ...silent, progress: (stage, extra) => stage !== 'encoding' && ctx.progress(stage, extra) };
    answered = await env.runtime.run(quiet, { query, documentIds: feedIds(tokens, passages, eos), vcc, attention: 'dense', ensureEvidence: false, generate, localState: null });
    answeredFrom = 'passages';
  } else if (fromPassages) {
    // nothing ranked (no question word occurs and VCC kept every block of a very short text): answer from the whole text, its local layers from the store
    answered = await env.runtime.run(silent, { ...task, generate });
  }
  const confidence = answerConfidence(answered.logProb, answered.outputIds.length, answered.text ?? '');
  const confident = confidence >= env.confidentAt;
  if (confident) ctx.token((answered.text ?? '').trim());
  return {
    answer: confident ? (answered.text ?? '').trim() : '',
    confident,
    confidence,
    answeredFrom,
    citations: ranked.slice(0, CITATIONS).map((p) => citation(doc, p.start, p.end, p.score)),
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
      query: r.queryText,
      generated: (answered.text ?? '').trim(),
      timingsMs: { tokenize: tokenizeMs, encode: r.timingsMs.encode + (answered === r ? 0 : answered.timingsMs.encode), generate: answered.timingsMs.generate },
    },
  };
}

/**
 * Answers below this confidence are not shown: the assistant says it found no confident answer and
 * shows the passages instead. Calibrated on the tune split of tests/bench/data/real-questions.json
 * (tests/bench/real-questions.ts) so that most answers shown are right.
 */
export const CONFIDENT_AT = 0.5;

/**
 * The model's own confidence in an answer: the geometric mean of the probabilities it gave the
 * answer's tokens (end of sequence included), 0 for an empty answer.
 */
export function answerConfidence(logProb: number, tokens: number, text: string): number {
  if (tokens === 0 || text.trim() === '') return 0;
  return Math.exp(logProb / tokens);
}
