import assert from 'node:assert/strict';
import { after, describe, test } from 'node:test';
import { Engine } from '../../engine/engine';
import { pieceContinuesWord, QuoteState } from '../../engine/decoder/quote';
import { decoderLogits, encoderForward } from '../reference/t5-f64';
import { tinyModelDir } from '../helpers/tiny-model';
import { seededRandom } from '../../scripts/make-tiny-t5';

const EOS = 1;
const PAD = 0;

/** Whether `span` occurs contiguously in `source` with no EOS/padding inside: plainly, every start. */
function isQuote(span: number[], source: number[]): boolean {
  if (span.some((t) => t === EOS || t === PAD)) return false;
  for (let s = 0; s + span.length <= source.length; s++) if (span.every((t, k) => source[s + k] === t)) return true;
  return false;
}

/**
 * Tokens allowed after `prefix`, by brute force over the vocabulary: any token that keeps it a quote; EOS
 * after a non-empty prefix that occurs somewhere not followed by a word continuation, or when nothing else is allowed.
 */
function allowedPlain(prefix: number[], source: number[], vocab: number, continuesWord: (id: number) => boolean = () => false): number[] {
  const out: number[] = [];
  for (let t = 0; t < vocab; t++) if (t !== EOS && isQuote([...prefix, t], source)) out.push(t);
  let mayEnd = false;
  for (let s = 0; prefix.length > 0 && s + prefix.length <= source.length; s++) {
    const after = source[s + prefix.length];
    if (prefix.every((t, k) => source[s + k] === t) && (after === undefined || after === EOS || after === PAD || !continuesWord(after))) mayEnd = true;
  }
  if (mayEnd || out.length === 0) out.push(EOS);
  return out.sort((a, b) => a - b);
}

function randomSource(n: number, vocab: number, seed: number, specials = true): number[] {
  const { uniform } = seededRandom(seed);
  return Array.from({ length: n }, () => (specials && uniform() < 0.1 ? (uniform() < 0.5 ? EOS : PAD) : 2 + Math.floor(uniform() * (vocab - 2))));
}

describe('quote state', () => {
  test('the allowed tokens match brute force along random walks, and every walk is a quote', () => {
    for (let seed = 1; seed <= 40; seed++) {
      const vocab = 4 + (seed % 5);
      const source = randomSource(10 + seed, vocab, seed);
      const { uniform } = seededRandom(1000 + seed);
      const continuesWord = (id: number) => id % 3 === seed % 3;
      let state = QuoteState.start(source, EOS, [PAD], continuesWord);
      const walk: number[] = [];
      for (let step = 0; step < 12; step++) {
        const allowed = state.allowed();
        assert.deepEqual(allowed, allowedPlain(walk, source, vocab, continuesWord), `seed ${seed}, after [${walk}]`);
        const t = allowed[Math.floor(uniform() * allowed.length)]!;
        if (t === EOS) break;
        walk.push(t);
        state = state.advance(t);
      }
      assert.ok(walk.length > 0 && isQuote(walk, source), `seed ${seed}: [${walk}] is not a span of [${source}]`);
    }
  });

  test('a source with no quotable token allows only EOS', () => {
    assert.deepEqual(QuoteState.start([EOS, PAD, EOS], EOS, [PAD]).allowed(), [EOS]);
  });

  test('a quote ends only where a word ends', () => {
    // ids: 5 = '▁Ham', 6 = 'burg', 7 = '.'; "Ham" alone may not end before "burg"
    const cw = (id: number) => id === 6;
    const s = QuoteState.start([5, 6, 7, EOS], EOS, [PAD], cw).advance(5);
    assert.deepEqual(s.allowed(), [6]);
    assert.deepEqual(s.advance(6).allowed(), [EOS, 7]);
    assert.equal(pieceContinuesWord('burg'), true);
    assert.equal(pieceContinuesWord('\u2581Ham'), false);
    assert.equal(pieceContinuesWord('.'), false);
    assert.equal(pieceContinuesWord('\u4e2d'), false, 'a Han character may end a quote');
  });
});

