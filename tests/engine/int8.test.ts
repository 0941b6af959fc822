import assert from 'node:assert/strict';
import { existsSync, statSync } from 'node:fs';
import path from 'node:path';
import { after, describe, test } from 'node:test';
import { Engine } from '../../engine/engine';
import { INT8_LM_HEAD } from '../../engine/graph/quantize';
import { decoderLogits, encoderForward, greedyGenerate, withInt8Simulation, type Int8Simulation } from '../reference/t5-f64';
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

function randomIds(n: number, vocab: number, seed: number): number[] {
  const { uniform } = seededRandom(seed);
  return Array.from({ length: n }, () => 3 + Math.floor(uniform() * (vocab - 3)));
}

/**
 * What the engine's int8 graphs quantize (engine/graph/quantize.ts says why): every linear layer but
 * the decoder's cross-attention keys and values; the LM head only when INT8_LM_HEAD. The encoder
 * quantizes a whole sequence's rows together (inputs here fit one query chunk of 256 rows); the
 * decoder runs one token per call, so one row per scale.
 */
const engineInt8: Int8Simulation = {
  quantized: (name) => {
    if (name === 'shared.weight' || name === 'lm_head.weight') return INT8_LM_HEAD;
    return !/EncDecAttention\.[kv]\.weight$/.test(name);
  },
  rowsPerScale: (name, n) => (name.startsWith('encoder.') ? n : 1),
};

const shapes: Array<{ name: string; opts: Omit<TinyT5Options, 'out'> }> = [
  { name: 't5 (ReLU, tied embeddings)', opts: { variant: 't5', seed: 31, dModel: 64, dFf: 128, heads: 4, dKv: 16 } },
  { name: 't5-v1.1 (gated GELU, untied)', opts: { variant: 't5-v1.1', seed: 32, dModel: 64, dFf: 128, heads: 4, dKv: 16, layers: 3 } },
];
const STEPS = 8;

describe('int8 engine', () => {
  for (const shape of shapes) {
    describe(shape.name, () => {
      let engines: { fp32: Engine; int8: Engine } | undefined;
      const open = async () => {
        if (!engines) {
          const dir = await tinyModelDir(shape.opts);
          engines = { fp32: await Engine.open(dir, { threads: 1 }), int8: await Engine.open(dir, { threads: 1, precision: 'int8' }) };
        }
        return engines;
      };
      after(async () => {
        await engines?.fp32.close();
        await engines?.int8.close();
      });

      test('int8 graphs are cached apart from fp32 ones, with int8 weights', async () => {
        const { fp32, int8 } = await open();
        await fp32.model.warmUp();
        await int8.model.warmUp();
        assert.notEqual(fp32.model.cacheDir, int8.model.cacheDir);
        assert.ok(existsSync(fp32.model.cacheDir) && existsSync(int8.model.cacheDir), 'opening one precision keeps the other');
        const bytes = (e: Engine, graph: string) => statSync(path.join(e.model.cacheDir, `${graph}.onnx.data`)).size;
        // The FFN graph is almost all weight matrices: int8 stores about a quarter of the bytes (plus a scale per column).
        const ratio = bytes(int8, 'encoder_0_output') / bytes(fp32, 'encoder_0_output');
        assert.ok(ratio < 0.35, `int8/fp32 weight bytes ${ratio.toFixed(2)}`);
      });

      const seen = { steps: 0, same: 0 };
      for (const n of [9, 64, 211]) {
        test(`n = ${n}: the int8 path computes the int8 math (float64 reference over dequantized weights and activations)`, async (t) => {
          const { int8 } = await open();
          const ckpt = int8.model.checkpoint;
          const q = withInt8Simulation(ckpt, engineInt8);
          const ids = randomIds(n, ckpt.config.vocabSize, 500 + n);
          const encoded = await int8.encode({ queryIds: ids, documentIds: [], attention: 'dense' });
          const refQ = encoderForward(q, ids);
          const refF = encoderForward(ckpt, ids);
          const errQ = relErr(encoded.hidden, refQ);
          const errF = relErr(encoded.hidden, refF);
          // Against the quantized math only float32 rounding (and a rare activation rounded the other way) remains;
          // against the float math, quantization error, far larger: so the first bound would fail for a wrong scheme.
          t.diagnostic(`encoder: vs int8 reference ${errQ.toExponential(2)}, vs fp32 reference ${errF.toExponential(2)}`);
          assert.ok(errQ <= 1e-5, `encoder vs int8 reference ${errQ.toExponential(2)} (vs fp32 reference ${errF.toExponential(2)})`);
          assert.ok(errF >= 10 * errQ, `quantization is visible: vs fp32 ${errF.toExponential(2)}, vs int8 ${errQ.toExponential(2)}`);

          const result = await int8.generate(encoded, { maxNewTokens: STEPS });
          const logitsQ = decoderLogits(q, refQ, [ckpt.config.decoderStartTokenId]);
          const logitErr = relErr(result.firstStepLogits, logitsQ);
          t.diagnostic(`first-step logits vs int8 reference ${logitErr.toExponential(2)}`);
          assert.ok(logitErr <= 1e-5, `first-step logits vs int8 reference ${logitErr.toExponential(2)}`);
          assert.deepEqual(result.outputIds, greedyGenerate(q, ids, STEPS));
        });

        test(`n = ${n}: int8 stays close to fp32 (first-step logits, greedy ids)`, async (t) => {
          const { fp32, int8 } = await open();
          const ids = randomIds(n, fp32.config.vocabSize, 900 + n);
          const [a, b] = await Promise.all([fp32, int8].map(async (e) => e.generate(await e.encode({ queryIds: ids, documentIds: [], attention: 'dense' }), { maxNewTokens: STEPS })));
          const err = relErr(b!.firstStepLogits, a!.firstStepLogits);
          t.diagnostic(`first-step logits int8 vs fp32 ${err.toExponential(2)}; ids fp32 ${a!.outputIds} int8 ${b!.outputIds}`);
          assert.ok(err <= 0.03, `first-step logits int8 vs fp32: relative error ${err.toExponential(2)}`);
          assert.equal(b!.outputIds[0], a!.outputIds[0], 'the first greedy id');
          for (let i = 0; i < Math.min(a!.outputIds.length, b!.outputIds.length) && a!.outputIds[i] === b!.outputIds[i]; i++) seen.same++;
          seen.steps += a!.outputIds.length;
        });
      }
      // A random model's logits are nearly flat, so once one id differs the rest of the sequence
      // differs too: what is counted is the ids equal before the first difference.
      test('greedy ids: over all inputs, most of the fp32 sequence is reproduced before any divergence', () => {
        assert.ok(seen.steps > 0);
        assert.ok(seen.same >= 0.6 * seen.steps, `${seen.same} of ${seen.steps} ids equal before the first difference`);
      });
    });
  }
});
