/**
 * The kernel tests' one error measure: max |a - b| / max(max |b|, 1e-6). The floor keeps an
 * all-zero reference from dividing by zero (there the tolerance is 1e-6 x tol, absolute). A length
 * mismatch or any non-finite value (NaN included) counts as an infinite error, so it can never
 * pass a tolerance.
 *
 * @example
 * ```ts
 * relativeError([1, 2], [1, 2.000001]) < 1e-5; // true
 * ```
 */
export function relativeError(a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length !== b.length) return Infinity;
  let num = 0;
  let den = 1e-6;
  for (let i = 0; i < a.length; i++) {
    if (!Number.isFinite(a[i]) || !Number.isFinite(b[i])) return Infinity;
    num = Math.max(num, Math.abs(a[i] - b[i]));
    den = Math.max(den, Math.abs(b[i]));
  }
  return num / den;
}
