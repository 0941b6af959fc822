/**
 * Builds the default model's T5-style Unigram tokenizer.json from the TRAINING text only:
 * <pad>=0 </s>=1 <unk>=2, ▁-prefixed word-initial pieces, log-probability scores, WhitespaceSplit +
 * Metaspace pre-tokenizer and the "$A </s>" template, as Hugging Face T5 tokenizers are laid out.
 *
 * Method (a small, deterministic unigram-LM vocabulary learner): count words; propose every substring
 * of 2..MAX_LEN characters (word-initial ones with ▁); score pieces by frequency; then a few rounds of
 * hard EM — Viterbi-segment every distinct word with the current scores, recount piece usage, keep the
 * most used pieces (all single characters always stay, so nothing seen in training becomes <unk>). No piece
 * mixes word characters and punctuation (see mixesWordAndPunctuation).
 *
 *   node bin/run-ts.mjs models/recipe/build-tokenizer.ts --out DIR [--pieces 8000]
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { trainSources } from './corpus';
import { T5_SPECIALS as SPECIALS, t5UnigramTokenizerJson } from '../../scripts/make-tiny-t5';
import { META } from '../../scripts/tiny-vocab';

const MAX_LEN = 12;
/** Characters always present (printable ASCII and common typography), whether or not training text has them. */
const BASE_CHARS = [
  ...Array.from({ length: 94 }, (_, i) => String.fromCharCode(33 + i)),
  ...'’‘“”—–…éèàçñüöäïâêôîûæœŒÉÀÆ«»°£§¡¿×·•™©®½¼¾',
];

/**
 * Pieces never join letters or digits with punctuation: then "Josephine." is segmented as "Josephine" then
 * ".", exactly as the bare answer "Josephine" is, so a model can answer by copying the document's pieces.
 */
function mixesWordAndPunctuation(piece: string): boolean {
  const body = piece.startsWith(META) ? piece.slice(1) : piece;
  return /[\p{L}\p{N}]/u.test(body) && /[^\p{L}\p{N}]/u.test(body);
}

function viterbi(word: string, scores: Map<string, number>): string[] | null {
  const n = word.length;
  const best = new Float64Array(n + 1).fill(-Infinity);
  const back = new Int32Array(n + 1).fill(-1);
  best[0] = 0;
  for (let i = 0; i < n; i++) {
    if (best[i] === -Infinity) continue;
    for (let l = 1; l <= MAX_LEN + 1 && i + l <= n; l++) {
      const s = scores.get(word.slice(i, i + l));
      if (s === undefined) continue;
      const v = best[i]! + s;
      if (v > best[i + l]!) {
        best[i + l] = v;
        back[i + l] = i;
      }
    }
  }
  if (best[n] === -Infinity) return null;
  const pieces: string[] = [];
  for (let j = n; j > 0; j = back[j]!) pieces.push(word.slice(back[j]!, j));
  return pieces.reverse();
}

