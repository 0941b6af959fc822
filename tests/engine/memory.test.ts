import assert from 'node:assert/strict';
import { test } from 'node:test';
import { LongreadError } from '../../common/errors';
import type { T5Config } from '../../engine/checkpoint/types';
import { Engine } from '../../engine/engine';
import { estimateMemory, systemMemoryLimits, type MemoryLimits } from '../../engine/memory';
import { randomCheckpoint, tinyConfig } from '../helpers/random-checkpoint';

const GiB = 1024 ** 3;

/** Parameters of a T5 v1.0 shape (tied embeddings, vocab 32128), counted as the checkpoint stores them. */
function t5Params(c: Pick<T5Config, 'dModel' | 'dFf' | 'numLayers' | 'numHeads' | 'dKv'>): number {
  const { dModel: d, dFf: ff, numLayers: L, numHeads: H, dKv: dk } = c;
  const attn = 4 * d * H * dk;
  return 32128 * d + L * (attn + 2 * d * ff + 2 * d) + L * (2 * attn + 2 * d * ff + 3 * d) + 2 * d + 2 * 32 * H;
}
const base = tinyConfig({ vocabSize: 32128, dModel: 768, dKv: 64, dFf: 3072, numLayers: 12, numDecoderLayers: 12, numHeads: 12 });
const large = tinyConfig({ vocabSize: 32128, dModel: 1024, dKv: 64, dFf: 4096, numLayers: 24, numDecoderLayers: 24, numHeads: 16 });

test('the estimate of a 128K ask: t5-base about 4 GiB, t5-large under 10 GiB, growing with n by a few n·d floats', () => {
  const b = estimateMemory(base, t5Params(base) * 4, { n: 131072, attention: 'vcc' });
  const l = estimateMemory(large, t5Params(large) * 4, { n: 131072, attention: 'vcc' });
  assert.ok(b.totalBytes < 4.25 * GiB, `t5-base ${(b.totalBytes / GiB).toFixed(2)} GiB`);
  assert.ok(l.totalBytes < 10 * GiB, `t5-large ${(l.totalBytes / GiB).toFixed(2)} GiB`);
  const perToken = (estimateMemory(base, 0, { n: 2000, attention: 'vcc' }).activationBytes - estimateMemory(base, 0, { n: 1000, attention: 'vcc' }).activationBytes) / 1000;
  assert.ok(perToken >= 4 * 768 * 4 && perToken < 6 * 768 * 4, `bytes per token ${perToken}`);
  // Per-layer cross keys and values alone would be 2·layers·d floats per token.
  assert.ok(perToken < 2 * base.numDecoderLayers * 768 * 4);
  const beams = estimateMemory(base, t5Params(base) * 4, { n: 131072, attention: 'vcc', beams: 4 }).activationBytes - b.activationBytes;
  assert.ok(beams > 0, 'more beams need more score rows');
});

test('the machine limits are read: the total is positive and what is free is no more than it', () => {
  const m = systemMemoryLimits();
  assert.ok(m.totalBytes > 0 && m.availableBytes >= 0 && m.availableBytes <= m.totalBytes, JSON.stringify(m));
});

function engineWith(limits: MemoryLimits): Engine {
  return Engine.fromCheckpoint(randomCheckpoint(tinyConfig({ vocabSize: 64 }), 61), { threads: 1, memoryLimits: () => limits });
}
const ids = (n: number) => Array.from({ length: n }, (_, i) => 3 + (i % 60));

test('a request larger than the machine is refused before any work, saying what it needs and what there is', async () => {
  const engine = engineWith({ totalBytes: 0.3 * GiB, availableBytes: 0.3 * GiB, source: 'this machine' });
  const need = engine.memoryEstimate({ n: 5000, attention: 'vcc' }).totalBytes;
  assert.ok(need > 0.3 * GiB, 'the fixed overhead alone exceeds 0.3 GiB');
  await assert.rejects(engine.encode({ queryIds: ids(8), documentIds: ids(4992), attention: 'vcc' }), (e: unknown) => {
    assert.ok(e instanceof LongreadError && e.code === 'not-enough-memory', String(e));
    assert.match(e.message, /5,000 tokens needs about \d+\.\d GiB/);
    assert.match(e.message, /this machine has 0\.3 GiB/);
    return true;
  });
  await engine.close();
});

test('a request that fits the machine but not what is free now is refused too; one that fits runs', async () => {
  const busy = engineWith({ totalBytes: 64 * GiB, availableBytes: 0.01 * GiB, source: 'this machine' });
  // 100K tokens of width 32: a few n·d buffers, some 50 MB, against 10 MB free.
  await assert.rejects(busy.encode({ queryIds: ids(8), documentIds: ids(100_000), attention: 'dense' }), (e: unknown) => {
    assert.ok(e instanceof LongreadError && e.code === 'not-enough-memory', String(e));
    assert.match(e.message, /only 0\.0 GiB is free now/);
    return true;
  });
  await busy.close();
  const roomy = engineWith({ totalBytes: 64 * GiB, availableBytes: 32 * GiB, source: 'this machine' });
  const encoded = await roomy.encode({ queryIds: ids(8), documentIds: ids(100), attention: 'vcc' });
  assert.equal(encoded.n, 108);
  assert.equal((await roomy.generate(encoded, { maxNewTokens: 2 })).outputIds.length > 0, true);
  await roomy.close();
});
