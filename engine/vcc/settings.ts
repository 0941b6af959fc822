import { LongreadError } from '../../common/errors';

export type VccLayout = 'paper' | 'cached';

/** The VCC knobs (doc sections 2–4). */
export interface VccSettings {
  /** Block size k: non-VIP tokens are grouped in blocks of k. */
  blockSize: number;
  /** Fine blocks h kept at token resolution in each VCC layer. */
  fineBlocks: number;
  /** VIP tokens n_p: the first n_p tokens of the question-first layout, never compressed. */
  vipTokens: number;
  /**
   * Blocks per group (doc section 5, a third level): a group of this many consecutive blocks that
   * holds no fine block, and is not among the `keptGroups` the VIP tokens attend to most, is one
   * state in the layer. 1: the paper's two levels.
   */
  groupBlocks: number;
  /** Groups without a fine block kept at block resolution in each VCC layer. */
  keptGroups: number;
  /**
   * What the decoder cross-attends to. 0: every token's final state (the full-length output).
   * Otherwise the tokens of this many blocks the last VCC layer's VIP tokens attend to most,
   * and every other block as one state, its tokens' mean, with key bias log(tokens): VCC's own
   * approximation of a coarse block, so a generated token reads about r states instead of n.
   */
  decoderBlocks: number;
  /** Lower layers that run with local attention in fixed segments. */
  localLayers: number;
  /** Segment size of the local layers. */
  segment: number;
  layout: VccLayout;
}

/** VIP tokens per block size: n_p = 3·k in every row of the paper's table. */
export const VIP_PER_BLOCK = 3;

/**
 * The preset, from the paper's table for T5: k = 16, h = 90, n_p = 48 is its setting at every
 * length from 16K to 128K, with local segments of 512 in the lower third of the layers. The
 * table's coarser alternatives at 32K and 64K (k = 32, h = 55; k = 64, h = 30) are overrides of
 * blockSize and fineBlocks; n_p then follows k (3·k) unless it is given too.
 */
export function presetFor(numLayers: number, layout: VccLayout = 'paper', blockSize = 16): VccSettings {
  return {
    blockSize,
    fineBlocks: 90,
    vipTokens: VIP_PER_BLOCK * blockSize,
    groupBlocks: 1,
    keptGroups: 0,
    decoderBlocks: 0,
    localLayers: Math.max(1, Math.round(numLayers / 3)),
    segment: 512,
    layout,
  };
}

export function resolveSettings(numLayers: number, overrides: Partial<VccSettings> = {}): VccSettings {
  const defined = Object.fromEntries(Object.entries(overrides).filter(([, v]) => v !== undefined));
  const k = typeof overrides.blockSize === 'number' && overrides.blockSize >= 1 ? overrides.blockSize : undefined;
  const s: VccSettings = { ...presetFor(numLayers, overrides.layout, k), ...defined };
  const positiveInt = (v: number, what: string, min = 1) => {
    if (!Number.isInteger(v) || v < min) throw new LongreadError('invalid-argument', `${what} must be an integer ≥ ${min}, got ${v}`);
  };
  positiveInt(s.blockSize, 'block size');
  positiveInt(s.fineBlocks, 'fine blocks', 0);
  positiveInt(s.vipTokens, 'VIP tokens');
  positiveInt(s.groupBlocks, 'blocks per group');
  positiveInt(s.keptGroups, 'kept groups', 0);
  positiveInt(s.decoderBlocks, 'decoder blocks', 0);
  positiveInt(s.localLayers, 'local layers', 0);
  positiveInt(s.segment, 'segment size');
  if (s.localLayers > numLayers) {
    throw new LongreadError('invalid-argument', `local layers (${s.localLayers}) exceed the encoder's ${numLayers} layers`);
  }
  if (s.layout !== 'paper' && s.layout !== 'cached') throw new LongreadError('invalid-argument', `unknown layout ${String(s.layout)}`);
  return s;
}
