/**
 * T5 relative position buckets (transformers' `_relative_position_bucket`), as lookup tables.
 * Beyond `maxDistance` every distance falls in the last bucket, so a table over
 * [-maxDistance, maxDistance] covers all positions exactly; graphs clip and gather from it.
 */
export function relativePositionBucket(
  relative: number,
  bidirectional: boolean,
  numBuckets: number,
  maxDistance: number,
): number {
  let buckets = numBuckets;
  let ret = 0;
  let n: number;
  if (bidirectional) {
    buckets = Math.floor(buckets / 2);
    if (relative > 0) ret += buckets;
    n = Math.abs(relative);
  } else {
    n = Math.max(-relative, 0);
  }
  const maxExact = Math.floor(buckets / 2);
  if (n < maxExact) return ret + n;
  const large =
    maxExact + Math.trunc((Math.log(n / maxExact) / Math.log(maxDistance / maxExact)) * (buckets - maxExact));
  return ret + Math.min(large, buckets - 1);
}

/**
 * The encoder's bias table: row (rel + maxDistance) holds, for each head, the bias for
 * key position − query position = rel, rel ∈ [−maxDistance, maxDistance]. Shape (2L+1, H).
 */
export function encoderBiasTable(
  weight: Float32Array,
  numHeads: number,
  numBuckets: number,
  maxDistance: number,
): Float32Array {
  const L = maxDistance;
  const table = new Float32Array((2 * L + 1) * numHeads);
  for (let rel = -L; rel <= L; rel++) {
    const b = relativePositionBucket(rel, true, numBuckets, maxDistance);
    table.set(weight.subarray(b * numHeads, (b + 1) * numHeads), (rel + L) * numHeads);
  }
  return table;
}

/** The decoder's causal table: row d holds the bias for a key d positions before the query, d ∈ [0, L]. */
export function decoderBiasTable(
  weight: Float32Array,
  numHeads: number,
  numBuckets: number,
  maxDistance: number,
): Float32Array {
  const L = maxDistance;
  const table = new Float32Array((L + 1) * numHeads);
  for (let d = 0; d <= L; d++) {
    const b = relativePositionBucket(-d, false, numBuckets, maxDistance);
    table.set(weight.subarray(b * numHeads, (b + 1) * numHeads), d * numHeads);
  }
  return table;
}
