import type { CompressionPreset } from '../../common/api';
import { resolveSettings, type VccSettings } from '../../engine/vcc/settings';

/*
 * Groups of blocks (doc section 5's coarser level), the same in every preset: a run of 8 blocks
 * with no fine block enters a layer as one state, except the 10 such runs the VIP tokens attend
 * to most. At 128K with k = 16 this shortens r from about 9,600 to about 3,100; on the bundled
 * model at 16K and 32K the VIP states and first-step logits stay as close to dense as with two
 * levels (tests/bench/vcc-fidelity.ts).
 */
const GROUPS = { groupBlocks: 8, keptGroups: 10 };

/*
 * What the decoder reads, the same in every preset: the 16,384 tokens of the blocks the last VCC
 * layer's VIP tokens attend to most, token by token, and every other block as its mean with key
 * bias log(tokens), VCC's own stand-in for a coarse block. A text up to 16K tokens is read whole;
 * at 128K a generated token reads about 23,500 states instead of 131,072 (tests/bench/real-scale.ts).
 */
const DECODER_TOKENS = 16_384;
const decoder = (blockSize: number) => ({ decoderBlocks: DECODER_TOKENS / blockSize });

/**
 * Compression presets → (block size k, fine blocks h), from the paper's T5 table
 * (docs/vcc-algorithm.md §3): `accurate` is the 16K/128K row (k = 16, h = 90), `balanced` the
 * 32K alternative (k = 32, h = 55), `fast` the 64K one (k = 64, h = 30); VIP tokens follow as 3·k.
 * The assistant always uses the cached layout so the local layers can be reused across questions.
 * Cached answers and summaries are keyed by these settings, so a change here asks anew.
 */
export const PRESET_BLOCKS: Record<CompressionPreset, Pick<VccSettings, 'blockSize' | 'fineBlocks' | 'groupBlocks' | 'keptGroups' | 'decoderBlocks'>> = {
  fast: { blockSize: 64, fineBlocks: 30, ...GROUPS, ...decoder(64) },
  balanced: { blockSize: 32, fineBlocks: 55, ...GROUPS, ...decoder(32) },
  accurate: { blockSize: 16, fineBlocks: 90, ...GROUPS, ...decoder(16) },
};

export function vccSettingsFor(preset: CompressionPreset, numLayers: number): VccSettings {
  return resolveSettings(numLayers, { ...PRESET_BLOCKS[preset], layout: 'cached' });
}

/**
 * The fine-block count actually used: when every block would be fine (a short text), a quarter
 * of them are left coarse so the VIP tokens' attention still ranks blocks and yields evidence.
 */
export function fineBlocksWithEvidence(s: VccSettings, nonVipTokens: number): number {
  const blocks = Math.ceil(nonVipTokens / s.blockSize);
  if (blocks < 2 || s.fineBlocks < blocks) return s.fineBlocks;
  return blocks - Math.ceil(blocks / 4);
}
