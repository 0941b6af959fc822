import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { loadTokenizer } from '../../engine/tokenizer';
import { ingestFile } from '../../main/ingest';
import { longread, SHARED_TOKENIZER, t5ShapedCheckpoint, TOKENIZER_FILES } from './real-tokenizer-helpers';
import { repoRoot } from '../library/helpers/corpus';

/**
 * The real T5 tokenizer files (google-t5/t5-base, legacy tokenizer.json schema) in a T5-shaped
 * checkpoint (vocab 32128 as t5-base; random weights, d_model 32, 2 layers, so it runs fast),
 * through the CLI as a user would: `longread models import`, then `longread ask` on Moby-Dick.
 */

const BOOK = path.join(repoRoot, '..', 'shared', 'corpus/books/pg2701.txt');
const missing = [SHARED_TOKENIZER, BOOK].filter((f) => !existsSync(f));

describe('real T5 tokenizer files in a checkpoint, through the CLI', { skip: missing.length ? `absent: ${missing.join(', ')}` : false }, () => {
  let root: string;
  let withJson: string;

  before(async () => {
    root = mkdtempSync(path.join(os.tmpdir(), 'longread-real-tok-'));
    withJson = path.join(root, 't5-real-tokenizer');
    await t5ShapedCheckpoint(withJson, TOKENIZER_FILES);
  });
  after(() => rmSync(root, { recursive: true, force: true }));

  test('models import accepts the folder; ask on a 300K-token book answers with citations inside the document', async () => {
    const home = path.join(root, 'home');
    const imported = longread(home, 'models', 'import', withJson, '--json');
    assert.equal(imported.code, 0, imported.stderr + imported.stdout);
    assert.equal(imported.json().model.id, 't5-real-tokenizer');
    assert.equal(imported.json().model.active, true);

    const ask = longread(home, 'ask', BOOK, 'Who is Ishmael?', '--limit', '8192', '--json');
    assert.equal(ask.code, 0, ask.stderr + ask.stdout);
    const r = ask.json();
    assert.equal(typeof r.answer, 'string');
    assert.equal(r.model, 't5-real-tokenizer');
    const text = (await ingestFile(BOOK)).text;
    // the real tokenizer counts Moby-Dick in T5 tokens (SentencePiece ids; ~4 characters a token)
    const expected = (await loadTokenizer(SHARED_TOKENIZER)).encode(text, { addEos: false }).length;
    assert.equal(r.documentTokens, expected);
    assert.ok(r.documentTokens > 16_000 && r.read.whole === false);
    assert.ok(r.read.endToken - r.read.startToken >= 8_000 && r.read.endToken <= r.documentTokens);
    assert.ok(r.citations.length > 0);
    for (const c of r.citations) {
      assert.ok(Number.isInteger(c.start) && Number.isInteger(c.end) && c.start >= 0 && c.start < c.end && c.end <= text.length, JSON.stringify(c));
      assert.ok(c.start >= r.read.startChar && c.end <= r.read.endChar, `citation outside what was read: ${JSON.stringify(c)}`);
      assert.equal(text.slice(c.start, c.end).replace(/\s+/g, ' '), c.quote.replace(/\s+/g, ' '));
    }
  });
});
