import type { Citation, CompressionPreset } from '../../common/api';
import type { TextRange } from '../../common/document';
import { summaryQueryText } from '../../engine/qa-format';
import type { CacheContext } from '../library/caches';
import type { Library } from '../library/library';
import { citation, citationsFromEvidence, tokenScores } from './citations';
import type { JobContext } from './job-queue';
import { PRESET_BLOCKS, vccSettingsFor } from './presets';
import { sectionTokens, type ReadableDocument } from './reading';
import type { ModelRuntime } from './runtime';
import { pickSentences, sentencesIn, type ScoredSentence } from './sentences';
import { charEnd, charStart, eosIdOf, feedIds, quoteOf, textTokenCount, tokenAtChar, type TokenWindow } from './text-ranges';
import type { ModelFacts, SummarizeRequest, SummaryOutcome, TokenizedText } from './types';

const SUMMARY_VERSION = 1;

/** Sentences in an extractive summary: of the whole, and of each part in the map step. */
const SENTENCES = { short: { whole: 5, part: 2 }, detailed: { whole: 12, part: 4 } } as const;

export interface SummaryEnv {
  library: Library;
  runtime: ModelRuntime;
  compression: CompressionPreset;
  limit: number;
  maxSummaryTokens: number;
}

type Length = 'short' | 'detailed';

/** A summary of one stretch of text, with the passages it stands on. */
interface PartSummary {
  summary: string;
  citations: Citation[];
  /** Extractive: the chosen sentences (document character ranges). */
  sentences: ScoredSentence[];
}

export function summaryCacheContext(env: SummaryEnv, length: Length): CacheContext {
  const kind = env.runtime.entry.summaries;
  return {
    docId: '',
    modelId: env.runtime.key,
    settings: { v: SUMMARY_VERSION, kind, compression: env.compression, vcc: PRESET_BLOCKS[env.compression], layout: 'cached', limit: env.limit, length, ...(kind === 'abstractive' ? { maxNewTokens: maxTokens(env, length) } : {}) },
  };
}

function maxTokens(env: SummaryEnv, length: Length): number {
  return length === 'short' ? Math.max(8, Math.round(env.maxSummaryTokens / 3)) : env.maxSummaryTokens;
}

export function summaryScope(req: SummarizeRequest): string {
  return req.section === undefined ? 'document' : `section:${req.section}`;
}

/**
 * Whole document (or one section) in one pass when it fits the limit; otherwise map–reduce:
 * each chapter (split further when a chapter alone is over the limit) is summarized and
 * cached, then the chapter summaries are summarized. Extractive for the bundled model
 * (sentences ranked by the VIP tokens' attention, redundancy removed with MMR, in document
 * order); abstractive (generated) for imported models.
 */
export async function summarize(ctx: JobContext, env: SummaryEnv, req: SummarizeRequest, doc: ReadableDocument): Promise<Omit<SummaryOutcome, 'cached'>> {
  const facts = await env.runtime.open(ctx);
  const tokens = await env.runtime.tokens(ctx, doc.id, doc.text);
  const length = req.length;
  const range = req.section === undefined ? { start: 0, end: textTokenCount(tokens) } : sectionTokens(doc, tokens, { from: req.section, to: req.section });
  const budget = env.limit - 1;
  const cache = { ...summaryCacheContext(env, length), docId: doc.id };
  const sectionTitle = req.section === undefined ? null : doc.sections[req.section]!.title;
  const common = { kind: env.runtime.entry.summaries, model: env.runtime.entry.id } as const;

  if (range.end - range.start <= budget) {
    const part = await summarizePart(ctx, env, facts, doc, tokens, range, length, 'whole', true);
    return { ...common, summary: part.summary, citations: part.citations, sections: req.section === undefined ? [] : [{ index: req.section, title: sectionTitle!, summary: part.summary }] };
  }

  const parts = partsOf(doc, tokens, range, budget);
  const done: Array<{ part: Part; summary: PartSummary }> = [];
  for (let i = 0; i < parts.length; i++) {
    const part = parts[i]!;
    const step = stepContext(ctx, i, parts.length, `part ${i + 1} of ${parts.length}: ${part.title}`);
    step.progress('summarizing');
    const scope = `part:${part.window.start}-${part.window.end}:${length}`;
    let s = req.regenerate ? null : env.library.summaries.get<PartSummary>(cache, scope);
    if (!s) {
      s = await summarizePart(step, env, facts, doc, tokens, part.window, length, 'part', false);
      env.library.summaries.put(cache, s, scope);
    }
    done.push({ part, summary: s });
  }
  const last = stepContext(ctx, parts.length, parts.length, 'summary of the parts');
  last.progress('summarizing');
  const reduced = await reduce(last, env, facts, doc, done.map((d) => d.summary), length);

  const bySection = new Map<number, { index: number; title: string; summary: string[] }>();
  for (const { part, summary } of done) {
    const key = part.sectionIndex ?? -1 - part.window.start;
    const entry = bySection.get(key) ?? { index: part.sectionIndex ?? 0, title: part.title, summary: [] };
    entry.summary.push(summary.summary);
    bySection.set(key, entry);
  }
  return {
    ...common,
    summary: reduced.summary,
    citations: reduced.citations,
    sections: [...bySection.values()].map((s) => ({ index: s.index, title: s.title, summary: s.summary.filter(Boolean).join(' ') })),
  };
}

