/**
 * The block bookkeeping of a VCC encoder (doc section 4): the non-VIP tokens in blocks of k,
 * each block's coarse state (masked mean), the difference store (token − mean at the last
 * coarsening) and the block's representative position.
 */
export class BlockStore {
  readonly blocks: number;
  /** (blocks, d) */
  readonly coarse: Float32Array;
  /** (tokens, d): offsets token − mean from the block's last coarsening. */
  readonly diff: Float32Array;
  /** Rounded mean position of each block's real tokens. */
  readonly positions: Int32Array;
  /** Real tokens in each block (the last block may be short: padding is never stored). */
  readonly counts: Int32Array;
  /** Sum of each block's token positions (a group's mean position is exact, not a mean of rounded means). */
  readonly positionSums: Float64Array;

  /**
   * `diffBuffer` (tokens·d floats), when given, holds the difference store: the caller's token
   * states may be it, since coarsening from it in place reads each value before writing it.
   */
  constructor(
    readonly tokens: number,
    readonly blockSize: number,
    readonly d: number,
    tokenPositions: ArrayLike<number>,
    diffBuffer?: Float32Array,
  ) {
    this.blocks = Math.ceil(tokens / blockSize);
    this.coarse = new Float32Array(this.blocks * d);
    this.mean = new Float64Array(d);
    if (diffBuffer && diffBuffer.length !== tokens * d) throw new Error(`difference store: ${diffBuffer.length} floats for ${tokens} tokens of width ${d}`);
    this.diff = diffBuffer ?? new Float32Array(tokens * d);
    this.positions = new Int32Array(this.blocks);
    this.counts = new Int32Array(this.blocks);
    this.positionSums = new Float64Array(this.blocks);
    for (let b = 0; b < this.blocks; b++) {
      const [t0, t1] = this.range(b);
      let sum = 0;
      for (let t = t0; t < t1; t++) sum += tokenPositions[t];
      this.counts[b] = t1 - t0;
      this.positionSums[b] = sum;
      this.positions[b] = Math.round(sum / (t1 - t0));
    }
  }

  /** Token range [t0, t1) of block b. */
  range(b: number): [number, number] {
    return [b * this.blockSize, Math.min(this.tokens, (b + 1) * this.blockSize)];
  }

  /**
   * Coarsens block b from its token states (rows of `states`, one per real token, starting at
   * row `row`): stores the masked mean and each token's offset from it.
   */
  coarsen(b: number, states: Float32Array, row: number): void {
    const { d, coarse, diff } = this;
    const [t0, t1] = this.range(b);
    const m = t1 - t0;
    const mean = this.mean.fill(0);
    for (let i = 0; i < m; i++) {
      const src = (row + i) * d;
      for (let j = 0; j < d; j++) mean[j] += states[src + j]!;
    }
    const at = b * d;
    for (let j = 0; j < d; j++) coarse[at + j] = mean[j]! / m;
    for (let i = 0; i < m; i++) {
      const src = (row + i) * d;
      const dst = (t0 + i) * d;
      for (let j = 0; j < d; j++) diff[dst + j] = states[src + j]! - coarse[at + j]!;
    }
  }

  /** Writes block b's tokens (coarse state + stored offsets) into `out` from row `row`. */
  refine(b: number, out: Float32Array, row: number): void {
    const { d, coarse, diff } = this;
    const [t0, t1] = this.range(b);
    const at = b * d;
    for (let i = 0; i < t1 - t0; i++) {
      const dst = (row + i) * d;
      const src = (t0 + i) * d;
      for (let j = 0; j < d; j++) out[dst + j] = coarse[at + j]! + diff[src + j]!;
    }
  }

  /** Scratch for `coarsen`'s float64 sums. */
  private readonly mean: Float64Array;
}

/**
 * A run of consecutive blocks that a VCC layer may carry as one state (doc section 5's coarser
 * level): the count-weighted mean of its blocks' coarse states, at the rounded mean position of
 * its tokens, weighing as its token count.
 */
export class BlockGroup {
  readonly count: number;
  readonly position: number;

  constructor(
    private readonly store: BlockStore,
    readonly first: number,
    readonly end: number,
  ) {
    let count = 0;
    let sum = 0;
    for (let b = first; b < end; b++) {
      count += store.counts[b];
      sum += store.positionSums[b];
    }
    this.count = count;
    this.position = Math.round(sum / count);
  }

  /** Writes the group's state into `out` at row `row`. */
  collapse(out: Float32Array, row: number): void {
    const { d, coarse, counts } = this.store;
    const mean = new Float64Array(d);
    for (let b = this.first; b < this.end; b++) for (let j = 0; j < d; j++) mean[j] += counts[b] * coarse[b * d + j];
    for (let j = 0; j < d; j++) out[row * d + j] = mean[j] / this.count;
  }

  /**
   * Gives every block of the group the update its state received (`after` − `before`, d values
   * each): S† for a group, as a coarse state's update reaches each of its tokens.
   */
  spread(before: Float32Array, after: Float32Array): void {
    const { d, coarse } = this.store;
    for (let b = this.first; b < this.end; b++) {
      for (let j = 0; j < d; j++) coarse[b * d + j] += after[j] - before[j];
    }
  }
}

/**
 * The groups of `groupBlocks` consecutive blocks that a layer carries as one state each: those
 * with no fine block, except the `keptGroups` of them with the most VIP attention (the sum of
 * their blocks' scores), which stay at block resolution like the groups holding fine blocks.
 */
export function collapsedGroups(store: BlockStore, isFine: Uint8Array, scores: ArrayLike<number>, groupBlocks: number, keptGroups: number): BlockGroup[] {
  if (groupBlocks <= 1) return [];
  const candidates: Array<{ first: number; end: number; mass: number }> = [];
  for (let first = 0; first < store.blocks; first += groupBlocks) {
    const end = Math.min(store.blocks, first + groupBlocks);
    let mass = 0;
    let holdsFine = false;
    for (let b = first; b < end; b++) {
      mass += scores[b];
      holdsFine ||= isFine[b] === 1;
    }
    if (!holdsFine) candidates.push({ first, end, mass });
  }
  const kept = new Set(topBlocks(candidates.map((c) => c.mass), keptGroups));
  return candidates.filter((_, i) => !kept.has(i)).map((c) => new BlockGroup(store, c.first, c.end));
}

/** Indices of the h largest scores, in block order; ties go to the earlier block. */
export function topBlocks(scores: ArrayLike<number>, h: number): number[] {
  const idx = Array.from({ length: scores.length }, (_, i) => i);
  if (h >= idx.length) return idx;
  idx.sort((a, b) => scores[b] - scores[a] || a - b);
  return idx.slice(0, h).sort((a, b) => a - b);
}
