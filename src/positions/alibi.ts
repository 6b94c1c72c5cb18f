/**
 * ALiBi (Press et al., "Train Short, Test Long"): no position embedding; each head h adds
 * `-slope_h * (q_pos - k_pos)` to its attention logits, a linear distance penalty. Slopes follow
 * the authors' `get_slopes`, including head counts that are not powers of two.
 *
 * @example
 * ```ts
 * import { alibiSlopes } from "./alibi.ts";
 * alibiSlopes(8); // Float32Array [1/2, 1/4, ..., 1/256]
 * ```
 * @module
 */
import { requireGreater, requireInteger } from "../util/validate.ts";

// For n a power of two: the geometric sequence that starts at 2^(-8/n) with that same ratio.
function powerOfTwoSlopes(n: number): number[] {
  const start = 2 ** (-8 / n);
  return Array.from({ length: n }, (_, i) => start * start ** i);
}

function slopesFor(n: number): number[] {
  if (Number.isInteger(Math.log2(n))) return powerOfTwoSlopes(n);
  // Otherwise: the slopes of the closest smaller power of two, then every other slope of twice
  // that count (which interleave with the first set) until there are n.
  const closest = 2 ** Math.floor(Math.log2(n));
  const extra = slopesFor(2 * closest).filter((_, i) => i % 2 === 0).slice(0, n - closest);
  return [...powerOfTwoSlopes(closest), ...extra];
}

/**
 * ALiBi slope per head, in head order, for any head count >= 1.
 *
 * @example
 * ```ts
 * alibiSlopes(6); // Float32Array [1/4, 1/16, 1/64, 1/256, 1/2, 1/8]
 * ```
 */
export function alibiSlopes(numHeads: number): Float32Array {
  requireInteger("numHeads", numHeads, 1);
  return Float32Array.from(slopesFor(numHeads));
}

/**
 * The distance beyond which ALiBi alone makes a key's weight negligible: the bias multiplies a
 * key's softmax weight by exp(-slope * distance) relative to an equal-logit key at distance 0, so
 * that factor falls below `epsilon` past ln(1/epsilon) / slope.
 *
 * @example
 * ```ts
 * alibiNegligibleDistance(1 / 256, 1e-3); // ~1768 positions
 * ```
 */
export function alibiNegligibleDistance(slope: number, epsilon = 1e-3): number {
  requireGreater("slope", slope, 0);
  requireGreater("epsilon", epsilon, 0);
  if (epsilon >= 1) throw new RangeError(`epsilon must be < 1; got ${epsilon}`);
  return Math.log(1 / epsilon) / slope;
}

/**
 * Bias one head adds for a query at `queryPosition` attending to a key at `keyPosition`
 * (causal: keyPosition <= queryPosition): -slope * (queryPosition - keyPosition).
 *
 * @example
 * ```ts
 * alibiBiasValue(0.5, 10, 4); // -3
 * ```
 */
export function alibiBiasValue(slope: number, queryPosition: number, keyPosition: number): number {
  return slope * (keyPosition - queryPosition);
}
