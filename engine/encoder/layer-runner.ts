import { throwIfAborted } from '../../common/errors';
import { f32, floatData, i64, run, type LoadedSession } from '../runtime/onnx';
import type { T5Model } from '../t5-model';

/** Default cap on the elements of one attention score tile (B·H·c·m): 4M floats = 16 MiB. */
export const DEFAULT_SCORE_BUDGET = 1 << 22;
/** Rows projected to keys/values per call when one long sequence is processed. */
const KV_ROW_CHUNK = 4096;

/** A batch of B independent sequences of equal length n, laid out (B, n, d). */
export interface EncoderBatch {
  x: Float32Array;
  batch: number;
  length: number;
  /** (B, n): each token's position for the relative bias. */
  positions: BigInt64Array;
  /** (B, n): additive bias of each token as a key: 0, log(count) for a VCC coarse token, −1e9 for padding. */
  keyBias: Float32Array;
}

export interface KeysValues {
  /** (B, H, dk, n) */
  kT: Float32Array;
  /** (B, H, n, dk) */
  v: Float32Array;
}

export interface LayerRunOptions {
  signal?: AbortSignal;
  scoreBudget?: number;
  /** Rows (over the batch) per query chunk; default QUERY_ROWS. */
  queryRows?: number;
  /** false: far tiles with one key bias per sequence still add it to every score (for comparisons). */
  uniformFarTiles?: boolean;
  /** Cap on one tile's score elements (default CACHE_TILE_SCORES; for comparisons). */
  tileScores?: number;
  /** false: short sequences with consecutive positions still go through the online softmax's tiles (for comparisons). */
  wholeRows?: boolean;
  /** false: each far tile is its own call instead of runs of tiles in one (for comparisons). */
  tileRuns?: boolean;
  /** Fraction of the current layer done, for progress within long layers. */
  onFraction?: (done: number) => void;
}

/** Copies rows [r0, r1) of every sequence in a (B, n, w) array into a new (B, r1−r0, w) array. */
function sliceRows(src: Float32Array | BigInt64Array, batch: number, n: number, width: number, r0: number, r1: number) {
  if (batch === 1) return src.subarray(r0 * width, r1 * width);
  const rows = r1 - r0;
  const out = new (src.constructor as Float32ArrayConstructor | BigInt64ArrayConstructor)(batch * rows * width);
  for (let b = 0; b < batch; b++) out.set(src.subarray((b * n + r0) * width, (b * n + r1) * width) as never, b * rows * width);
  return out;
}

function writeRows(dst: Float32Array, src: Float32Array, batch: number, n: number, width: number, r0: number, r1: number): void {
  const rows = r1 - r0;
  for (let b = 0; b < batch; b++) dst.set(src.subarray(b * rows * width, (b + 1) * rows * width), (b * n + r0) * width);
}

/** Keys (pre-transposed) and values of layer `layer` for every token of the batch. */
export async function computeKeysValues(model: T5Model, layer: number, x: Float32Array, batch: number, n: number, signal?: AbortSignal): Promise<KeysValues> {
  const out = await projectRows(model, await model.encoderKv(layer), x, batch, n, true, signal);
  return { kT: out.kT, v: out.v! };
}

/** Keys only (pre-transposed, (H, dk, n)) of one sequence: what VCC's selection scores against. */
export async function computeKeys(model: T5Model, layer: number, x: Float32Array, n: number, signal?: AbortSignal): Promise<Float32Array> {
  return (await projectRows(model, await model.encoderKeys(layer), x, 1, n, false, signal)).kT;
}

