import assert from 'node:assert/strict';
import { copyFileSync, existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, test } from 'node:test';
import { Tokenizer } from '@huggingface/tokenizers';
import { LongreadError } from '../../common/errors';
import { loadTokenizer } from '../../engine/tokenizer';
import { tempDir, tinyModelDir } from '../helpers/tiny-model';
import { repoRoot } from '../library/helpers/corpus';

const SHARED_TOKENIZER = path.join(repoRoot, '..', 'shared', 'models/t5-tokenizer');

async function rejectsWith(p: Promise<unknown>, code: string, ...mentions: string[]): Promise<void> {
  await assert.rejects(p, (e: unknown) => {
    assert.ok(e instanceof LongreadError, String(e));
    assert.equal(e.code, code, e.message);
    for (const m of mentions) assert.ok(e.message.includes(m), e.message);
    return true;
  });
}

/** A minimal protobuf writer for hand-made sentencepiece_model.proto ModelProto messages. */
function varint(n: number): number[] {
  const out: number[] = [];
  let v = BigInt.asUintN(64, BigInt(n));
  do {
    const b = Number(v & 0x7fn);
    v >>= 7n;
    out.push(v > 0n ? b | 0x80 : b);
  } while (v > 0n);
  return out;
}
const field = (n: number, wire: number) => varint(n * 8 + wire);
const intField = (n: number, v: number) => [...field(n, 0), ...varint(v)];
const bytesField = (n: number, b: number[] | Uint8Array) => [...field(n, 2), ...varint(b.length), ...b];
const strField = (n: number, s: string) => bytesField(n, [...Buffer.from(s, 'utf8')]);
function floatField(n: number, v: number): number[] {
  const b = Buffer.alloc(4);
  b.writeFloatLE(v);
  return [...field(n, 5), ...b];
}

/** A ModelProto: T5's specials then `pieces`, a trainer spec (unigram unless `modelType`), a normalizer spec. */
function spieceModel(pieces: Array<[string, number]>, o: { modelType?: number; charsmap?: Uint8Array } = {}): Buffer {
  const all: Array<[string, number, number]> = [['<pad>', 0, 3], ['</s>', 0, 3], ['<unk>', 0, 2], ...pieces.map(([p, s]) => [p, s, 1] as [string, number, number])];
  const bytes: number[] = [];
  for (const [p, s, t] of all) bytes.push(...bytesField(1, [...strField(1, p), ...floatField(2, s), ...intField(3, t)]));
  bytes.push(...bytesField(2, [...intField(3, o.modelType ?? 1), ...intField(4, all.length), ...intField(40, 2), ...intField(41, -1), ...intField(42, 1), ...intField(43, 0)]));
  bytes.push(...bytesField(3, [...strField(1, 'identity'), ...(o.charsmap ? bytesField(2, o.charsmap) : []), ...intField(3, 1), ...intField(4, 1)]));
  return Buffer.from(bytes);
}

const PIECES: Array<[string, number]> = [
  ['\u2581', -2],
  ['\u2581the', -3],
  ['\u2581whale', -5],
  ['\u2581wh', -6],
  ['ale', -6],
  ['e', -4],
  ['h', -4],
  ['t', -4],
  ['w', -4],
  ['a', -4],
  ['l', -4],
  ['.', -3],
];