describe('quoting generation against the float64 reference', () => {
  const shapes = [
    { variant: 't5' as const, seed: 31, vocab: 100 },
    { variant: 't5-v1.1' as const, seed: 32, vocab: 100 },
  ];
  for (const shape of shapes) {
    test(`${shape.variant}: greedy quoting picks the reference's best allowed token at every step`, async () => {
      const engine = await Engine.open(await tinyModelDir(shape), { threads: 1 });
      after(() => engine.close());
      const ckpt = engine.model.checkpoint;
      const V = engine.config.vocabSize;
      const tok = await engine.tokenizer();
      const cw = (id: number) => pieceContinuesWord(tok.piece(id));
      let changed = 0;
      for (let k = 0; k < 6; k++) {
        const question = randomSource(5, V, 50 + k, false);
        const doc = [...randomSource(30, 12, 60 + k, false), EOS];
        const encoded = await engine.encode({ queryIds: question, documentIds: doc, attention: 'dense' });
        const free = await engine.generate(encoded, { maxNewTokens: 6 });
        const quoted = await engine.generate(encoded, { maxNewTokens: 6, quoteFrom: doc });

        const enc = encoderForward(ckpt, [...question, ...doc]);
        const ref: number[] = [];
        for (let t = 0; t < 6; t++) {
          const logits = decoderLogits(ckpt, enc, [engine.config.decoderStartTokenId, ...ref]);
          const row = logits.subarray(t * V, (t + 1) * V);
          const allowed = allowedPlain(ref, doc, V, cw);
          const best = allowed.reduce((a, b) => (row[b]! > row[a]! ? b : a));
          ref.push(best);
          if (best === EOS) break;
        }
        assert.deepEqual(quoted.outputIds, ref, `case ${k}`);
        const body = quoted.outputIds.filter((t) => t !== EOS);
        assert.ok(body.length > 0 && isQuote(body, doc), `case ${k}: [${body}] is a span of the document`);
        if (free.outputIds.join() !== quoted.outputIds.join()) changed++;
      }
      assert.ok(changed > 0, 'quoting changed at least one answer of a random model (else the check is weak)');
    });
  }

  test('beam search with quoting returns the best length-normalized quote of all (2 steps, beams = vocabulary)', async () => {
    const engine = await Engine.open(await tinyModelDir({ variant: 't5-v1.1', seed: 33, vocab: 100 }), { threads: 1 });
    after(() => engine.close());
    const ckpt = engine.model.checkpoint;
    const { vocabSize: V, decoderStartTokenId: start } = engine.config;
    const tok = await engine.tokenizer();
    const cw = (id: number) => pieceContinuesWord(tok.piece(id));
    const question = randomSource(7, V, 70, false);
    const doc = [...randomSource(25, 20, 71, false), EOS];
    const encoded = await engine.encode({ queryIds: question, documentIds: doc, attention: 'dense' });
    const result = await engine.generate(encoded, { maxNewTokens: 2, numBeams: V, lengthPenalty: 1, quoteFrom: doc });

    const enc = encoderForward(ckpt, [...question, ...doc]);
    const lsm = (row: Float64Array) => {
      const max = Math.max(...row);
      const lse = max + Math.log(row.reduce((a, x) => a + Math.exp(x - max), 0));
      return row.map((x) => x - lse);
    };
    const first = lsm(decoderLogits(ckpt, enc, [start]));
    let best = { tokens: [] as number[], norm: -Infinity };
    for (const a of allowedPlain([], doc, V, cw)) {
      const second = lsm(decoderLogits(ckpt, enc, [start, a]).slice(V, 2 * V));
      for (const b of allowedPlain([a], doc, V, cw)) {
        const norm = (first[a]! + second[b]!) / 2;
        if (norm > best.norm) best = { tokens: [a, b], norm };
      }
    }
    assert.deepEqual(result.outputIds, best.tokens);
  });
});
