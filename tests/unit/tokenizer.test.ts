import assert from 'node:assert/strict';
import { readFileSync, writeFileSync, rmSync } from 'node:fs';
import path from 'node:path';
import { before, describe, test } from 'node:test';
import iconv from 'iconv-lite';
import { Tokenizer } from '@huggingface/tokenizers';
import { LongreadError } from '../../common/errors';
import { loadTokenizer, type T5Tokenizer } from '../../engine/tokenizer';
import { tinyModelDir } from '../helpers/tiny-model';

const BOOKS = '/work/shared/corpus/books';
/** Project Gutenberg plain-text files in the corpus are Windows-1252. */
function book(name: string): string {
  return iconv.decode(readFileSync(path.join(BOOKS, name)), 'win1252');
}

async function rejectsWith(p: Promise<unknown>, code: string, mention: string): Promise<void> {
  await assert.rejects(p, (e: unknown) => {
    assert.ok(e instanceof LongreadError, String(e));
    assert.equal(e.code, code, e.message);
    assert.ok(e.message.includes(mention), e.message);
    return true;
  });
}

describe('T5 tokenizer on the generated tokenizer.json', () => {
  let dir: string;
  let tok: T5Tokenizer;
  let lib: Tokenizer;
  before(async () => {
    dir = await tinyModelDir({ vocab: 1000 });
    tok = await loadTokenizer(dir);
    lib = new Tokenizer(JSON.parse(readFileSync(path.join(dir, 'tokenizer.json'), 'utf8')), JSON.parse(readFileSync(path.join(dir, 'tokenizer_config.json'), 'utf8')));
  });

  test('special ids follow T5: <pad>=0, </s>=1, <unk>=2', () => {
    assert.deepEqual([tok.padId, tok.eosId, tok.unkId], [0, 1, 2]);
    assert.ok(tok.vocabSize > 300 && tok.vocabSize <= 1000);
    assert.equal(tok.piece(tok.eosId), '</s>');
    // The model's padded embedding rows (ids past the pieces) decode to nothing instead of failing.
    assert.equal(tok.piece(tok.vocabSize), undefined);
    const the = tok.encode('the', { addEos: false });
    assert.equal(tok.decode([...the, tok.vocabSize + 5, 1], { skipSpecial: true }), 'the');
  });

  test('EOS is appended as T5 does, and only then', () => {
    const withEos = tok.encode('The whale.');
    assert.equal(withEos[withEos.length - 1], 1);
    assert.deepEqual(tok.encode('The whale.', { addEos: false }), withEos.slice(0, -1));
    assert.deepEqual(tok.encode(''), [1]);
    assert.deepEqual(tok.encode('   \n '), [1]);
    // The library's own post-processor (TemplateProcessing "$A </s>") agrees.
    assert.deepEqual(lib.encode('The whale.').ids, withEos);
  });

  for (const name of ['pg2701.txt', 'pg1342.txt', 'pg84.txt']) {
    test(`${name}: ids equal the library's whole-text encoding; no unknowns; decode round-trips`, () => {
      const text = book(name).slice(50_000, 150_000);
      const ids = tok.encode(text);
      assert.deepEqual(ids, lib.encode(text).ids);
      assert.equal(ids.filter((i) => i === tok.unkId).length, 0);
      assert.equal(tok.decode(ids, { skipSpecial: true }), text.split(/\s+/).filter(Boolean).join(' '));
      assert.ok(tok.decode(ids).endsWith('</s>'));
    });
  }

  test('encodeWithOffsets: same ids as encode, offsets slice back to each piece', () => {
    const text = book('pg64317.txt').slice(20_000, 90_000);
    const { ids, offsets } = tok.encodeWithOffsets(text);
    assert.deepEqual(ids, tok.encode(text, { addEos: false }));
    assert.equal(offsets.length, ids.length);
    let prevEnd = 0;
    ids.forEach((id, i) => {
      const [s, e] = offsets[i]!;
      assert.ok(s >= prevEnd && e >= s && e <= text.length, `token ${i}`);
      prevEnd = e;
      assert.equal(text.slice(s, e), tok.piece(id)!.replaceAll('\u2581', ''), `token ${i}`);
    });
    const eos = tok.encodeWithOffsets('Call me Ishmael.', { addEos: true });
    assert.equal(eos.ids[eos.ids.length - 1], 1);
    assert.deepEqual(eos.offsets[eos.offsets.length - 1], [16, 16]);
  });

  test('offsets: leading whitespace, tabs and an unknown character', () => {
    const text = '\n\t  Call me\u2003Ish\u2603mael.';
    const { ids, offsets } = tok.encodeWithOffsets(text);
    assert.deepEqual(ids, tok.encode(text, { addEos: false }));
    const unk = ids.indexOf(tok.unkId);
    assert.ok(unk >= 0);
    assert.equal(text.slice(...offsets[unk]!), '\u2603');
    assert.equal(text.slice(offsets[0]![0], offsets[ids.length - 1]![1]), text.trim());
  });

  test('a whole book encodes past 128K tokens (its speed: tests/bench/tokenizer.ts)', () => {
    const text = book('pg2701.txt');
    const ids = tok.encode(text, { addEos: false });
    assert.ok(ids.length > 128_000);
    assert.ok(ids.every((id) => Number.isInteger(id) && id >= 0 && id < tok.vocabSize));
  });
});

