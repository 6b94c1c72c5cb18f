/**
 * Where a relative-position bias sends attention when content does not decide: the softmax over
 * the bias alone, for the last query of a sequence. Used to compare ALiBi's line with T5's
 * saturating table on the same footing.
 *
 * @example
 * ```ts
 * import { flatContentShare } from "./bias_share.ts";
 * flatContentShare((d) => -0.25 * d, 2048, 640, 1920); // ALiBi's steepest head: ~0
 * ```
 * @module
 */
import { type BucketOptions, relativePositionBucket } from "./t5.ts";

/**
 * Share of attention on keys `from`..`to` positions back (inclusive) for a query with `length`
 * keys (distances 0 .. length - 1) whose content scores are all equal, so that the weights are
 * `exp(bias(distance))` normalised.
 */
export function flatContentShare(
  bias: (distance: number) => number,
  length: number,
  from: number,
  to: number,
): number {
  if (!Number.isInteger(length) || length < 1) {
    throw new RangeError(`length must be an integer >= 1; got ${length}`);
  }
  if (!(from >= 0 && to >= from)) {
    throw new RangeError(`from and to must satisfy 0 <= from <= to; got ${from}, ${to}`);
  }
  const b = Float64Array.from({ length }, (_, d) => bias(d));
  const max = Math.max(...b);
  let all = 0, part = 0;
  b.forEach((v, d) => {
    const w = Math.exp(v - max);
    all += w;
    if (d >= from && d <= to) part += w;
  });
  return part / all;
}

/**
 * One head's T5 bias as a function of distance (query minus key, >= 0), read from a table stored
 * `[numBuckets, numHeads]` row-major as in the course's checkpoints.
 */
export function t5BiasAt(
  table: ArrayLike<number>,
  head: number,
  numHeads: number,
  opts: BucketOptions,
): (distance: number) => number {
  if (table.length !== opts.numBuckets * numHeads) {
    throw new RangeError(
      `table must hold numBuckets x numHeads = ${
        opts.numBuckets * numHeads
      } values; got ${table.length}`,
    );
  }
  if (!Number.isInteger(head) || head < 0 || head >= numHeads) {
    throw new RangeError(`head must be an integer in [0, ${numHeads - 1}]; got ${head}`);
  }
  return (d) => table[relativePositionBucket(-d, opts) * numHeads + head];
}
