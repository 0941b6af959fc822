import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { loadTokenizer } from '../../engine/tokenizer';
import { longread, SHARED_TOKENIZER, t5ShapedCheckpoint } from './real-tokenizer-helpers';

/** A T5 checkpoint folder whose only tokenizer file is the real spiece.model (plus tokenizer_config.json), through the CLI. */
describe('spiece.model-only checkpoint through the CLI', { skip: rmSkip() }, () => {
  let root: string;
  let spieceOnly: string;
  before(async () => {
    root = mkdtempSync(path.join(os.tmpdir(), 'longread-spiece-cli-'));
    spieceOnly = path.join(root, 't5-spiece-only');
    await t5ShapedCheckpoint(spieceOnly, ['spiece.model', 'tokenizer_config.json']);
  });
  after(() => rmSync(root, { recursive: true, force: true }));

  test('a folder with spiece.model and no tokenizer.json imports, and generate --json reports the same input ids as tokenizer.json', async () => {
    const home = path.join(root, 'home-spiece');
    const imported = longread(home, 'models', 'import', spieceOnly, '--json');
    assert.equal(imported.code, 0, imported.stderr + imported.stdout);
    const input = 'summarize: Call me Ishmael. Some years ago—never mind how long precisely—having little money…';
    const g = longread(home, 'generate', '--model', spieceOnly, '--input', input, '--max-new-tokens', '2', '--threads', '1', '--json');
    assert.equal(g.code, 0, g.stderr);
    const inputIds = g.json().inputIds as number[];
    assert.deepEqual(inputIds, (await loadTokenizer(SHARED_TOKENIZER)).encode(input));
    assert.deepEqual(inputIds.slice(0, 8), [21603, 10, 2571, 140, 27, 7, 107, 51]);
    // SentencePiece's ids (scripts/sentencepiece-reference.py), then </s>
    assert.equal(inputIds.at(-1), 1);
  });
});

function rmSkip(): string | false {
  return existsSync(SHARED_TOKENIZER) ? false : `${SHARED_TOKENIZER} is absent`;
}
