import type { AskResult, Citation, CompressionPreset } from '../../common/api';
import type { TextRange } from '../../common/document';
import { qaQueryText, type PreviousTurn } from '../../engine/qa-format';
import { normalizeQuestion } from '../library/cache-keys';
import type { CacheContext } from '../library/caches';
import type { Library } from '../library/library';
import { citation, evidenceRanges } from './citations';
import { collectionCitation, collectionEvidence, collectionRead, describeCollectionWindows, joinCollection, joinedPage, splitAtDocuments, type JoinedCollection } from './collection-reading';
import { passageWindows, windowCharRanges } from './passages';
import { rankPassages } from './passage-ranking';
import type { JobContext } from './job-queue';
import { PRESET_BLOCKS, vccSettingsFor } from './presets';
import { planRead, type PageSearch, type ReadableDocument } from './reading';
import type { ModelRuntime } from './runtime';
import { eosIdOf, feedIds, textTokenCount, type TokenWindow } from './text-ranges';
import type { AskCollectionRequest, AskOutcome, AskRequest, EngineTask, TokenizedText } from './types';

/** Bump when how answers are computed changes, so old cached answers are not served. */
const QA_VERSION = 5;

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
    settings: { v: QA_VERSION, confidentAt: env.confidentAt, answers: env.runtime.entry.answers, compression: env.compression, vcc: PRESET_BLOCKS[env.compression], layout: 'cached', limit: env.limit, sections: req.sections ?? null, maxNewTokens: env.maxAnswerTokens, numBeams: 1 },
  };
}

/**
 * What the answer cache keys an answer on: the question, and for a follow-up the turn before it
 * (the same words after another question are another query).
 */
export function cachedQuestion(req: { question: string }, previous: PreviousTurn | null): string {
  // each question normalized as a lone one is (the cache normalizes the whole string too)
  return previous ? qaQueryText(normalizeQuestion(req.question), { question: normalizeQuestion(previous.question), answer: previous.answer }) : req.question;
}

/**
 * The answer-cache context of a question asked of a collection: its documents, in order, are part
 * of the key (adding or removing one, or reordering them, asks anew). Stored under the first
 * document, so removing it from the library drops these answers with its own.
 */
export function collectionAnswerCacheContext(env: QaEnv, documentIds: readonly string[]): CacheContext {
  const single = answerCacheContext(env, { documentId: documentIds[0]!, question: '' });
  return { ...single, settings: { ...single.settings, collection: [...documentIds] } };
}

/** Full-text search hits kept for one term (for each document of a collection). */
const SEARCH_HITS = 1000;

/**
 * What one question reads and how its findings are named: a document, or a collection's documents
 * joined (then passages never span two documents and each citation names its own).
 */
interface AnswerSource {
  doc: ReadableDocument;
  tokens: TokenizedText;
  search: PageSearch;
  /** The document whose local-layer states the engine keeps (the store's rows belong to a document). */
  ownerId: string;
  scope?: string;
  describe?: (windows: TokenWindow[]) => string;
  passageRanges(windows: TokenWindow[]): TextRange[];
  cite(start: number, end: number, score: number): Citation;
  evidence(evidence: AskResult['evidence']): AskResult['evidence'];
  collection?(windows: TokenWindow[]): AskResult['collection'];
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
  await env.runtime.open(ctx);
  const t0 = performance.now();
  const tokens = await env.runtime.tokens(ctx, doc.id, doc.text);
  const tokenizeMs = performance.now() - t0;
  env.library.documents.ensureTokenCount(doc.id, { modelId: env.runtime.entry.id, count: () => textTokenCount(tokens) });
  const source: AnswerSource = {
    doc,
    tokens,
    search: (term) => env.library.documents.search(term, { docId: doc.id, limit: SEARCH_HITS }).map((h) => h.page),
    ownerId: doc.id,
    passageRanges: (windows) => windowCharRanges(windows, tokens),
    cite: (start, end, score) => citation(doc, start, end, score),
    evidence: (e) => e,
  };
  return answerFrom(ctx, env, source, req.question, req.sections, previous, tokenizeMs);
}

/**
 * Answers a question asked of a collection: its documents joined in order are read as one text
 * (all of it within the limit; over it, the windows full-text search over the collection's pages
 * picks, wherever they are), and every citation and evidence block names its document.
 */
export async function answerCollection(
  ctx: JobContext,
  env: QaEnv,
  req: AskCollectionRequest,
  collection: { id: string; name: string },
  docs: ReadableDocument[],
  previous: PreviousTurn | null = null,
): Promise<Omit<AskOutcome, 'chatId'>> {
  await env.runtime.open(ctx);
  const t0 = performance.now();
  const parts: Array<{ doc: ReadableDocument; tokens: TokenizedText }> = [];
  for (const doc of docs) {
    const tokens = await env.runtime.tokens(ctx, doc.id, doc.text);
    env.library.documents.ensureTokenCount(doc.id, { modelId: env.runtime.entry.id, count: () => textTokenCount(tokens) });
    parts.push({ doc, tokens });
  }
  const tokenizeMs = performance.now() - t0;
  const joined: JoinedCollection = joinCollection(collection, parts);
  const docIds = docs.map((d) => d.id);
  const source: AnswerSource = {
    doc: joined.doc,
    tokens: joined.tokens,
    search: (term) =>
      env.library.documents
        .search(term, { docIds, limit: SEARCH_HITS * docIds.length })
        .flatMap((h) => {
          const page = joinedPage(joined, h.docId, h.page);
          return page === undefined ? [] : [page];
        }),
    ownerId: docIds[0]!,
    scope: `the collection "${collection.name}"`,
    describe: (windows) => describeCollectionWindows(joined, windows),
    passageRanges: (windows) => splitAtDocuments(joined, windowCharRanges(windows, joined.tokens)),
    cite: (start, end, score) => collectionCitation(joined, start, end, score),
    evidence: (e) => collectionEvidence(joined, e),
    collection: (windows) => collectionRead(joined, windows),
  };
  return answerFrom(ctx, env, source, req.question, undefined, previous, tokenizeMs);
}

