import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, test } from 'node:test';
import { LongreadError } from '../../common/errors';
import { CONFIG_LIMITS, parseT5Config } from '../../engine/checkpoint/config';
import { expectedWeightShapes, parameterCount } from '../../engine/checkpoint/weights';
import { ModelRegistry } from '../../main/assistant/models';
import { tempDir, tinyModelDir } from '../helpers/tiny-model';

const FILE = '/models/m/config.json';
const base = { model_type: 't5', architectures: ['T5ForConditionalGeneration'] };

function refused(json: Record<string, unknown>, mentions: string[]): void {
  let err: unknown;
  try {
    parseT5Config(JSON.stringify(json), FILE);
  } catch (e) {
    err = e;
  }
  assert.ok(err instanceof LongreadError, `expected a refusal of ${JSON.stringify(json)}`);
  assert.equal(err.code, 'model-config-invalid', err.message);
  for (const m of [FILE, ...mentions]) assert.ok(err.message.includes(m), `${JSON.stringify(err.message)} should mention ${m}`);
}

describe('config.json bounds', () => {
  test('every size field is bounded, and the refusal names config.json and the field', () => {
    for (const [field, limit] of Object.entries(CONFIG_LIMITS)) {
      refused({ ...base, [field]: limit + 1 }, [field]);
      // the limit itself is accepted (token ids and the matrix cap aside, which the field alone may break)
      if (!['vocab_size', 'd_model', 'd_ff', 'd_kv', 'num_heads'].includes(field)) parseT5Config(JSON.stringify({ ...base, [field]: limit }), FILE);
    }
    for (const field of ['num_layers', 'd_model', 'vocab_size']) {
      refused({ ...base, [field]: 1e6 * 1e3 }, [field]);
      refused({ ...base, [field]: 2.5 }, [field]);
      refused({ ...base, [field]: 0 }, [field]);
    }
    refused({ ...base, layer_norm_epsilon: 5 }, ['layer_norm_epsilon']);
    refused({ ...base, eos_token_id: new Array(1000).fill(1) }, ['eos_token_id']);
    refused({ ...base, feed_forward_proj: 'x'.repeat(10_000) }, ['feed_forward_proj']);
  });

  test('num_layers 100000 (issue 30) is refused at once instead of building 1.6M shapes', () => {
    refused({ ...base, num_layers: 100_000 }, ['num_layers']);
    refused({ ...base, num_layers: 12, num_decoder_layers: 1_000_000 }, ['num_decoder_layers']);
  });

  test('a single weight matrix past 2^31 elements is refused, naming the fields', () => {
    refused({ ...base, vocab_size: 1_000_000, d_model: 4096 }, ['vocab_size × d_model']);
    refused({ ...base, d_ff: 131_072, d_model: 16_384 }, ['d_ff × d_model']);
    // real large configs pass: t5-11b and mT5-xxl
    parseT5Config(JSON.stringify({ ...base, d_model: 1024, d_ff: 65536, d_kv: 128, num_heads: 128, num_layers: 24, vocab_size: 32128 }), FILE);
    parseT5Config(JSON.stringify({ ...base, d_model: 4096, d_ff: 10240, d_kv: 64, num_heads: 64, num_layers: 24, vocab_size: 250112, feed_forward_proj: 'gated-gelu' }), FILE);
  });
});

describe('parameterCount', () => {
  test('equals the sum over expectedWeightShapes for plain, gated, untied and uneven configs', () => {
    const configs = [
      { ...base },
      { ...base, feed_forward_proj: 'gated-gelu', tie_word_embeddings: false, d_model: 768, d_ff: 2048, num_heads: 12, num_layers: 12 },
      { ...base, num_layers: 3, num_decoder_layers: 7, d_kv: 16, num_heads: 5, relative_attention_num_buckets: 48, vocab_size: 1000 },
      { ...base, d_model: 1024, d_ff: 65536, d_kv: 128, num_heads: 128, num_layers: 24 },
    ];
    for (const json of configs) {
      const { config } = parseT5Config(JSON.stringify(json), FILE);
      let n = 0;
      for (const shape of expectedWeightShapes(config).values()) n += shape.reduce((a, b) => a * b, 1);
      assert.equal(parameterCount(config), n, JSON.stringify(json));
    }
    // flan-t5-base, as Hugging Face counts it (247,577,856 with the tied lm_head counted once)
    const flanBase = parseT5Config(
      JSON.stringify({ ...base, d_model: 768, d_ff: 2048, d_kv: 64, num_heads: 12, num_layers: 12, feed_forward_proj: 'gated-gelu', tie_word_embeddings: false }),
      FILE,
    ).config;
    assert.equal(parameterCount(flanBase), 247_577_856);
  });

  test('the registry lists a model whose config.json asks for a million layers, at once, with 0 parameters', async () => {
    const home = tempDir('longread-home-');
    const bundled = await tinyModelDir({}, 'bundled');
    const registry = new ModelRegistry(home, bundled);
    const before = registry.list()[0]!.parameters;
    assert.ok(before > 0);
    const config = JSON.parse(readFileSync(path.join(bundled, 'config.json'), 'utf8'));
    writeFileSync(path.join(bundled, 'config.json'), JSON.stringify({ ...config, num_layers: 1_000_000 }));
    assert.equal(registry.list()[0]!.parameters, 0, 'an invalid config counts nothing (and does not hang)');
    writeFileSync(path.join(bundled, 'config.json'), JSON.stringify({ ...config, num_layers: config.num_layers + 1 }));
    const after = registry.list()[0]!.parameters;
    assert.ok(after > before, 'a changed config.json is counted again, not served from the cache');
  });
});
