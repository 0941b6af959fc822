import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import iconv from 'iconv-lite';
import { parseSentencePieceModel, PrecompiledCharsmap, t5TokenizerJsonFromSentencePiece } from '../../engine/sentencepiece';
import { loadTokenizer, type T5Tokenizer } from '../../engine/tokenizer';
import { ingestFile } from '../../main/ingest';
import { repoRoot } from '../library/helpers/corpus';

/**
 * The real T5 / Flan-T5 tokenizer files (google-t5/t5-base: legacy-schema tokenizer.json and
 * spiece.model) against SentencePiece itself (Debian's python3-sentencepiece), for both the
 * folder's tokenizer.json and a folder holding only spiece.model. The relationship, for text
 * without special-token strings such as "</s>" or "<extra_id_0>" (Hugging Face's tokenizer reads
 * those as the special tokens; SentencePiece spells them out piece by piece):
 *   encode(text, { addEos: false }) === concat over words w of sp.encode(w)  (exactly)
 *   encode(text) === that + [1]                                              (T5 appends </s>)
 *   encode(text, { addEos: false }) === sp.encode(text), except where two segmentations of a word
 *     tie in exact arithmetic and SentencePiece's float32 running total over the earlier words
 *     of the text rounds the tie the other way ("----" as "---" "-" or "-" "---").
 * Words are encoded independently (as Hugging Face's WhitespaceSplit does); that keeps a book's
 * ids from depending on float32 rounding of a total over hundreds of thousands of tokens.
 */

const SHARED_TOKENIZER = path.join(repoRoot, '..', 'shared', 'models/t5-tokenizer');
const BOOKS = path.join(repoRoot, '..', 'shared', 'corpus/books');
const PYTHON = '/usr/bin/python3';
const REFERENCE_SCRIPT = path.join(repoRoot, 'scripts/sentencepiece-reference.py');

function sentencePieceMissing(): string | null {
  if (!existsSync(path.join(SHARED_TOKENIZER, 'spiece.model'))) return `${SHARED_TOKENIZER} is absent`;
  const r = spawnSync(PYTHON, ['-c', 'import sentencepiece'], { encoding: 'utf8' });
  if (r.status !== 0) return `${PYTHON} cannot import sentencepiece (apt-get install python3-sentencepiece): ${r.stderr ?? r.error}`;
  return null;
}

function referenceIds(texts: string[]): number[][] {
  const r = spawnSync(PYTHON, [REFERENCE_SCRIPT, path.join(SHARED_TOKENIZER, 'spiece.model')], {
    input: JSON.stringify(texts),
    encoding: 'utf8',
    maxBuffer: 256 * 1024 * 1024,
  });
  assert.equal(r.status, 0, r.stderr);
  const ids = JSON.parse(r.stdout) as number[][];
  assert.equal(ids.length, texts.length);
  return ids;
}

/** Lines the books lack: other scripts, accents, digits, odd whitespace, characters SentencePiece's charsmap rewrites. */
const HANDWRITTEN = [
  '北京是中华人民共和国的首都。',
  '東京都は日本の首都です。ひらがなとカタカナ。',
  '서울은 대한민국의 수도이다.',
  'القاهرة هي عاصمة مصر، وأكبر مدنها.',
  'Ça été très élégant : déjà-vu, naïve, façade, Ægir, Øresund, Straße, İstanbul.',
  'Crème brûlée costs €4.50 — or £3,99 — at the café “Le Cœur”.',
  'Ｆｕｌｌｗｉｄｔｈ ＡＢＣ １２３ and ﬁne ﬂowers ½ ¼ ① ② ™ ㎏ ℃',
  'Numbers: 0 7 42 1984 3.14159 2,718,281 10^6 +1-555-0100 #3 4th 1st 2nd.',
  '   leading spaces, then    runs   of     spaces   ',
  'tabs\tbetween\t\twords\t',
  'line one\n\nline three after an empty line\n\n\n',
  '\r\nwindows\r\nline\r\nendings\r\n',
  '',
  ' ',
  '\n\n\t \n',
  'vertical\u000btab and form\u000cfeed; zero\u200bwidth space; no\u00a0break space; ideographic\u3000space',
  'bom\ufeffinside; soft\u00adhyphen; combining e\u0301 and a\u0308; ellipsis… dash – —',
  'emoji 😀👍🏽 and symbols ☃ ♥ ✓ ∑ ∞ ≠ ≤',
  'A\u2581meta\u2581space already.',
  'Ελληνικά: Αθήνα είναι η πρωτεύουσα. Русский: Москва — столица России.',
  'हिन्दी भारत की भाषा है। ไทย ภาษาไทย',
  '"Quotes," (brackets) [square] {curly} <angle> \'single\' `back` ~tilde~ _under_ *star* /slash\\ |pipe|',
  '....   ,,,,  !!!!  ???  ---  ___  ',
  'ALL CAPS SHOUTING and MiXeD cAsE and camelCaseWords and snake_case_words.',
];

