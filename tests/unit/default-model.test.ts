import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, describe, test } from 'node:test';
import { Engine } from '../../engine/engine';
import { qaQueryIds } from '../../engine/qa-format';
import { decoderLogits, encoderForward } from '../reference/t5-f64';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const dir = path.join(root, 'models', 'default');
const present = existsSync(path.join(dir, 'model.safetensors'));
if (!present) console.log(`# default model tests skipped: ${dir} has no model.safetensors (bash models/recipe/train.sh makes it)`);

const PASSAGE =
  'It is a truth universally acknowledged, that a single man in possession of a good fortune, must be in want of a wife. ' +
  'Call me Ishmael. Some years ago, never mind how long precisely, having little or no money in my purse, I thought I would sail about a little.';

describe('bundled default model (models/default)', { skip: !present && 'models/default is absent' }, () => {
  let engine: Engine;
  const open = async () => (engine ??= await Engine.open(dir, { threads: 1 }));
  after(() => engine?.close());

  test('loads as a Hugging Face T5 checkpoint with its own tokenizer', async () => {
    const e = await open();
    const tok = await e.tokenizer();
    assert.equal(e.config.variant, 't5');
    assert.ok(e.config.vocabSize >= tok.vocabSize, `model vocab ${e.config.vocabSize} < tokenizer ${tok.vocabSize}`);
    assert.deepEqual([tok.padId, tok.eosId, tok.unkId], [0, 1, 2]);
  });

  test('tokenizer round-trips English text without <unk>', async () => {
    const tok = await (await open()).tokenizer();
    const text = `${PASSAGE} “Mr. Darcy,” said she — 1851; café, naïve… ‘quoted’ (parenthesised) [bracketed]!`;
    const ids = tok.encode(text, { addEos: true });
    assert.equal(ids.at(-1), tok.eosId);
    assert.ok(!ids.includes(tok.unkId), 'unexpected <unk>');
    assert.equal(tok.decode(ids, { skipSpecial: true }), text.split(/\s+/).join(' '));
  });

  test('a word before punctuation has the pieces of the bare word, so answers can be copied', async () => {
    const tok = await (await open()).tokenizer();
    for (const [text, word, mark] of [
      ['The real name of the baron was Josephine.', 'Josephine', '.'],
      ['The magic number of the mill is 9861;', '9861', ';'],
      ['“Mr. Darcy’s horse,” said Elizabeth!', 'Elizabeth', '!'],
    ] as const) {
      const ids = tok.encode(text, { addEos: false });
      const bare = tok.encode(word, { addEos: false });
      const tail = ids.slice(-bare.length - 1);
      assert.deepEqual(tail.slice(0, -1), bare, `${JSON.stringify(text)}: ${word} is not segmented as on its own`);
      assert.equal(tok.decode(tail.slice(-1)), mark);
    }
  });

  test('engine logits equal the float64 reference on a QA input', async () => {
    const e = await open();
    const tok = await e.tokenizer();
    const ids = [...qaQueryIds(tok, 'What is the secret password of the lighthouse keeper?'), ...tok.encode(`${PASSAGE} The secret password of the lighthouse keeper is Marigold.`)];
    const encoded = await e.encode({ queryIds: ids, documentIds: [], attention: 'dense' });
    const result = await e.generate(encoded, { maxNewTokens: 1 });
    const ref = decoderLogits(e.model.checkpoint, encoderForward(e.model.checkpoint, ids), [e.config.decoderStartTokenId]);
    let num = 0;
    let den = 0;
    for (let i = 0; i < ref.length; i++) {
      num += (result.firstStepLogits[i]! - ref[i]!) ** 2;
      den += ref[i]! ** 2;
    }
    assert.ok(Math.sqrt(num / den) < 1e-4, `relative error ${Math.sqrt(num / den)}`);
  });
});
