/**
 * T5 relative-position buckets (Raffel et al.; HF `T5Attention._relative_position_bucket`): small
 * offsets get one bucket each, larger ones share log-spaced buckets up to `maxDistance`, and every
 * offset beyond shares the last bucket. A learned table [numBuckets, numHeads] maps each bucket to
 * a logit bias per head.
 *
 * The arithmetic of the log-spaced part copies the float32 steps of the reference (PyTorch), so
 * that bucket boundaries that fall exactly on an integer round the same way.
 *
 * @example
 * ```ts
 * import { relativePositionBucket } from "./t5.ts";
 * const opts = { bidirectional: false, numBuckets: 32, maxDistance: 128 };
 * relativePositionBucket(-20, opts); // 17: 20 keys back, in the second log-spaced bucket
 * ```
 * @module
 */
import { requireFinite, requireInteger } from "../util/validate.ts";

/** Bucket options; `bidirectional: false` is the causal (decoder) variant. */
export interface BucketOptions {
  bidirectional: boolean;
  numBuckets: number;
  maxDistance: number;
}

const f32 = Math.fround;

/**
 * Buckets per direction and how many of them are exact (one offset each), after validating.
 *
 * @example
 * ```ts
 * bucketLayout({ bidirectional: true, numBuckets: 32, maxDistance: 128 });
 * // { perDirection: 16, maxExact: 8 }
 * ```
 */
export function bucketLayout(opts: BucketOptions): { perDirection: number; maxExact: number } {
  if (typeof opts?.bidirectional !== "boolean") {
    throw new TypeError(`bidirectional must be a boolean; got ${String(opts?.bidirectional)}`);
  }
  const { bidirectional, numBuckets, maxDistance } = opts;
  // Bidirectional halves the buckets, and the log part needs at least one exact bucket.
  requireInteger("numBuckets", numBuckets, bidirectional ? 4 : 2);
  const perDirection = bidirectional ? Math.floor(numBuckets / 2) : numBuckets;
  const maxExact = Math.floor(perDirection / 2);
  requireFinite("maxDistance", maxDistance);
  if (!(maxDistance > maxExact)) {
    throw new RangeError(
      `maxDistance must be > the exact range (numBuckets${
        bidirectional ? " / 4" : " / 2"
      } = ${maxExact}); got ${maxDistance}`,
    );
  }
  return { perDirection, maxExact };
}

/**
 * Bucket index of `relativePosition` = key position - query position (negative = a key in the
 * past), as HF T5 computes it. Causal: only the past counts (future offsets map to bucket 0).
 * Bidirectional: half the buckets per direction, future keys in the upper half.
 *
 * @example
 * ```ts
 * const causal = { bidirectional: false, numBuckets: 32, maxDistance: 128 };
 * relativePositionBucket(-1, causal); // 1
 * relativePositionBucket(-5000, causal); // 31: everything past maxDistance shares the last bucket
 * relativePositionBucket(1, { ...causal, bidirectional: true }); // 17
 * ```
 */
export function relativePositionBucket(relativePosition: number, opts: BucketOptions): number {
  const { perDirection, maxExact } = bucketLayout(opts);
  requireFinite("relativePosition", relativePosition);
  if (!Number.isInteger(relativePosition)) {
    throw new RangeError(`relativePosition must be an integer; got ${relativePosition}`);
  }
  let bucket = 0;
  let distance: number;
  if (opts.bidirectional) {
    if (relativePosition > 0) bucket += perDirection;
    distance = Math.abs(relativePosition);
  } else {
    distance = Math.max(-relativePosition, 0);
  }
  if (distance < maxExact) return bucket + distance;
  // log(d / maxExact) / log(maxDistance / maxExact) * (perDirection - maxExact), in float32.
  const logRatio = f32(Math.log(f32(distance / maxExact)));
  const scaled = f32(
    f32(logRatio / f32(Math.log(opts.maxDistance / maxExact))) * (perDirection - maxExact),
  );
  return bucket + Math.min(maxExact + Math.trunc(scaled), perDirection - 1);
}

/**
 * How many causal (query, key) pairs fall in each bucket for one sequence of `seqLen` tokens: the
 * offset k appears seqLen - k times. Shows which buckets training at a length ever updates.
 *
 * @example
 * ```ts
 * bucketPairCounts(4, { bidirectional: false, numBuckets: 32, maxDistance: 128 }).slice(0, 5);
 * // Float64Array [4, 3, 2, 1, 0]
 * ```
 */
export function bucketPairCounts(seqLen: number, opts: BucketOptions): Float64Array {
  requireInteger("seqLen", seqLen, 1);
  const counts = new Float64Array(opts.numBuckets);
  bucketLayout(opts);
  for (let distance = 0; distance < seqLen; distance++) {
    counts[relativePositionBucket(-distance, opts)] += seqLen - distance;
  }
  return counts;
}

/**
 * The smallest and largest past distance (query - key) in each causal bucket, scanning distances
 * 0 .. upTo - 1; buckets no distance reaches are absent.
 *
 * @example
 * ```ts
 * bucketDistanceRanges({ bidirectional: false, numBuckets: 32, maxDistance: 128 }, 1024)[16];
 * // { bucket: 16, first: 16, last: 18 }
 * ```
 */
export function bucketDistanceRanges(
  opts: BucketOptions,
  upTo: number,
): { bucket: number; first: number; last: number }[] {
  requireInteger("upTo", upTo, 1);
  const ranges: { bucket: number; first: number; last: number }[] = [];
  for (let distance = 0; distance < upTo; distance++) {
    const bucket = relativePositionBucket(-distance, opts);
    const last = ranges[ranges.length - 1];
    if (last?.bucket === bucket) last.last = distance;
    else ranges.push({ bucket, first: distance, last: distance });
  }
  return ranges;
}

/**
 * Learned parameters of a T5 bias: one table [numBuckets, numHeads] (shared by all layers, as in
 * T5), times `numTables` if each layer learns its own.
 *
 * @example
 * ```ts
 * t5ParameterCount(32, 8); // 256
 * ```
 */
export function t5ParameterCount(numBuckets: number, numHeads: number, numTables = 1): number {
  requireInteger("numBuckets", numBuckets, 2);
  requireInteger("numHeads", numHeads, 1);
  requireInteger("numTables", numTables, 1);
  return numBuckets * numHeads * numTables;
}