async function answerFrom(
  ctx: JobContext,
  env: QaEnv,
  source: AnswerSource,
  question: string,
  sections: AskRequest['sections'],
  previous: PreviousTurn | null,
  tokenizeMs: number,
): Promise<Omit<AskOutcome, 'chatId'>> {
  const { doc, tokens } = source;
  // the words that choose what is read and which passages rank: the question's, and a follow-up's previous turn's
  const searchText = previous ? `${previous.question} ${previous.answer} ${question}` : question;
  const facts = await env.runtime.open(ctx);
  ctx.progress('reading');
  const vcc = vccSettingsFor(env.compression, facts.numLayers);
  const plan = planRead(doc, tokens, {
    limit: env.limit,
    sections,
    question: searchText,
    search: source.search,
    ...(source.scope ? { scope: source.scope } : {}),
    ...(source.describe ? { describe: source.describe } : {}),
    alignTo: vcc.segment,
  });
  const query = previous ? ({ kind: 'qa', question, previous } as const) : ({ kind: 'qa', question } as const);
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
    localState: { docId: source.ownerId, modelId: env.runtime.key },
  };
  // The answer is known to be shown only once its confidence is: it is sent whole, not streamed.
  const silent: JobContext = { ...ctx, token: () => {} };
  ctx.progress('encoding', { fraction: 0 });
  const r = await env.runtime.run(silent, task);
  let answered = r;
  let answeredFrom: AskOutcome['answeredFrom'] = 'whole';
  // how sure the model is of the same answer when asked only the question's wh-words (see answerConfidence)
  let blindConfidence = 0;
  const evidence = evidenceRanges(r.evidence, plan.windows, tokens);
  const ranked = rankPassages(doc.text, source.passageRanges(plan.windows), searchText, evidence.flatMap((layer) => layer.blocks));
  const passages = fromPassages ? passageWindows(ranked, tokens) : [];
  if (passages.length > 0) {
    ctx.progress('generating', { fraction: 0, detail: 'reading the best passages again' });
    // the reread's encode takes milliseconds: its progress would only send the bar back to the start
    const quiet: JobContext = { ...silent, progress: (stage, extra) => stage !== 'encoding' && ctx.progress(stage, extra) };
    const reread = { documentIds: feedIds(tokens, passages, eos), vcc, attention: 'dense', ensureEvidence: false, generate, localState: null } as const;
    answered = await env.runtime.run(quiet, { query, ...reread });
    answeredFrom = 'passages';
    if ((answered.text ?? '').trim() !== '') {
      ctx.progress('generating', { fraction: 0.5, detail: 'checking the answer against the question' });
      // its own progress would send the bar back to the start for a run of a fraction of a second
      const blind = await env.runtime.run({ ...silent, progress: () => {} }, { query: { kind: 'qa', question: contentFreeQuestion(question) }, ...reread });
      if ((blind.text ?? '').trim() === (answered.text ?? '').trim()) blindConfidence = answerConfidence(blind.logProb, blind.outputIds.length, blind.text ?? '');
    }
  } else if (fromPassages) {
    // nothing ranked (no question word occurs and VCC kept every block of a very short text): answer from the whole text, its local layers from the store
    answered = await env.runtime.run(silent, { ...task, generate });
  }
  const confidence = answerConfidence(answered.logProb, answered.outputIds.length, answered.text ?? '') * (1 - blindConfidence);
  const confident = confidence >= env.confidentAt;
  if (confident) ctx.token((answered.text ?? '').trim());
  return {
    answer: confident ? (answered.text ?? '').trim() : '',
    confident,
    confidence,
    answeredFrom,
    citations: ranked.slice(0, CITATIONS).map((p) => source.cite(p.start, p.end, p.score)),
    evidence: source.evidence(evidence),
    cached: false,
    model: env.runtime.entry.id,
    documentTokens: plan.documentTokens,
    read: plan.read,
    ...(source.collection ? { collection: source.collection(plan.windows) } : {}),
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
 * answer's tokens (end of sequence included), 0 for an empty answer. When the answer is read from
 * passages, it is scaled by 1 - the same measure for the same answer given with the question's
 * content words taken away (contentFreeQuestion): a small model that names the book's heroine for
 * any "Who ...?" is sure of her without the question too, and that certainty is not evidence.
 */
export function answerConfidence(logProb: number, tokens: number, text: string): number {
  if (tokens === 0 || text.trim() === '') return 0;
  return Math.exp(logProb / tokens);
}

const WH = /^\s*(how many|how much|in which|in what|to what|which|what|whom|whose|who|where|when|why|how)\b/i;

/** The question with its content taken away: its wh-words alone ("Who?"), or "What?" when it has none. */
export function contentFreeQuestion(question: string): string {
  const wh = WH.exec(question)?.[1] ?? 'what';
  return `${wh[0]!.toUpperCase()}${wh.slice(1).toLowerCase()}?`;
}
