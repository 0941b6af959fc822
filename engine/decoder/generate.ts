import type ort from 'onnxruntime-node';
import { LongreadError, throwIfAborted } from '../../common/errors';
import { f32, floatData, i64, run } from '../runtime/onnx';
import type { T5Model } from '../t5-model';
import { QuoteState } from './quote';

export interface GenerateOptions {
  maxNewTokens?: number;
  /** 1 = greedy. */
  numBeams?: number;
  lengthPenalty?: number;
  signal?: AbortSignal;
  /** Called with each token as soon as it is certain to be part of the output. */
  onToken?: (id: number) => void;
  /** Only quote: the output is a contiguous span of these ids (EOS and padding never part of it), then EOS. */
  quoteFrom?: ArrayLike<number>;
  /** With quoteFrom: ids that continue the word before them, so a quote never ends just before one (Engine fills it from the tokenizer). */
  continuesWord?: (id: number) => boolean;
}

/** What the decoder cross-attends to: the final encoder states (n, d), row by row. */
export interface EncoderStates {
  hidden: Float32Array;
  n: number;
  /** Added to every cross-attention score of each state (n): log(tokens) for a state that stands for a block's mean. */
  keyBias?: Float32Array;
}

export interface GenerateResult {
  /** Generated ids, without the decoder start token; ends with EOS when the model stopped by itself. */
  outputIds: number[];
  /** The decoder's logits (full vocabulary) for the first generated position. */
  firstStepLogits: Float32Array;
  /** Sum of log-probabilities of the chosen sequence. */
  score: number;
}

/** One decoder step for a batch of beams: feeds and outputs of the step graph. */
class Stepper {
  private pastK: Float32Array[];
  private pastV: Float32Array[];
  private length = 0;
  private beams = 1;
  private readonly enc: ort.Tensor;
  private readonly encBias: ort.Tensor;

  constructor(
    private readonly model: T5Model,
    states: EncoderStates,
  ) {
    const { numDecoderLayers: layers, dModel: d } = model.config;
    if (states.n < 1 || states.hidden.length < states.n * d) {
      throw new LongreadError('invalid-argument', `the encoder states hold ${Math.floor(states.hidden.length / d)} rows of width ${d}, not the ${states.n} asked for`);
    }
    // One tensor over the caller's buffer for every step: the states are never copied.
    this.enc = f32(states.hidden.subarray(0, states.n * d), [states.n, d]);
    if (states.keyBias && states.keyBias.length !== states.n) throw new LongreadError('invalid-argument', `the encoder states' key bias has ${states.keyBias.length} entries, not ${states.n}`);
    this.encBias = f32(states.keyBias ?? new Float32Array(states.n), [states.n]);
    this.pastK = Array.from({ length: layers }, () => new Float32Array(0));
    this.pastV = Array.from({ length: layers }, () => new Float32Array(0));
  }

  /** Logits (beams × vocab) for the next token after feeding `ids` (one per beam). */
  async step(ids: number[]): Promise<Float32Array> {
    const { numHeads: H, dKv: dk, numDecoderLayers: layers } = this.model.config;
    if (ids.length !== this.beams) throw new Error('beam count changed without reorder');
    const feeds: Record<string, ort.Tensor> = {
      ids: i64(ids, [ids.length, 1]),
      step: i64([this.length], [1]),
      enc: this.enc,
      enc_bias: this.encBias,
    };
    for (let l = 0; l < layers; l++) {
      feeds[`past_k_${l}`] = f32(this.pastK[l], [this.beams, H, this.length, dk]);
      feeds[`past_v_${l}`] = f32(this.pastV[l], [this.beams, H, this.length, dk]);
    }
    const out = await run(await this.model.decoderStep(), feeds);
    for (let l = 0; l < layers; l++) {
      this.pastK[l] = floatData(out[`present_k_${l}`], 'present_k');
      this.pastV[l] = floatData(out[`present_v_${l}`], 'present_v');
    }
    this.length++;
    return floatData(out.logits, 'logits');
  }

