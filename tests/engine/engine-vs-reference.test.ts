import assert from 'node:assert/strict';
import { after, describe, test } from 'node:test';
import { Engine } from '../../engine/engine';
import { decoderLogits, encoderForward, greedyGenerate } from '../reference/t5-f64';
import { tinyModelDir } from '../helpers/tiny-model';
import { seededRandom, type TinyT5Options } from '../../scripts/make-tiny-t5';

function relErr(a: ArrayLike<number>, b: ArrayLike<number>): number {
  assert.equal(a.length, b.length, 'lengths differ');
  let num = 0;
  let den = 0;
  for (let i = 0; i < a.length; i++) {
    num += (a[i]! - b[i]!) ** 2;
    den += b[i]! ** 2;
  }
  return Math.sqrt(num / den);
}

function logSoftmax(row: ArrayLike<number>, start: number, len: number): Float64Array {
  let max = -Infinity;
  for (let i = 0; i < len; i++) max = Math.max(max, row[start + i]!);
  let sum = 0;
  for (let i = 0; i < len; i++) sum += Math.exp(row[start + i]! - max);
  const lse = max + Math.log(sum);
  return Float64Array.from({ length: len }, (_, i) => row[start + i]! - lse);
}

function randomIds(n: number, vocab: number, seed: number): number[] {
  const { uniform } = seededRandom(seed);
  // Never the EOS/pad ids inside the input, as a tokenizer would produce.
  return Array.from({ length: n }, () => 3 + Math.floor(uniform() * (vocab - 3)));
}

const shapes: Array<{ name: string; opts: Omit<TinyT5Options, 'out'> }> = [
  { name: 'v1.0 (ReLU, tied, 2+2 layers)', opts: { variant: 't5', seed: 11 } },
  { name: 'v1.1 (gated-GELU, untied, 3 encoder / 2 decoder layers)', opts: { variant: 't5-v1.1', seed: 12, layers: 3, decoderLayers: 2 } },
  { name: 'v1.1, 8 buckets and max distance 20 (inputs reach past it)', opts: { variant: 't5-v1.1', seed: 13, buckets: 8, maxDistance: 20, heads: 2, dKv: 16 } },
];

describe('ONNX engine (fp32) against the float64 reference', () => {
  for (const shape of shapes) {
    describe(shape.name, () => {
      let engine: Engine;
      const open = async () => (engine ??= await Engine.open(await tinyModelDir(shape.opts), { threads: 1 }));
      after(() => engine?.close());

      for (const n of [1, 9, 64, 211]) {
        test(`n = ${n}: encoder output, first-step logits and greedy ids`, async () => {
          const e = await open();
          const ckpt = e.model.checkpoint;
          const ids = randomIds(n, e.config.vocabSize, 1000 + n);
          const encoded = await e.encode({ queryIds: ids, documentIds: [], attention: 'dense' });
          const refEnc = encoderForward(ckpt, ids);
          const encErr = relErr(encoded.hidden, refEnc);
          assert.ok(encErr <= 1e-4, `encoder relative error ${encErr.toExponential(2)}`);

          const result = await e.generate(encoded, { maxNewTokens: 6 });
          const refLogits = decoderLogits(ckpt, refEnc, [e.config.decoderStartTokenId]);
          const logitErr = relErr(result.firstStepLogits, refLogits);
          assert.ok(logitErr <= 1e-4, `first-step logits relative error ${logitErr.toExponential(2)}`);
          assert.deepEqual(result.outputIds, greedyGenerate(ckpt, ids, 6));
        });
      }
    });
  }
});

describe('beam search against brute force', () => {
  test('with as many beams as the vocabulary and 2 steps, beam search returns the best length-normalized sequence of all', async () => {
    const engine = await Engine.open(await tinyModelDir({ variant: 't5-v1.1', seed: 21, vocab: 110 }), { threads: 1 });
    after(() => engine.close());
    const ckpt = engine.model.checkpoint;
    const { vocabSize: V, decoderStartTokenId: start, eosTokenId: eos } = engine.config;
    const ids = randomIds(23, V, 5);
    const encoded = await engine.encode({ queryIds: ids, documentIds: [], attention: 'dense' });
    const result = await engine.generate(encoded, { maxNewTokens: 2, numBeams: V, lengthPenalty: 1 });

    const enc = encoderForward(ckpt, ids);
    const first = logSoftmax(decoderLogits(ckpt, enc, [start]), 0, V);
    // Length penalty 1: hypotheses compete on mean log-probability per token.
    let best = { tokens: [eos], score: first[eos]!, norm: first[eos]! };
    for (let a = 0; a < V; a++) {
      if (a === eos) continue;
      const second = logSoftmax(decoderLogits(ckpt, enc, [start, a]), V, V);
      for (let b = 0; b < V; b++) {
        const score = first[a]! + second[b]!;
        if (score / 2 > best.norm) best = { tokens: [a, b], score, norm: score / 2 };
      }
    }
    assert.equal(best.tokens.length, 2, "the brute-force best should be a two-token sequence (else the check is weak)");
    assert.deepEqual(result.outputIds, best.tokens);
    assert.ok(Math.abs(result.score - best.score) <= 1e-4 * Math.max(1, Math.abs(best.score)), `score ${result.score} vs ${best.score}`);
  });

  test('beam search streams exactly the tokens it returns', async () => {
    const engine = await Engine.open(await tinyModelDir({ variant: 't5', seed: 22 }), { threads: 1 });
    after(() => engine.close());
    const encoded = await engine.encode({ queryIds: randomIds(40, engine.config.vocabSize, 9), documentIds: [], attention: 'dense' });
    const streamed: number[] = [];
    const result = await engine.generate(encoded, { maxNewTokens: 8, numBeams: 4, onToken: (id) => streamed.push(id) });
    assert.deepEqual(streamed, result.outputIds);
  });
});