/** Runs a key (and value) projection graph over the rows, KV_ROW_CHUNK rows at a time for one long sequence. */
async function projectRows(model: T5Model, graph: LoadedSession, x: Float32Array, batch: number, n: number, values: boolean, signal?: AbortSignal): Promise<{ kT: Float32Array; v?: Float32Array }> {
  const { dModel: d, numHeads: H, dKv: dk } = model.config;
  if (batch > 1 || n <= KV_ROW_CHUNK) {
    const out = await run(graph, { x: f32(x, [batch, n, d]) });
    return { kT: floatData(out.kT, 'kT'), ...(values ? { v: floatData(out.v, 'v') } : {}) };
  }
  const kT = new Float32Array(H * dk * n);
  const v = values ? new Float32Array(H * n * dk) : undefined;
  for (let r0 = 0; r0 < n; r0 += KV_ROW_CHUNK) {
    throwIfAborted(signal);
    const r1 = Math.min(n, r0 + KV_ROW_CHUNK);
    const c = r1 - r0;
    const out = await run(graph, { x: f32(x.subarray(r0 * d, r1 * d), [1, c, d]) });
    const kc = floatData(out.kT, 'kT');
    for (let row = 0; row < H * dk; row++) kT.set(kc.subarray(row * c, (row + 1) * c), row * n + r0);
    if (v) {
      const vc = floatData(out.v, 'v');
      for (let h = 0; h < H; h++) v.set(vc.subarray(h * c * dk, (h + 1) * c * dk), (h * n + r0) * dk);
    }
  }
  return v ? { kT, v } : { kT };
}

/** Key tiles (or sub-tiles) one layer ran through each attention graph. */
export interface LayerRunStats {
  /** Query chunks attended to all their keys at once (short sequences, consecutive positions). */
  rowsTiles: number;
  nearTiles: number;
  /** Far tiles, of which `uniformTiles` had one key bias per sequence (their bias is one number per head). */
  farTiles: number;
  uniformTiles: number;
  /** Calls of the far-tile graphs: one per run of consecutive far tiles of one kind. */
  farCalls: number;
  /** Wall-clock milliseconds in each stage: keys/values, queries, attention tiles, output projection + FFN. */
  ms: { kv: number; query: number; attention: number; output: number };
}

/** Rows (over the whole batch) per query chunk: enough for the projections and FFN to run near MatMul speed. */
export const QUERY_ROWS = 256;
/**
 * Score elements (B·H·c·m) of one attention tile when the budget allows more: a tile this size
 * (3 MiB) stays in cache through its dozen operators. Measured on 2 cores (AMD EPYC, AVX2), t5-base
 * shape, dense 16K, c = 256, runs of far tiles on both threads: 128, 256 and 512 keys per tile
 * all gave 17.3–17.4 s a layer, 1,024 keys 18.3 s.
 */
export const CACHE_TILE_SCORES = 3 << 18;

/** Keys per attention tile for `rows` = B·H·c score rows: within the score budget, and no tile beyond CACHE_TILE_SCORES. */
export function keysPerTile(n: number, rows: number, budget: number, cap = CACHE_TILE_SCORES): number {
  return Math.max(1, Math.min(n, Math.floor(Math.min(budget, cap) / rows)));
}

/** Keys per sub-tile when a key tile lies near the queries (its bias must be gathered per pair). */
const NEAR_SUBTILE = 128;

/** Key tiles of a layer, copied once into contiguous (B,H,dk,m) / (B,H,m,dk+1) / (B,m) arrays. */
interface KeyTile {
  k0: number;
  k1: number;
  /** The tile's place among the layer's tiles of full length, whose kT and v1 lie one after another in one array each. */
  run?: { index: number; kT: Float32Array; v1: Float32Array };
  kT: Float32Array;
  /** (B,H,m,dk+1): values and a column of ones. */
  v1: Float32Array;
  kpos: BigInt64Array;
  kbias: Float32Array;
  /** (B): each sequence's key bias when all its keys in the tile share it and it is no mask, else null. */
  uniformBias: Float32Array | null;
  /** Smallest and largest key position in the tile (over the batch). */
  minPos: number;
  maxPos: number;
}

type Side = 'left' | 'right' | 'near';

function positionRange(pos: BigInt64Array, batch: number, n: number, r0: number, r1: number): [number, number] {
  let lo = Infinity;
  let hi = -Infinity;
  for (let b = 0; b < batch; b++) {
    for (let i = b * n + r0; i < b * n + r1; i++) {
      const p = Number(pos[i]);
      if (p < lo) lo = p;
      if (p > hi) hi = p;
    }
  }
  return [lo, hi];
}

