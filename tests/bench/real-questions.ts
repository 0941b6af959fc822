/**
 * Benchmark (not a test): real questions about real books, through the assistant as the app and the
 * CLI ask them (library, full-text windows over the limit, VCC, fused passage ranking, rereading,
 * confidence). The questions are tests/bench/data/real-questions.json, about the evaluation books the
 * bundled model never trained on, worded as readers word them, each with its answer aliases.
 *
 * Per question it records the assistant's answer, confidence and five citations, and, from the same
 * run, what each signal alone would have cited: BM25's top five passages of the text read, and VCC's
 * five best fine-block sentences (the citations before fusion). Printed per split (tune / heldout):
 *   citation recall  the five citations contain an answer alias (fused / BM25 alone / VCC alone)
 *   answers          exact match (SQuAD normalization) of the generated answer, shown or not
 *   shown            answers at or above the confidence threshold: coverage and precision
 *   trunc-4k bound   questions whose evidence lies in the first 4K tokens: the most truncation could reach
 * and, on the tune split only, precision and coverage at other thresholds (how CONFIDENT_AT was chosen).
 *
 *   node bin/run-ts.mjs tests/bench/real-questions.ts [--model models/default] [--split tune|heldout|all]
 *        [--limit 131072] [--max N] [--json out.json]
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { AskResult, Citation } from '../../common/api';
import { loadTokenizer } from '../../engine/tokenizer';
import { Assistant } from '../../main/assistant/assistant';
import { mergedBlocks } from '../../main/assistant/citations';
import { attentionScores, bm25, passagesOf } from '../../main/assistant/passage-ranking';
import { CONFIDENT_AT } from '../../main/assistant/qa';
import { snapQuote } from '../../main/assistant/sentences';
import { Library } from '../../main/library/library';
import { normalizeAnswer } from '../../models/recipe/qa-gen';

interface RealQuestion {
  id: string;
  book: string;
  question: string;
  answers: string[];
  evidence: string;
  split: 'tune' | 'heldout';
}

const here = path.dirname(fileURLToPath(import.meta.url));
const arg = (name: string, dflt: string) => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? process.argv[i + 1]! : dflt;
};
const modelDir = path.resolve(arg('model', path.join(here, '..', '..', 'models', 'default')));
const split = arg('split', 'all');
const limit = Number(arg('limit', '131072'));
const max = Number(arg('max', '100000'));
const jsonOut = arg('json', '');
const booksDir = path.resolve(here, '..', '..', '..', 'shared', 'corpus', 'books');

const all = (JSON.parse(readFileSync(path.join(here, 'data', 'real-questions.json'), 'utf8')) as { questions: RealQuestion[] }).questions;
const questions = all.filter((q) => split === 'all' || q.split === split).slice(0, max);

const flat = (s: string) => s.replace(/\s+/g, ' ').toLowerCase().replace(/[’‘]/g, "'");
const holdsAlias = (q: RealQuestion, s: string) => q.answers.some((a) => flat(s).includes(flat(a)));
const isRight = (q: RealQuestion, answer: string) => answer.trim() !== '' && q.answers.some((a) => normalizeAnswer(a) === normalizeAnswer(answer));

interface Row {
  id: string;
  split: string;
  question: string;
  answer: string;
  generated: string;
  confidence: number;
  confident: boolean;
  right: boolean;
  fused: boolean;
  bm25: boolean;
  vcc: boolean;
  inFirst4k: boolean;
  seconds: number;
  citations: string[];
  /** Every passage either signal found: its scores and whether it holds an answer alias (to study other fusions offline). */
  passages: Array<{ lexical: number; attention: number; alias: boolean }>;
}

