import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { LongreadError } from '../../common/errors';
import { parseGenerationConfig, readT5Config } from '../../engine/checkpoint/config';
import { loadCheckpoint } from '../../engine/checkpoint/load';
import type { Checkpoint } from '../../engine/checkpoint/types';
import { greedyGenerate } from '../reference/t5-f64';
import { tinyModelDir } from '../helpers/tiny-model';

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const FILE = '/models/m/generation_config.json';

function refused(json: unknown, mentions: string[]): void {
  let err: unknown;
  try {
    parseGenerationConfig(typeof json === 'string' ? json : JSON.stringify(json), FILE, 100);
  } catch (e) {
    err = e;
  }
  assert.ok(err instanceof LongreadError, `expected a refusal of ${JSON.stringify(json)}`);
  assert.equal(err.code, 'model-config-invalid');
  for (const m of [FILE, ...mentions]) assert.ok(err.message.includes(m), `${JSON.stringify(err.message)} should mention ${m}`);
}

describe('generation_config.json', () => {
  test('fields: token ids, first of several eos ids, max_new_tokens, else max_length - 1, num_beams; sampling ignored', () => {
    assert.deepEqual(parseGenerationConfig(JSON.stringify({ decoder_start_token_id: 0, eos_token_id: [7, 1], pad_token_id: 0, num_beams: 4, do_sample: true }), FILE, 100), {
      decoderStartTokenId: 0,
      eosTokenId: 7,
      padTokenId: 0,
      numBeams: 4,
    });
    assert.deepEqual(parseGenerationConfig(JSON.stringify({ max_length: 20 }), FILE, 100), { maxNewTokens: 19 });
    assert.deepEqual(parseGenerationConfig(JSON.stringify({ max_length: 20, max_new_tokens: 5, eos_token_id: null }), FILE, 100), { maxNewTokens: 5 });
  });

  test('bad values are typed errors naming generation_config.json and the field', () => {
    refused('{nope', ['JSON']);
    refused([1], ['object']);
    refused({ eos_token_id: 100 }, ['eos_token_id', 'vocab_size']);
    refused({ decoder_start_token_id: -1 }, ['decoder_start_token_id']);
    refused({ num_beams: 0 }, ['num_beams']);
    refused({ num_beams: 1000 }, ['num_beams']);
    refused({ max_new_tokens: 1e9 }, ['max_new_tokens']);
    refused({ max_length: 1 }, ['max_length']);
  });

  test('its token ids override config.json, as in transformers; without the file config.json stands', async () => {
    const dir = await tinyModelDir({}, 'gen-ids');
    writeFileSync(path.join(dir, 'generation_config.json'), JSON.stringify({ decoder_start_token_id: 2, eos_token_id: [3, 1], max_new_tokens: 5, num_beams: 2 }));
    const info = readT5Config(dir);
    assert.deepEqual([info.config.decoderStartTokenId, info.config.eosTokenId, info.config.padTokenId], [2, 3, 0]);
    const ckpt = await loadCheckpoint(dir);
    assert.equal(ckpt.config.decoderStartTokenId, 2);
    assert.deepEqual(ckpt.generation, { maxNewTokens: 5, numBeams: 2 });
    rmSync(path.join(dir, 'generation_config.json'));
    const plain = await loadCheckpoint(dir);
    assert.deepEqual([plain.config.decoderStartTokenId, plain.config.eosTokenId], [0, 1]);
    assert.deepEqual(plain.generation, {});
    writeFileSync(path.join(dir, 'generation_config.json'), JSON.stringify({ eos_token_id: 99999 }));
    await assert.rejects(loadCheckpoint(dir), (e: LongreadError) => e.code === 'model-config-invalid' && e.message.includes(path.join(dir, 'generation_config.json')));
  });

  test('longread generate starts, stops and limits as generation_config.json says (against the float64 reference)', async () => {
    const dir = await tinyModelDir({ variant: 't5-v1.1', seed: 5 }, 'gen-cli');
    rmSync(path.join(dir, 'generation_config.json'));
    const base = await loadCheckpoint(dir);
    const ids = [5, 17, 42, 99, 7, 150, 23, 64, 88, 3, 12];
    const withStart = (start: number, eos: number): Checkpoint => ({ ...base, config: { ...base.config, decoderStartTokenId: start, eosTokenId: eos } });
    const fromPad = greedyGenerate(withStart(0, 1), ids, 6);
    const from5 = greedyGenerate(withStart(5, 1), ids, 6);
    assert.notDeepEqual(from5, fromPad, 'the start token matters for this model');
    const eos = from5[2]!;
    assert.ok(!from5.slice(0, 2).includes(eos), 'the chosen end token first appears at step 3');

    const generate = () => {
      const r = spawnSync(process.execPath, [path.join(repoRoot, 'bin', 'longread.mjs'), 'generate', '--model', dir, '--input-ids', ids.join(','), '--threads', '1', '--json'], {
        cwd: repoRoot,
        encoding: 'utf8',
      });
      assert.equal(r.status, 0, r.stderr);
      return JSON.parse(r.stdout).outputIds as number[];
    };
    writeFileSync(path.join(dir, 'generation_config.json'), JSON.stringify({ decoder_start_token_id: 5, eos_token_id: [eos, 1], max_new_tokens: 6 }));
    assert.deepEqual(generate(), greedyGenerate(withStart(5, eos), ids, 6));
    assert.deepEqual(generate(), from5.slice(0, 3), 'stops at its eos_token_id');
    writeFileSync(path.join(dir, 'generation_config.json'), JSON.stringify({ decoder_start_token_id: 0, max_length: 3 }));
    assert.deepEqual(generate(), fromPad.slice(0, 2), 'max_length counts the start token');
  });
});