function keyTile(
  kv: KeysValues,
  inp: { batch: number; n: number; H: number; dk: number; pos: BigInt64Array; kbias: Float32Array },
  k0: number,
  k1: number,
  run?: KeyTile['run'],
): KeyTile {
  const { batch: B, n, H, dk } = inp;
  const m = k1 - k0;
  const kT = run ? run.kT.subarray(run.index * B * H * dk * m, (run.index + 1) * B * H * dk * m) : new Float32Array(B * H * dk * m);
  for (let row = 0; row < B * H * dk; row++) kT.set(kv.kT.subarray(row * n + k0, row * n + k1), row * m);
  // Values with a column of ones: p·[v, 1] also yields the softmax sum.
  const v1 = run ? run.v1.subarray(run.index * B * H * m * (dk + 1), (run.index + 1) * B * H * m * (dk + 1)) : new Float32Array(B * H * m * (dk + 1));
  for (let bh = 0; bh < B * H; bh++) {
    for (let j = 0; j < m; j++) {
      const at = (bh * m + j) * (dk + 1);
      v1.set(kv.v.subarray((bh * n + k0 + j) * dk, (bh * n + k0 + j + 1) * dk), at);
      v1[at + dk] = 1;
    }
  }
  const [minPos, maxPos] = positionRange(inp.pos, B, n, k0, k1);
  const kbias = sliceRows(inp.kbias, B, n, 1, k0, k1) as Float32Array;
  return {
    k0,
    k1,
    ...(run ? { run } : {}),
    kT,
    v1,
    kpos: sliceRows(inp.pos, B, n, 1, k0, k1) as BigInt64Array,
    kbias,
    uniformBias: uniformKeyBias(kbias, B, m),
    minPos,
    maxPos,
  };
}

/**
 * Masked keys (−1e9) are left out: added to the row max, such a shift would lose the scores'
 * digits in float32 and with them the guarantee that exp stays ≤ 1.
 */
const UNIFORM_BIAS_LIMIT = 1e4;

/** Each sequence's key bias over a (B, m) tile if it is one value per sequence within ±UNIFORM_BIAS_LIMIT, else null. */
function uniformKeyBias(kbias: Float32Array, B: number, m: number): Float32Array | null {
  const out = new Float32Array(B);
  for (let b = 0; b < B; b++) {
    const v = kbias[b * m];
    if (!(Math.abs(v) < UNIFORM_BIAS_LIMIT)) return null;
    for (let j = 1; j < m; j++) if (kbias[b * m + j] !== v) return null;
    out[b] = v;
  }
  return out;
}

/** Score elements (B·H·c·m) up to which a query chunk attends to all its keys at once (8 MiB of scores). */
const ROWS_TILE_SCORES = 1 << 21;

/** Whether every sequence's positions run p, p+1, p+2, …: then the position bias depends on (row, key) index alone. */
function consecutivePositions(pos: BigInt64Array, batch: number, n: number): boolean {
  for (let b = 0; b < batch; b++) {
    const p0 = pos[b * n]!;
    for (let i = 1; i < n; i++) if (pos[b * n + i] !== p0 + BigInt(i)) return false;
  }
  return true;
}

/** The position bias (1,H,c,m) of query rows r0… to keys 0…m−1 of a sequence with consecutive positions. */
function toeplitzBias(table: Float32Array, H: number, L: number, r0: number, c: number, m: number): Float32Array {
  const out = new Float32Array(H * c * m);
  for (let h = 0; h < H; h++) {
    for (let i = 0; i < c; i++) {
      const row = (h * c + i) * m;
      const q = r0 + i;
      for (let j = 0; j < m; j++) out[row + j] = table[(Math.max(-L, Math.min(L, j - q)) + L) * H + h]!;
    }
  }
  return out;
}