/**
 * Map–reduce reports one overall 'summarizing' progress: step i of n + 1 (the last is the
 * reduce), advanced within the step by its encoding and generation.
 */
function stepContext(ctx: JobContext, i: number, n: number, detail: string): JobContext {
  return {
    ...ctx,
    progress: (stage, extra = {}) => {
      const within = stage === 'encoding' || stage === 'generating' ? Math.min(1, extra.fraction ?? 0) : 0;
      ctx.progress('summarizing', { fraction: (i + within) / (n + 1), detail, ...(extra.tokensPerSecond ? { tokensPerSecond: extra.tokensPerSecond } : {}) });
    },
  };
}

interface Part {
  window: TokenWindow;
  title: string;
  sectionIndex: number | null;
}

/** The top-level sections inside `range` (with any text before the first), each cut to the budget. */
function partsOf(doc: ReadableDocument, tokens: TokenizedText, range: TokenWindow, budget: number): Part[] {
  const top = Math.min(...doc.sections.map((s) => s.level));
  const starts: Array<{ at: number; title: string; sectionIndex: number | null }> = [];
  doc.sections.forEach((s, index) => {
    if (s.level !== top) return;
    const at = tokenAtChar(tokens, s.start);
    if (at > range.start && at < range.end) starts.push({ at, title: s.title, sectionIndex: index });
  });
  const heads = [{ at: range.start, title: doc.sections.length ? 'Beginning' : doc.title, sectionIndex: null as number | null }, ...starts];
  const inner = doc.sections.findIndex((s) => s.level === top && tokenAtChar(tokens, s.start) === range.start);
  if (inner >= 0) heads[0] = { at: range.start, title: doc.sections[inner]!.title, sectionIndex: inner };
  const parts: Part[] = [];
  heads.forEach((h, i) => {
    const end = i + 1 < heads.length ? heads[i + 1]!.at : range.end;
    for (let s = h.at; s < end; s += budget) parts.push({ window: { start: s, end: Math.min(end, s + budget) }, title: h.title, sectionIndex: h.sectionIndex });
  });
  return parts.filter((p) => p.window.end > p.window.start);
}

async function summarizePart(
  ctx: JobContext,
  env: SummaryEnv,
  facts: ModelFacts,
  doc: ReadableDocument,
  tokens: TokenizedText,
  window: TokenWindow,
  length: Length,
  size: 'whole' | 'part',
  stream: boolean,
): Promise<PartSummary> {
  const abstractive = env.runtime.entry.summaries === 'abstractive';
  const r = await env.runtime.run(
    ctx,
    {
      query: { kind: 'text', text: summaryQueryText(length) },
      documentIds: feedIds(tokens, [window], eosIdOf(tokens)),
      vcc: vccSettingsFor(env.compression, facts.numLayers),
      ensureEvidence: true,
      generate: abstractive ? { maxNewTokens: maxTokens(env, length), numBeams: 1, quote: false } : null,
      localState: { docId: doc.id, modelId: env.runtime.key },
    },
    stream && abstractive,
  );
  if (abstractive) return { summary: (r.text ?? '').trim(), citations: citationsFromEvidence(r.evidence, [window], tokens, doc), sentences: [] };
  const scores = tokenScores(r.evidence, window.end - window.start + 1);
  const candidates = scoredSentences(doc.text, sentencesIn(doc.text, charStart(tokens, window.start), charEnd(tokens, window.end)), (s) => {
    const a = Math.max(window.start, tokenAtChar(tokens, s.start)) - window.start;
    const b = Math.min(window.end, tokenAtChar(tokens, s.end)) - window.start;
    return { scores, a, b };
  });
  const chosen = choose(doc.text, candidates, SENTENCES[length][size]);
  return extractive(doc, chosen);
}