export async function buildTokenizer(out: string, target = 8000): Promise<{ pieces: number; file: string }> {
  const sources = await trainSources();
  const words = new Map<string, number>();
  for (const s of sources) for (const m of s.text.matchAll(/\S+/g)) words.set(m[0], (words.get(m[0]) ?? 0) + 1);
  const wordList = [...words.entries()].sort((a, b) => (a[0] < b[0] ? -1 : 1)).map(([w, c]) => [META + w, c] as const);

  // Characters: everything in training text plus the base set.
  const charCount = new Map<string, number>();
  for (const [w, c] of wordList) for (const ch of w) charCount.set(ch, (charCount.get(ch) ?? 0) + c);
  for (const ch of BASE_CHARS) if (!charCount.has(ch)) charCount.set(ch, 1);
  const chars = [...charCount.keys()].sort();
  const charSet = new Set(chars);

  // Candidate substrings (code-unit slices of surrogate pairs would be broken pieces: skip them).
  const cand = new Map<string, number>();
  for (const [w, c] of wordList) {
    for (let i = 0; i < w.length; i++) {
      for (let l = 2; l <= MAX_LEN + (i === 0 ? 1 : 0) && i + l <= w.length; l++) {
        const p = w.slice(i, i + l);
        if (/[\uD800-\uDFFF]/.test(p)) continue;
        if (mixesWordAndPunctuation(p)) continue;
        cand.set(p, (cand.get(p) ?? 0) + c);
      }
    }
  }
  let multi = [...cand.entries()].filter(([, c]) => c >= 3).sort((a, b) => b[1] * b[0].length - a[1] * a[0].length || (a[0] < b[0] ? -1 : 1));
  multi = multi.slice(0, target * 6);

  const totalOf = (m: Map<string, number>) => [...m.values()].reduce((a, b) => a + b, 0);
  let counts = new Map<string, number>(multi);
  for (const ch of chars) counts.set(ch, Math.max(1, charCount.get(ch)!));
  const budget = target - SPECIALS.length;
  for (let round = 0; round < 5; round++) {
    const total = totalOf(counts);
    const scores = new Map<string, number>();
    for (const [p, c] of counts) scores.set(p, Math.log(c / total));
    // Single characters get a penalty so whole pieces win where they exist.
    const used = new Map<string, number>();
    for (const [w, c] of wordList) {
      const seg = viterbi(w, scores);
      if (!seg) continue;
      for (const p of seg) used.set(p, (used.get(p) ?? 0) + c);
    }
    const keepN = Math.max(budget, Math.round(counts.size * 0.6));
    const ranked = [...used.entries()].filter(([p]) => !charSet.has(p)).sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1));
    const keep = ranked.slice(0, Math.max(0, Math.min(keepN, budget) - chars.length));
    counts = new Map(keep);
    for (const ch of chars) counts.set(ch, Math.max(1, used.get(ch) ?? 1));
    if (keepN <= budget && round >= 2) break;
  }
  // Final scores from a last segmentation pass (add-one smoothing keeps every piece reachable).
  const total0 = totalOf(counts);
  const s0 = new Map<string, number>();
  for (const [p, c] of counts) s0.set(p, Math.log(c / total0));
  const finalUse = new Map<string, number>();
  for (const p of counts.keys()) finalUse.set(p, 1);
  for (const [w, c] of wordList) for (const p of viterbi(w, s0) ?? []) finalUse.set(p, finalUse.get(p)! + c);
  const total = totalOf(finalUse);
  const pieces = [...finalUse.entries()].sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1));
  const json = t5UnigramTokenizerJson(pieces.map(([p, c]): [string, number] => [p, Math.round(Math.log(c / total) * 1e4) / 1e4]));
  mkdirSync(out, { recursive: true });
  const file = path.join(out, 'tokenizer.json');
  writeFileSync(file, JSON.stringify(json) + '\n');
  const w = (name: string, v: unknown) => writeFileSync(path.join(out, name), JSON.stringify(v, null, 2) + '\n');
  w('special_tokens_map.json', { eos_token: '</s>', pad_token: '<pad>', unk_token: '<unk>' });
  w('tokenizer_config.json', {
    added_tokens_decoder: Object.fromEntries(
      SPECIALS.map((content, id) => [String(id), { content, lstrip: false, normalized: false, rstrip: false, single_word: false, special: true }]),
    ),
    additional_special_tokens: [],
    clean_up_tokenization_spaces: false,
    eos_token: '</s>',
    extra_ids: 0,
    model_max_length: 131072,
    pad_token: '<pad>',
    tokenizer_class: 'T5Tokenizer',
    unk_token: '<unk>',
  });
  return { pieces: SPECIALS.length + pieces.length, file };
}

function arg(name: string): string | undefined {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1] : undefined;
}

const out = arg('out');
if (!out) {
  console.error('usage: build-tokenizer.ts --out DIR [--pieces 8000]');
  process.exit(2);
}
const r = await buildTokenizer(out, Number(arg('pieces') ?? 8000));
console.log(`tokenizer: ${r.pieces} pieces -> ${r.file}`);