/**
 * Runs one unchanged T5 encoder layer on the batch, in place: every sequence attends to itself
 * with its tokens' positions and key biases. Queries go in chunks of about QUERY_ROWS rows, one
 * after the other, every graph on all the engine's threads (ONNX Runtime's Node binding runs a
 * session synchronously on the calling thread, so calls never overlap); for each chunk the keys
 * go in tiles so no score tensor exceeds the score budget, combined with an online (streaming)
 * softmax, which is exact up to float rounding. A tile whose keys are all at
 * least max_distance away on one side of every query of the chunk has one bias per head and
 * takes the cheaper far graphs (`far uniform` when its key bias is one value per sequence, as in
 * dense attention: then no bias is added to the scores at all), consecutive far tiles in one call;
 * the others are split into small sub-tiles, each far or near.
 */
export async function runEncoderLayer(
  model: T5Model,
  layer: number,
  inp: EncoderBatch,
  opts: LayerRunOptions = {},
): Promise<LayerRunStats> {
  const stats: LayerRunStats = { rowsTiles: 0, nearTiles: 0, farTiles: 0, uniformTiles: 0, farCalls: 0, ms: { kv: 0, query: 0, attention: 0, output: 0 } };
  let t0 = performance.now();
  const lap = (stage: keyof LayerRunStats['ms']) => {
    const t = performance.now();
    stats.ms[stage] += t - t0;
    t0 = t;
  };
  const queryRows = Math.max(1, opts.queryRows ?? QUERY_ROWS);
  const { dModel: d, numHeads: H, dKv: dk } = model.config;
  const budget = opts.scoreBudget ?? DEFAULT_SCORE_BUDGET;
  const n = inp.length;
  const [querySession, outputSession, nearSession, farSession, farUniformSession, rowsSession] = await Promise.all([
    model.encoderQuery(layer),
    model.encoderOutput(layer),
    model.encoderNearTile(),
    model.encoderFarTiles(),
    model.encoderFarUniformTiles(),
    model.encoderRowsTile(),
  ]);
  const { table, maxDistance: L } = model.positionBias();
  const headBias = (row: number) => table.slice(row * H, (row + 1) * H);
  const leftBias = headBias(0); // every key at least L before every query
  const rightBias = headBias(2 * L); // every key at least L after every query
  // Toeplitz position biases of whole-row chunks by first row (every group has the same n and chunk).
  const toeplitz = new Map<number, Float32Array>();
  // Whole sequences batched only while a chunk still holds them whole: a long sequence goes alone
  // with `queryRows` queries per chunk (a batch of 32 segments with 8 queries each would starve the MatMuls).
  const groupSize = Math.max(1, Math.min(inp.batch, Math.floor(queryRows / n)));
  for (let b0 = 0; b0 < inp.batch; b0 += groupSize) {
    throwIfAborted(opts.signal);
    const B = Math.min(groupSize, inp.batch - b0);
    const x = inp.x.subarray(b0 * n * d, (b0 + B) * n * d);
    const pos = inp.positions.subarray(b0 * n, (b0 + B) * n);
    const kbias = inp.keyBias.subarray(b0 * n, (b0 + B) * n);
    t0 = performance.now();
    const kv = await computeKeysValues(model, layer, x, B, n, opts.signal);
    const chunk = Math.max(1, Math.min(n, Math.ceil(queryRows / B)));
    const wholeRows = opts.wholeRows !== false && B * H * chunk * n <= Math.min(budget, ROWS_TILE_SCORES) && consecutivePositions(pos, B, n);
    const tileKeys = wholeRows ? n : keysPerTile(n, B * H * chunk, budget, opts.tileScores);
    const shape = { batch: B, n, H, dk, pos, kbias };
    // Tiles of full length side by side in one array, so that a run of them is one call's input.
    const fullTiles = Math.floor(n / tileKeys);
    const pool = { kT: new Float32Array(fullTiles * B * H * dk * tileKeys), v1: new Float32Array(fullTiles * B * H * tileKeys * (dk + 1)) };
    const tiles: KeyTile[] = [];
    for (let k0 = 0, i = 0; k0 < n; k0 += tileKeys, i++) tiles.push(keyTile(kv, shape, k0, Math.min(n, k0 + tileKeys), i < fullTiles ? { index: i, ...pool } : undefined));
    // A key bias that is one value per sequence shifts every score of a row alike, which the softmax ignores.
    const rowsKeyBias = wholeRows && !tiles[0]!.uniformBias ? kbias : null;
    const rowsBias = (r0: number, c: number): { data: Float32Array; batch: number } => {
      let t = toeplitz.get(r0);
      if (!t || t.length !== H * c * n) toeplitz.set(r0, (t = toeplitzBias(table, H, L, r0, c, n)));
      if (!rowsKeyBias) return { data: t, batch: 1 };
      const out = new Float32Array(B * H * c * n);
      for (let b = 0; b < B; b++) {
        for (let hc = 0; hc < H * c; hc++) {
          const at = (b * H * c + hc) * n;
          for (let j = 0; j < n; j++) out[at + j] = t[hc * n + j]! + rowsKeyBias[b * n + j]!;
        }
      }
      return { data: out, batch: B };
    };
    lap('kv');
    const runChunk = async (r0: number, r1: number) => {
      throwIfAborted(opts.signal);
      const c = r1 - r0;
      const xRows = sliceRows(x, B, n, d, r0, r1) as Float32Array;
      const qposRows = sliceRows(pos, B, n, 1, r0, r1) as BigInt64Array;
      const [qLo, qHi] = positionRange(pos, B, n, r0, r1);
      const q = f32(floatData((await run(querySession, { x: f32(xRows, [B, c, d]) })).q, 'q'), [B, H, c, dk]);
      lap('query');
      // The online softmax's running max and accumulator; the whole-row path needs neither.
      let max = wholeRows ? undefined : f32(new Float32Array(B * H * c).fill(-Infinity), [B, H, c, 1]);
      let acc = wholeRows ? undefined : f32(new Float32Array(B * H * c * (dk + 1)), [B, H, c, dk + 1]);
      // Which side of every query of the chunk a key range lies on, beyond max distance; else near.
      const side = (lo: number, hi: number): Side => (lo - qHi >= L ? 'right' : hi - qLo <= -L ? 'left' : 'near');
      // Far tiles wait here while they form a run for one call: tiles of full length, consecutive, of one kind.
      let pending: { tiles: KeyTile[]; sides: Side[]; uniform: boolean } | null = null;
      const flush = async () => {
        if (!pending) return;
        const { tiles: run0, sides, uniform } = pending;
        pending = null;
        const T = run0.length;
        const first = run0[0]!;
        const m = first.k1 - first.k0;
        const at = first.run?.index ?? 0;
        const kT = T === 1 ? first.kT : first.run!.kT.subarray(at * B * H * dk * m, (at + T) * B * H * dk * m);
        const v1 = T === 1 ? first.v1 : first.run!.v1.subarray(at * B * H * m * (dk + 1), (at + T) * B * H * m * (dk + 1));
        const feeds = { q, kT: f32(kT, [T, B, H, dk, m]), v1: f32(v1, [T, B, H, m, dk + 1]), max: max!, acc: acc! };
        let out;
        if (uniform) {
          const shift = new Float32Array(T * B * H);
          run0.forEach((t, i) => {
            const hb = sides[i] === 'left' ? leftBias : rightBias;
            for (let b = 0; b < B; b++) for (let h = 0; h < H; h++) shift[(i * B + b) * H + h] = t.uniformBias![b]! + hb[h]!;
          });
          out = await run(farUniformSession, { ...feeds, shift: f32(shift, [T, B, H, 1, 1]) });
          stats.uniformTiles += T;
        } else {
          const bias = new Float32Array(T * B * H * m);
          run0.forEach((t, i) => {
            const hb = sides[i] === 'left' ? leftBias : rightBias;
            for (let b = 0; b < B; b++) {
              for (let h = 0; h < H; h++) {
                const row = ((i * B + b) * H + h) * m;
                for (let j = 0; j < m; j++) bias[row + j] = t.kbias[b * m + j]! + hb[h]!;
              }
            }
          });
          out = await run(farSession, { ...feeds, bias: f32(bias, [T, B, H, 1, m]) });
        }
        stats.farTiles += T;
        stats.farCalls++;
        max = out.max_out!;
        acc = out.acc_out!;
      };
      const step = async (t: KeyTile, where: Side) => {
        if (where === 'near') {
          await flush();
          const m = t.k1 - t.k0;
          const out = await run(nearSession, {
            q,
            kT: f32(t.kT, [B, H, dk, m]),
            v1: f32(t.v1, [B, H, m, dk + 1]),
            max: max!,
            acc: acc!,
            qpos: i64(qposRows, [B, c]),
            kpos: i64(t.kpos, [B, m]),
            kbias: f32(t.kbias, [B, m]),
          });
          stats.nearTiles++;
          max = out.max_out!;
          acc = out.acc_out!;
          return;
        }
        const uniform = t.uniformBias !== null && opts.uniformFarTiles !== false;
        const last = pending?.tiles.at(-1);
        const joins = pending && opts.tileRuns !== false && pending.uniform === uniform && t.run && last?.run && t.run.index === last.run.index + 1;
        if (!joins) await flush();
        if (pending) {
          pending.tiles.push(t);
          pending.sides.push(where);
        } else {
          pending = { tiles: [t], sides: [where], uniform };
        }
      };
      if (wholeRows) {
        const t = tiles[0]!;
        const bias = rowsBias(r0, c);
        const out = await run(rowsSession, { q, kT: f32(t.kT, [B, H, dk, n]), v1: f32(t.v1, [B, H, n, dk + 1]), bias: f32(bias.data, [bias.batch, H, c, n]) });
        acc = out.acc_out!;
        stats.rowsTiles++;
      }
      for (const t of wholeRows ? [] : tiles) {
        const where = side(t.minPos, t.maxPos);
        if (where !== 'near' || t.k1 - t.k0 <= NEAR_SUBTILE) {
          await step(t, where);
          continue;
        }
        // Split a near tile into runs of sub-tiles on the same side (with sorted positions: far
        // left, near, far right), each run one call.
        let runStart = t.k0;
        let runSide = side(...positionRange(pos, B, n, t.k0, Math.min(t.k1, t.k0 + NEAR_SUBTILE)));
        for (let s0 = t.k0 + NEAR_SUBTILE; s0 < t.k1; s0 += NEAR_SUBTILE) {
          const here = side(...positionRange(pos, B, n, s0, Math.min(t.k1, s0 + NEAR_SUBTILE)));
          if (here === runSide) continue;
          await step(keyTile(kv, shape, runStart, s0), runSide);
          runStart = s0;
          runSide = here;
        }
        await step(runStart === t.k0 ? t : keyTile(kv, shape, runStart, t.k1), runSide);
      }
      await flush();
      lap('attention');
      const out = await run(outputSession, { x: f32(xRows, [B, c, d]), acc: acc! });
      writeRows(x, floatData(out.y, 'y'), B, n, d, r0, r1);
      lap('output');
      opts.onFraction?.((b0 * n + B * r1) / (inp.batch * n));
    };
    for (let r0 = 0; r0 < n; r0 += chunk) await runChunk(r0, Math.min(n, r0 + chunk));
  }
  return stats;
}

/** T5's final RMS layer norm over rows of width d, in place. */
export function finalLayerNorm(x: Float32Array, weight: Float32Array, eps: number): void {
  const d = weight.length;
  for (let off = 0; off < x.length; off += d) {
    let ss = 0;
    for (let j = 0; j < d; j++) ss += x[off + j] * x[off + j];
    const inv = 1 / Math.sqrt(ss / d + eps);
    for (let j = 0; j < d; j++) x[off + j] = x[off + j] * inv * weight[j];
  }
}

/** Token embeddings (n, d) for the ids. */
export function embed(shared: Float32Array, d: number, ids: ArrayLike<number>): Float32Array {
  const out = new Float32Array(ids.length * d);
  for (let i = 0; i < ids.length; i++) out.set(shared.subarray(ids[i] * d, (ids[i] + 1) * d), i * d);
  return out;
}