/** Real text: sentences of every book in the corpus as the app reads it, plus raw multi-line windows with their whitespace. */
async function corpusTexts(): Promise<string[]> {
  const texts: string[] = [];
  const books = ['pg2701.txt', 'pg1342.txt', 'pg84.txt', 'pg64317.txt', 'alice.epub'];
  for (const name of books) {
    const doc = await ingestFile(path.join(BOOKS, name));
    const sentences = doc.text.split(/(?<=[.!?;:])\s+/).filter((s) => s.trim().length > 0);
    const step = Math.max(1, Math.floor(sentences.length / 450));
    for (let i = 0; i < sentences.length; i += step) texts.push(sentences[i]!);
    if (name.endsWith('.txt')) {
      // The file as is: Windows-1252, CRLF line ends, indented lines, blank lines.
      const raw = iconv.decode(readFileSync(path.join(BOOKS, name)), 'win1252');
      for (let at = 10_000; at + 1_500 < raw.length && texts.length < 100_000; at += Math.floor(raw.length / 40)) texts.push(raw.slice(at, at + 1_500));
    }
  }
  return texts;
}

const missing = sentencePieceMissing();

describe('the real T5 tokenizer gives SentencePiece ids', { skip: missing ?? false }, () => {
  let dir: string;
  let fromJson: T5Tokenizer;
  let fromSpiece: T5Tokenizer;
  let texts: string[];
  let reference: number[][];
  let charsmap: PrecompiledCharsmap;
  let scores: number[];
  const wordIds = new Map<string, number[]>();
  const same = (a: number[], b: number[]) => a.length === b.length && a.every((id, k) => id === b[k]);

  before(async () => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'longread-spiece-'));
    copyFileSync(path.join(SHARED_TOKENIZER, 'spiece.model'), path.join(dir, 'spiece.model'));
    fromJson = await loadTokenizer(SHARED_TOKENIZER);
    fromSpiece = await loadTokenizer(dir);
    texts = [...(await corpusTexts()), ...HANDWRITTEN];
    reference = referenceIds(texts);
    const spiece = path.join(SHARED_TOKENIZER, 'spiece.model');
    const model = parseSentencePieceModel(readFileSync(spiece), spiece);
    charsmap = new PrecompiledCharsmap(model.precompiledCharsmap, spiece);
    scores = model.pieces.map((p) => p.score);
    // every word of every text (as SentencePiece's normalizer separates them), encoded alone
    const words = [...new Set(texts.flatMap((t) => charsmap.words(t).map((w) => t.slice(w.start, w.end))))];
    referenceIds(words).forEach((ids, k) => wordIds.set(words[k]!, ids));
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  test('spiece.model converts to the vocabulary and charsmap of the legacy tokenizer.json', () => {
    const spiece = path.join(SHARED_TOKENIZER, 'spiece.model');
    const converted = t5TokenizerJsonFromSentencePiece(parseSentencePieceModel(readFileSync(spiece), spiece), 100, spiece) as Record<string, { vocab?: unknown; precompiled_charsmap?: unknown }>;
    const legacy = JSON.parse(readFileSync(path.join(SHARED_TOKENIZER, 'tokenizer.json'), 'utf8')) as Record<string, unknown> & {
      model: { vocab: unknown; unk_id: number };
      normalizer: { precompiled_charsmap: string };
      added_tokens: Array<{ id: number; content: string; special: boolean }>;
    };
    assert.deepEqual(converted.model!.vocab, legacy.model.vocab);
    assert.equal(converted.normalizer!.precompiled_charsmap, legacy.normalizer.precompiled_charsmap);
    const added = (converted as unknown as { added_tokens: Array<{ id: number; content: string; special: boolean }> }).added_tokens;
    assert.deepEqual(
      added.map((t) => [t.id, t.content, t.special]),
      legacy.added_tokens.map((t) => [t.id, t.content, t.special]),
    );
  });

  test('ids, specials and the <extra_id_N> sentinels of both loads', () => {
    for (const tok of [fromJson, fromSpiece]) {
      assert.deepEqual([tok.padId, tok.eosId, tok.unkId, tok.vocabSize], [0, 1, 2, 32100]);
      assert.equal(tok.piece(32099), '<extra_id_0>');
      assert.equal(tok.piece(32000), '<extra_id_99>');
      assert.deepEqual(tok.encode('translate English to German: The house is wonderful.'), [13959, 1566, 12, 2968, 10, 37, 629, 19, 1627, 5, 1]);
      assert.deepEqual(tok.encode('Fill <extra_id_0> in.', { addEos: false }).includes(32099), true);
    }
    for (let id = 0; id < 32100; id++) assert.equal(fromSpiece.piece(id), fromJson.piece(id), `id ${id}`);
  });

  for (const which of ['tokenizer.json', 'spiece.model only'] as const) {
    test(`${which}: ids equal SentencePiece's on ≥ 2,000 real and handwritten texts`, () => {
      const tok = which === 'tokenizer.json' ? fromJson : fromSpiece;
      assert.ok(texts.length >= 2_000, `${texts.length} texts`);
      const score = (ids: number[]) => ids.reduce((sum, id) => sum + scores[id]!, 0);
      const show = (text: string, ours: number[], sp: number[]) => `${JSON.stringify(text.slice(0, 200))}\n  ours ${ours.join(' ')}\n  sp   ${sp.join(' ')}`;
      const wordMismatches: string[] = [];
      const ties: string[] = [];
      let tokens = 0;
      texts.forEach((text, i) => {
        const ids = tok.encode(text);
        tokens += ids.length;
        assert.equal(ids.pop(), tok.eosId);
        assert.deepEqual(tok.encode(text, { addEos: false }), ids);
        // Exactly SentencePiece's ids of each word on its own.
        const perWord = charsmap.words(text).flatMap((w) => wordIds.get(text.slice(w.start, w.end))!);
        if (!same(ids, perWord)) wordMismatches.push(show(text, ids, perWord));
        // The whole text: the same, but where SentencePiece's float32 running total over the earlier
        // words rounds a tie between equal-scoring segmentations the other way.
        if (!same(ids, reference[i]!)) {
          assert.ok(Math.abs(score(ids) - score(reference[i]!)) < 1e-3, `not a tie: ${show(text, ids, reference[i]!)}`);
          ties.push(show(text, ids, reference[i]!));
        }
      });
      console.log(`# ${which}: ${texts.length} texts, ${tokens} tokens; ${texts.length - ties.length} equal sp.encode(text) + [</s>], ${ties.length} differ by a tie`);
      for (const t of ties) console.log(`# tie: ${t.replaceAll('\n', '\n# ')}`);
      assert.deepEqual(wordMismatches.slice(0, 5), []);
      assert.ok(ties.length <= texts.length / 200, `${ties.length} ties`);
      assert.ok(tokens > 100_000);
    });
  }

  test('encodeWithOffsets: the same ids; ranges in order; a piece spells its range, or the pieces sharing a range spell its normalized text', () => {
    let rewritten = 0;
    for (const text of texts.filter((_, i) => i % 5 === 0)) {
      const { ids, offsets } = fromSpiece.encodeWithOffsets(text);
      assert.deepEqual(ids, fromSpiece.encode(text, { addEos: false }));
      const where = (i: number) => `${JSON.stringify(text.slice(0, 80))} token ${i}`;
      for (let i = 0; i < ids.length; ) {
        const [s, e] = offsets[i]!;
        assert.ok(s >= (i > 0 ? offsets[i - 1]![1] : 0) && s <= e && e <= text.length, where(i));
        let j = i + 1;
        while (j < ids.length && offsets[j]![0] === s && offsets[j]![1] === e && e > s) j++;
        const group = ids.slice(i, j);
        if (!group.includes(fromSpiece.unkId)) {
          const bodies = group.map((id) => fromSpiece.piece(id)!.replaceAll('\u2581', '')).join('');
          if (j - i === 1 && text.slice(s, e) === bodies) {
            i = j;
            continue;
          }
          assert.equal(bodies, charsmap.normalize(text.slice(s, e)).replaceAll(' ', ''), where(i));
          rewritten++;
        }
        i = j;
      }
    }
    assert.ok(rewritten > 0, 'some words were rewritten by normalization');
    const t = 'Ｆｕｌｌ café ﬁne.';
    const { ids, offsets } = fromJson.encodeWithOffsets(t);
    assert.deepEqual(ids, fromJson.encode(t, { addEos: false }));
    assert.equal(t.slice(...offsets[0]!), 'Ｆｕｌｌ');
    // "ﬁne." normalizes to "fine.": its pieces all carry the word's range
    assert.equal(t.slice(...offsets[offsets.length - 1]!), 'ﬁne.');
    assert.equal(t.slice(...offsets[offsets.length - 2]!), 'ﬁne.');
    assert.equal(t.slice(...offsets[offsets.length - 3]!), 'café');
  });
});

if (missing) test('real T5 tokenizer against SentencePiece', (t) => t.skip(missing));