  /** Keeps the caches of the given beams (by index, repeats allowed), in that order. */
  reorder(parents: number[]): void {
    const { numHeads: H, dKv: dk } = this.model.config;
    const per = H * this.length * dk;
    const pick = (src: Float32Array) => {
      const out = new Float32Array(parents.length * per);
      parents.forEach((p, i) => out.set(src.subarray(p * per, (p + 1) * per), i * per));
      return out;
    };
    this.pastK = this.pastK.map(pick);
    this.pastV = this.pastV.map(pick);
    this.beams = parents.length;
  }
}

function logSoftmaxRow(logits: Float32Array, row: number, vocab: number): Float64Array {
  const out = new Float64Array(vocab);
  let max = -Infinity;
  for (let j = 0; j < vocab; j++) max = Math.max(max, logits[row * vocab + j]);
  let sum = 0;
  for (let j = 0; j < vocab; j++) sum += Math.exp(logits[row * vocab + j] - max);
  const lse = max + Math.log(sum);
  for (let j = 0; j < vocab; j++) out[j] = logits[row * vocab + j] - lse;
  return out;
}

/** Index of the largest value; the lowest index wins ties. */
export function argmax(a: ArrayLike<number>, start = 0, end = a.length): number {
  let best = start;
  for (let j = start + 1; j < end; j++) if (a[j] > a[best]) best = j;
  return best - start;
}

/** Of `ids` (ascending), the one with the largest logit in `row`; the lowest id wins ties. */
function bestOf(logits: Float32Array, row: number, vocab: number, ids: readonly number[]): number {
  let best = ids[0]!;
  for (const id of ids) if (logits[row * vocab + id]! > logits[row * vocab + best]!) best = id;
  return best;
}

function quoteStart(model: T5Model, opts: GenerateOptions): QuoteState | undefined {
  const { eosTokenId, padTokenId } = model.config;
  return opts.quoteFrom ? QuoteState.start(opts.quoteFrom, eosTokenId, [padTokenId], opts.continuesWord) : undefined;
}

function validateRequest(model: T5Model, opts: GenerateOptions): { maxNew: number; beams: number } {
  const maxNew = opts.maxNewTokens ?? 64;
  const beams = opts.numBeams ?? 1;
  if (!Number.isInteger(maxNew) || maxNew < 1) throw new LongreadError('invalid-argument', `max new tokens must be a positive integer, got ${maxNew}`);
  if (!Number.isInteger(beams) || beams < 1 || beams > model.config.vocabSize)
    throw new LongreadError('invalid-argument', `number of beams must be between 1 and the vocabulary size, got ${beams}`);
  return { maxNew, beams };
}

export async function generate(model: T5Model, states: EncoderStates, opts: GenerateOptions = {}): Promise<GenerateResult> {
  const { maxNew, beams } = validateRequest(model, opts);
  return beams === 1 ? greedy(model, states, maxNew, opts) : beamSearch(model, states, maxNew, beams, opts);
}

async function greedy(model: T5Model, states: EncoderStates, maxNew: number, opts: GenerateOptions): Promise<GenerateResult> {
  const { vocabSize: vocab, decoderStartTokenId, eosTokenId } = model.config;
  const stepper = new Stepper(model, states);
  const outputIds: number[] = [];
  let firstStepLogits = new Float32Array(0);
  let score = 0;
  let next = decoderStartTokenId;
  let quote = quoteStart(model, opts);
  for (let t = 0; t < maxNew; t++) {
    throwIfAborted(opts.signal, 'Generation');
    const logits = await stepper.step([next]);
    if (t === 0) firstStepLogits = logits.slice(0, vocab);
    next = quote ? bestOf(logits, 0, vocab, quote.allowed()) : argmax(logits, 0, vocab);
    score += logSoftmaxRow(logits, 0, vocab)[next];
    outputIds.push(next);
    opts.onToken?.(next);
    if (next === eosTokenId) break;
    quote = quote?.advance(next);
  }
  return { outputIds, firstStepLogits, score };
}