const home = mkdtempSync(path.join(os.tmpdir(), 'longread-real-questions-'));
const rows: Row[] = [];
try {
  const library = Library.open({ home });
  const assistant = await Assistant.open({ library, home, modelDir, maxDocumentTokens: limit });
  const tokenizer = await loadTokenizer(modelDir);
  for (const book of [...new Set(questions.map((q) => q.book))]) {
    const doc = (await library.add(path.join(booksDir, book))).document;
    const text = library.documents.text(doc.id)!;
    // the character where the first 4K tokens end (truncation's reach)
    const enc = tokenizer.encodeWithOffsets(text.slice(0, 40_000));
    const trunc4k = enc.offsets[Math.min(4096, enc.ids.length) - 1]?.[1] ?? text.length;
    for (const q of questions.filter((x) => x.book === book)) {
      const t0 = performance.now();
      const r = await assistant.ask({ documentId: doc.id, question: q.question }, () => {}).result;
      const seconds = (performance.now() - t0) / 1000;
      const readRanges = r.read.windows.map((w) => ({ start: w.startChar, end: w.endChar }));
      const passages = passagesOf(text, readRanges);
      const lexical = bm25(text, passages, q.question);
      const bm25Top = [...lexical.keys()].filter((i) => lexical[i]! > 0).sort((a, b) => lexical[b]! - lexical[a]!).slice(0, 5).map((i) => text.slice(passages[i]!.start, passages[i]!.end));
      const vccTop = vccSentences(text, r.evidence, 5);
      const attention = attentionScores(passages, r.evidence.flatMap((l) => l.blocks));
      const evidenceAt = flat(text).indexOf(flat(q.evidence));
      const row: Row = {
        id: q.id,
        split: q.split,
        question: q.question,
        answer: r.answer,
        generated: r.engine?.generated ?? r.answer,
        confidence: r.confidence,
        confident: r.confident,
        right: isRight(q, r.engine?.generated ?? r.answer),
        fused: r.citations.some((c: Citation) => holdsAlias(q, c.quote)),
        bm25: bm25Top.some((p) => holdsAlias(q, p)),
        vcc: vccTop.some((p) => holdsAlias(q, p)),
        inFirst4k: evidenceAt >= 0 && evidenceAt < trunc4k,
        seconds,
        citations: r.citations.map((c) => c.quote.slice(0, 120)),
        passages: passages.flatMap((p, i) => (lexical[i]! > 0 || attention[i]! > 0 ? [{ lexical: lexical[i]!, attention: attention[i]!, alias: holdsAlias(q, text.slice(p.start, p.end)) }] : [])),
      };
      rows.push(row);
      process.stderr.write(
        `${q.id} ${seconds.toFixed(1)}s conf ${row.confidence.toFixed(3)} ${row.right ? 'RIGHT' : 'wrong'} “${row.generated}” cites: fused ${+row.fused} bm25 ${+row.bm25} vcc ${+row.vcc}  ${q.question}\n`,
      );
    }
  }
  await assistant.close();
  library.close();
} finally {
  rmSync(home, { recursive: true, force: true });
}

/** VCC alone: the five best fine blocks over the layers (summed), widened to their sentences. */
function vccSentences(text: string, evidence: AskResult['evidence'], count: number): string[] {
  const out: Array<{ start: number; end: number }> = [];
  for (const b of mergedBlocks(evidence.map((l) => ({ layer: l.layer, blocks: l.blocks })))) {
    if (out.length >= count) break;
    const s = snapQuote(text, b.start, b.end);
    if (!out.some((o) => o.start < s.end && s.start < o.end)) out.push(s);
  }
  return out.map((s) => text.slice(s.start, s.end));
}

const pct = (n: number, d: number) => (d === 0 ? '–' : `${Math.round((100 * n) / d)} %`);
for (const s of ['tune', 'heldout']) {
  const part = rows.filter((r) => r.split === s);
  if (part.length === 0) continue;
  const n = part.length;
  const count = (f: (r: Row) => boolean) => part.filter(f).length;
  const shown = part.filter((r) => r.confident);
  console.log(`\n${s}: ${n} questions (model ${path.basename(modelDir)}, limit ${limit}, threshold ${CONFIDENT_AT})`);
  console.log('| measure | value |\n|---|---|');
  console.log(`| citation recall, fused (the assistant's five citations) | ${count((r) => r.fused)} / ${n} (${pct(count((r) => r.fused), n)}) |`);
  console.log(`| citation recall, BM25 alone (top 5 passages) | ${count((r) => r.bm25)} / ${n} (${pct(count((r) => r.bm25), n)}) |`);
  console.log(`| citation recall, VCC alone (top 5 fine-block sentences) | ${count((r) => r.vcc)} / ${n} (${pct(count((r) => r.vcc), n)}) |`);
  console.log(`| answer exact match (generated, shown or not) | ${count((r) => r.right)} / ${n} |`);
  console.log(`| answers shown (coverage) | ${shown.length} / ${n} (${pct(shown.length, n)}) |`);
  console.log(`| precision of the answers shown | ${shown.filter((r) => r.right).length} / ${shown.length} (${pct(shown.filter((r) => r.right).length, shown.length)}) |`);
  console.log(`| evidence in the first 4K tokens (truncation's reach) | ${count((r) => r.inFirst4k)} / ${n} |`);
  console.log(`| median seconds per question | ${part.map((r) => r.seconds).sort((a, b) => a - b)[n >> 1]!.toFixed(1)} |`);
  if (s === 'tune') {
    console.log('\nthreshold: shown / right among shown');
    for (const t of [0.05, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9]) {
      const at = part.filter((r) => r.generated !== '' && r.confidence >= t);
      console.log(`  ${t.toFixed(2)}: ${at.length} / ${at.filter((r) => r.right).length}`);
    }
  }
}
const cited = new Map<string, number>();
for (const r of rows) for (const c of r.citations) cited.set(c, (cited.get(c) ?? 0) + 1);
const repeated = [...cited.entries()].sort((a, b) => b[1] - a[1])[0];
if (repeated) console.log(`\nmost repeated citation: cited for ${repeated[1]} of ${rows.length} questions: “${repeated[0].slice(0, 80)}…”`);
if (jsonOut) writeFileSync(jsonOut, JSON.stringify(rows, null, 1));