describe('tokenizer with a normalizer and errors', () => {
  test('when normalization changes a word, its tokens get the whole word range and ids still match', async () => {
    const dir = await tinyModelDir({ vocab: 600 });
    const file = path.join(dir, 'tokenizer.json');
    const json = JSON.parse(readFileSync(file, 'utf8'));
    json.normalizer = { type: 'NFKC' };
    writeFileSync(file, JSON.stringify(json));
    const tok = await loadTokenizer(dir);
    const text = 'a \ufb01ne day'; // "ﬁ" ligature becomes "fi"
    const lib = new Tokenizer(json, {});
    const { ids, offsets } = tok.encodeWithOffsets(text);
    assert.deepEqual(ids, lib.encode(text, { add_special_tokens: false }).ids);
    const fine = ids.map((_, i) => i).filter((i) => offsets[i]![0] >= 2 && offsets[i]![1] <= 5);
    assert.ok(fine.length >= 1);
    for (const i of fine) assert.deepEqual(offsets[i], [2, 5]);
    assert.equal(text.slice(...offsets[ids.length - 1]!), 'day');
  });

  test('newer T5 conversions (bare Metaspace pre-tokenizer, no whitespace split): library ids, extra "▁" get empty ranges', async () => {
    const dir = await tinyModelDir({ vocab: 600 });
    const file = path.join(dir, 'tokenizer.json');
    const json = JSON.parse(readFileSync(file, 'utf8'));
    json.pre_tokenizer = { type: 'Metaspace', replacement: '\u2581', prepend_scheme: 'always', split: true };
    writeFileSync(file, JSON.stringify(json));
    const tok = await loadTokenizer(dir);
    const lib = new Tokenizer(json, {});
    for (const text of ['Call me  Ishmael.', ' Some years ago', 'never   mind how long']) {
      const want = lib.encode(text, { add_special_tokens: false }).ids;
      assert.deepEqual(tok.encode(text, { addEos: false }), want);
      const { ids, offsets } = tok.encodeWithOffsets(text);
      assert.deepEqual(ids, want);
      ids.forEach((id, i) => assert.equal(text.slice(...offsets[i]!), tok.piece(id)!.replaceAll('\u2581', ''), `${text} token ${i}`));
    }
    assert.ok(tok.encode('me  Ishmael').length > tok.encode('me Ishmael').length, 'the double space really yields an extra token');
  });

  test('missing and invalid tokenizer.json are typed errors naming the file', async () => {
    const dir = await tinyModelDir({});
    const file = path.join(dir, 'tokenizer.json');
    const good = readFileSync(file, 'utf8');
    writeFileSync(file, good.slice(0, 200));
    await rejectsWith(loadTokenizer(dir), 'tokenizer-invalid', file);
    writeFileSync(file, JSON.stringify({ version: '1.0', model: { type: 'Unigram' } }));
    await rejectsWith(loadTokenizer(dir), 'tokenizer-invalid', file);
    const noEos = JSON.parse(good);
    noEos.model.vocab[1][0] = '<eos>';
    noEos.added_tokens[1].content = '<eos>';
    writeFileSync(file, JSON.stringify(noEos));
    await rejectsWith(loadTokenizer(dir), 'tokenizer-invalid', '</s>');
    rmSync(file);
    await rejectsWith(loadTokenizer(dir), 'tokenizer-missing', file);
  });
});