interface Hypothesis {
  tokens: number[];
  score: number;
  quote?: QuoteState;
}

/**
 * Beam search as in transformers' defaults (no early stopping heuristics beyond theirs):
 * keep `beams` live hypotheses, move those ending in EOS to the finished list with a
 * length-normalized score, stop when no live beam can beat the worst finished one.
 * Tokens are streamed once every hypothesis that can still win agrees on them.
 */
async function beamSearch(
  model: T5Model,
  states: EncoderStates,
  maxNew: number,
  numBeams: number,
  opts: GenerateOptions,
): Promise<GenerateResult> {
  const { vocabSize: vocab, decoderStartTokenId, eosTokenId } = model.config;
  const lp = opts.lengthPenalty ?? 1;
  const norm = (h: Hypothesis) => h.score / h.tokens.length ** lp;
  const stepper = new Stepper(model, states);
  let live: Hypothesis[] = [{ tokens: [], score: 0, quote: quoteStart(model, opts) }];
  const finished: Hypothesis[] = [];
  let firstStepLogits = new Float32Array(0);
  let streamed = 0;

  for (let t = 0; t < maxNew && live.length > 0; t++) {
    throwIfAborted(opts.signal, 'Generation');
    const logits = await stepper.step(live.map((h) => (h.tokens.length ? h.tokens[h.tokens.length - 1] : decoderStartTokenId)));
    if (t === 0) firstStepLogits = logits.slice(0, vocab);
    const candidates: Array<{ parent: number; token: number; score: number }> = [];
    live.forEach((h, b) => {
      const lsm = logSoftmaxRow(logits, b, vocab);
      const order = (h.quote ? h.quote.allowed() : Array.from(lsm.keys())).sort((a, c) => lsm[c] - lsm[a] || a - c).slice(0, 2 * numBeams);
      for (const token of order) candidates.push({ parent: b, token, score: h.score + lsm[token] });
    });
    candidates.sort((a, b) => b.score - a.score);
    const next: Hypothesis[] = [];
    const parents: number[] = [];
    for (const c of candidates) {
      const tokens = [...live[c.parent].tokens, c.token];
      if (c.token === eosTokenId) {
        finished.push({ tokens, score: c.score });
      } else {
        next.push({ tokens, score: c.score, quote: live[c.parent].quote?.advance(c.token) });
        parents.push(c.parent);
      }
      if (next.length === numBeams) break;
    }
    finished.sort((a, b) => norm(b) - norm(a));
    finished.splice(numBeams);
    live = next;
    if (t === maxNew - 1) break;
    if (finished.length === numBeams) {
      const bestLive = Math.max(...live.map((h) => h.score)) / (t + 1) ** lp;
      if (norm(finished[numBeams - 1]) >= bestLive) break;
    }
    stepper.reorder(parents);
    if (opts.onToken && live.length > 0) {
      // Finished hypotheses can still win, so they must share what is streamed too.
      const agreed = commonPrefix([...live, ...finished].map((h) => h.tokens));
      while (streamed < agreed) opts.onToken(live[0].tokens[streamed++]);
    }
  }
  const pool = [...finished, ...live].sort((a, b) => norm(b) - norm(a));
  const best = pool[0];
  if (opts.onToken) {
    for (let i = streamed; i < best.tokens.length; i++) opts.onToken(best.tokens[i]);
  }
  return { outputIds: best.tokens, firstStepLogits, score: best.score };
}

function commonPrefix(seqs: number[][]): number {
  let k = 0;
  for (;;) {
    const t = seqs[0][k];
    if (t === undefined || !seqs.every((s) => s[k] === t)) return k;
    k++;
  }
}