describe('tokenizer.json in the legacy schema (no model.type, Metaspace add_prefix_space)', () => {
  test('loads and encodes as the current schema does', async () => {
    const dir = await tinyModelDir({ vocab: 600 });
    const file = path.join(dir, 'tokenizer.json');
    const current = JSON.parse(readFileSync(file, 'utf8'));
    const bookFile = path.join(repoRoot, '..', 'shared', 'corpus/books/pg84.txt');
    const text = existsSync(bookFile) ? readFileSync(bookFile, 'latin1').slice(40_000, 60_000) : 'You will rejoice to hear that no disaster has accompanied the commencement of an enterprise. '.repeat(200);
    const before = await loadTokenizer(dir);
    const want = before.encode(text);
    const wantText = before.decode(want, { skipSpecial: true });
    const legacy = JSON.parse(JSON.stringify(current));
    delete legacy.model.type;
    const toLegacy = (step: Record<string, unknown>) => {
      if (step.type !== 'Metaspace') return step;
      const { prepend_scheme: _scheme, split: _split, ...rest } = step;
      return { ...rest, str_rep: '\u2581', add_prefix_space: true };
    };
    legacy.pre_tokenizer = legacy.pre_tokenizer.type === 'Sequence' ? { ...legacy.pre_tokenizer, pretokenizers: legacy.pre_tokenizer.pretokenizers.map(toLegacy) } : toLegacy(legacy.pre_tokenizer);
    legacy.decoder = toLegacy(legacy.decoder);
    writeFileSync(file, JSON.stringify(legacy));
    const tok = await loadTokenizer(dir);
    assert.deepEqual(tok.encode(text), want);
    assert.equal(tok.decode(want, { skipSpecial: true }), wantText);
  });

  test('add_prefix_space: false reads as prepend_scheme "never"', async () => {
    const dir = await tinyModelDir({ vocab: 600 });
    const file = path.join(dir, 'tokenizer.json');
    const json = JSON.parse(readFileSync(file, 'utf8'));
    json.pre_tokenizer = { type: 'Metaspace', replacement: '\u2581', add_prefix_space: false };
    delete json.model.type;
    writeFileSync(file, JSON.stringify(json));
    const tok = await loadTokenizer(dir);
    const current = { ...json, model: { ...json.model, type: 'Unigram' }, pre_tokenizer: { type: 'Metaspace', replacement: '\u2581', prepend_scheme: 'never', split: true } };
    const lib = new Tokenizer(current, {});
    for (const t of ['the whale', 'a ship at sea']) {
      assert.deepEqual(tok.encode(t, { addEos: false }), lib.encode(t, { add_special_tokens: false }).ids);
      assert.notEqual(tok.piece(tok.encode(t, { addEos: false })[0]!)![0], '\u2581');
    }
  });
});

describe('a folder with spiece.model and no tokenizer.json', () => {
  test('converts as T5 does: pieces, then <extra_id_N> in reverse, specials from the model', async () => {
    const dir = tempDir();
    writeFileSync(path.join(dir, 'spiece.model'), spieceModel(PIECES));
    writeFileSync(path.join(dir, 'tokenizer_config.json'), JSON.stringify({ extra_ids: 3, eos_token: '</s>' }));
    const tok = await loadTokenizer(dir);
    assert.deepEqual([tok.padId, tok.eosId, tok.unkId], [0, 1, 2]);
    assert.equal(tok.vocabSize, 3 + PIECES.length + 3);
    assert.deepEqual([15, 16, 17].map((id) => tok.piece(id)), ['<extra_id_2>', '<extra_id_1>', '<extra_id_0>']);
    // "▁whale" (-5) beats "▁wh"+"ale" (-12); "▁" + unknown "z" (fused with the next unknown "q")
    assert.deepEqual(tok.encode('the whale zq.'), [4, 5, 3, 2, 14, 1]);
    assert.deepEqual(tok.encode('the <extra_id_0> whale', { addEos: false }), [4, 17, 5]);
    assert.equal(tok.decode([4, 5, 14, 1], { skipSpecial: true }), 'the whale.');
  });

  test('without tokenizer_config.json: T5\'s 100 sentinels; special_tokens_map.json names the specials', async () => {
    const dir = tempDir();
    writeFileSync(path.join(dir, 'spiece.model'), spieceModel(PIECES));
    const tok = await loadTokenizer(dir);
    assert.equal(tok.vocabSize, 15 + 100);
    assert.equal(tok.piece(114), '<extra_id_0>');
    writeFileSync(path.join(dir, 'special_tokens_map.json'), JSON.stringify({ eos_token: '<eos>' }));
    await rejectsWith(loadTokenizer(dir), 'tokenizer-invalid', '"<eos>"');
  });

  test('bad spiece.model files and a disagreeing added_tokens_decoder are typed errors naming the file', async () => {
    const dir = tempDir();
    const spiece = path.join(dir, 'spiece.model');
    await rejectsWith(loadTokenizer(dir), 'tokenizer-missing', 'tokenizer.json', 'spiece.model');
    const good = spieceModel(PIECES);
    writeFileSync(spiece, good.subarray(0, 37));
    await rejectsWith(loadTokenizer(dir), 'tokenizer-invalid', spiece);
    writeFileSync(spiece, Buffer.from('{"version": "1.0"} is not a protobuf'));
    await rejectsWith(loadTokenizer(dir), 'tokenizer-invalid', spiece);
    writeFileSync(spiece, spieceModel(PIECES, { modelType: 2 }));
    await rejectsWith(loadTokenizer(dir), 'tokenizer-unsupported', spiece, 'BPE');
    writeFileSync(spiece, spieceModel(PIECES, { charsmap: new Uint8Array([9, 9, 9, 9, 1]) }));
    await rejectsWith(loadTokenizer(dir), 'tokenizer-invalid', spiece, 'charsmap');
    writeFileSync(spiece, good);
    const config = path.join(dir, 'tokenizer_config.json');
    writeFileSync(config, JSON.stringify({ extra_ids: 2, added_tokens_decoder: { '15': { content: '<extra_id_0>' } } }));
    await rejectsWith(loadTokenizer(dir), 'tokenizer-invalid', config, '<extra_id_0>');
    writeFileSync(config, JSON.stringify({ extra_ids: 2, added_tokens_decoder: { '15': { content: '<extra_id_1>' }, '16': { content: '<extra_id_0>' } } }));
    assert.equal((await loadTokenizer(dir)).piece(16), '<extra_id_0>');
  });
});