function scoredSentences(text: string, sentences: TextRange[], span: (s: TextRange) => { scores: Float32Array; a: number; b: number }): ScoredSentence[] {
  return sentences.map((s) => {
    const { scores, a, b } = span(s);
    let sum = 0;
    for (let t = a; t < b; t++) sum += scores[t]!;
    // mean attention over the sentence, mildly favouring longer sentences (they carry more)
    const score = b > a ? sum / Math.sqrt(b - a) : 0;
    return { ...s, score: usable(text, s) ? score : 0 };
  });
}

/** Sentences worth quoting in a summary: whole sentences of a sensible length, not headings or lists of numbers. */
function usable(text: string, s: TextRange): boolean {
  const words = quoteOf(text, s.start, s.end).split(' ').length;
  return words >= 5 && words <= 90 && /[\p{L}]/u.test(text.slice(s.start, s.end));
}

/**
 * MMR over the scored sentences. A text too short for the engine to rank anything (fewer than two
 * blocks) has no scores: then it is its own summary, its first sentences as they stand.
 */
function choose(text: string, candidates: ScoredSentence[], count: number): ScoredSentence[] {
  const picked = pickSentences(text, candidates, count);
  return picked.length > 0 ? picked : candidates.slice(0, count);
}

function extractive(doc: ReadableDocument, chosen: ScoredSentence[]): PartSummary {
  return {
    summary: chosen.map((s) => quoteOf(doc.text, s.start, s.end)).join(' '),
    citations: chosen.map((s) => citation(doc, s.start, s.end, s.score)),
    sentences: chosen,
  };
}

/** The summary of the part summaries: their text as the document, read with the same instruction. */
async function reduce(ctx: JobContext, env: SummaryEnv, facts: ModelFacts, doc: ReadableDocument, parts: PartSummary[], length: Length): Promise<PartSummary> {
  const abstractive = env.runtime.entry.summaries === 'abstractive';
  // the joined text, with where each extractive sentence sits in it
  let joined = '';
  const placed: Array<{ at: TextRange; sentence: ScoredSentence }> = [];
  for (const p of parts) {
    if (abstractive) {
      if (p.summary) joined += (joined ? '\n\n' : '') + p.summary;
      continue;
    }
    for (const s of p.sentences) {
      const q = quoteOf(doc.text, s.start, s.end);
      if (joined) joined += ' ';
      placed.push({ at: { start: joined.length, end: joined.length + q.length }, sentence: s });
      joined += q;
    }
  }
  if (!joined) return { summary: '', citations: [], sentences: [] };
  const tokens = await env.runtime.tokens(ctx, `reduce:${doc.id}:${joined.length}:${hashText(joined)}`, joined);
  const budget = env.limit - 1;
  const window = { start: 0, end: Math.min(textTokenCount(tokens), budget) };
  const r = await env.runtime.run(
    ctx,
    {
      query: { kind: 'text', text: summaryQueryText(length) },
      documentIds: feedIds(tokens, [window], eosIdOf(tokens)),
      vcc: vccSettingsFor(env.compression, facts.numLayers),
      ensureEvidence: true,
      generate: abstractive ? { maxNewTokens: maxTokens(env, length), numBeams: 1, quote: false } : null,
      localState: null,
    },
    abstractive,
  );
  if (abstractive) {
    const cites = parts.flatMap((p) => p.citations).sort((a, b) => b.score - a.score).slice(0, 5);
    return { summary: (r.text ?? '').trim(), citations: cites, sentences: [] };
  }
  const scores = tokenScores(r.evidence, window.end + 1);
  const scored = placed.map(({ at, sentence }) => {
    const a = Math.min(window.end, tokenAtChar(tokens, at.start));
    const b = Math.min(window.end, tokenAtChar(tokens, at.end));
    let sum = 0;
    for (let t = a; t < b; t++) sum += scores[t]!;
    return { ...sentence, score: b > a ? sum / Math.sqrt(b - a) : 0 };
  });
  return extractive(doc, choose(doc.text, scored, SENTENCES[length].whole));
}

function hashText(s: string): number {
  let h = 2166136261;
  for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 16777619);
  return h >>> 0;
}