describe('the real T5 tokenizer', { skip: existsSync(SHARED_TOKENIZER) ? false : `${SHARED_TOKENIZER} is absent` }, () => {
  test('breaks score ties as SentencePiece does, not as the JS library does', async () => {
    const tok = await loadTokenizer(SHARED_TOKENIZER);
    // "---"+"-" and "-"+"---" score the same; SentencePiece (float32 totals) picks the first
    assert.deepEqual(tok.encode('----', { addEos: false }), [3, 14817, 18]);
    const legacy = JSON.parse(readFileSync(path.join(SHARED_TOKENIZER, 'tokenizer.json'), 'utf8'));
    legacy.model.type = 'Unigram';
    assert.deepEqual(new Tokenizer(legacy, {}).encode('----', { add_special_tokens: false }).ids, [3, 18, 14817]);
  });

  test('normalizes with SentencePiece\'s charsmap: a vertical tab joins words, as in sp.encode', async () => {
    const tok = await loadTokenizer(SHARED_TOKENIZER);
    // sp.encode('北京\vx') == [3, 2, 226] and sp.encode('zero\u200bwidth') == sp.encode('zero width')
    assert.deepEqual(tok.encode('北京\u000bx', { addEos: false }), [3, 2, 226]);
    assert.deepEqual(tok.encode('zero\u200bwidth'), tok.encode('zero width'));
  });

  test('special-token text is read as the special token (Hugging Face), where SentencePiece spells it out', async () => {
    const dir = tempDir();
    copyFileSync(path.join(SHARED_TOKENIZER, 'spiece.model'), path.join(dir, 'spiece.model'));
    const legacy = JSON.parse(readFileSync(path.join(SHARED_TOKENIZER, 'tokenizer.json'), 'utf8'));
    legacy.model.type = 'Unigram';
    const text = 'Fill <extra_id_0> in</s>';
    const want = new Tokenizer(legacy, {}).encode(text, { add_special_tokens: false }).ids;
    assert.ok(want.includes(32099) && want.at(-1) === 1, want.join(' '));
    for (const tok of [await loadTokenizer(SHARED_TOKENIZER), await loadTokenizer(dir)]) assert.deepEqual(tok.encode(text, { addEos: false }), want);
    rmSync(dir, { recursive: true, force: true });
  });
});
