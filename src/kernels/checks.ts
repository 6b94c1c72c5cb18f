/**
 * Argument checks shared by the positional kernels: each throws a RangeError naming the parameter
 * and the allowed range.
 *
 * @example
 * ```ts
 * import { requireInteger } from "./checks.ts";
 * requireInteger("queryLen", 7, 1); // ok
 * requireInteger("queryLen", 0.5, 1); // RangeError: queryLen must be an integer >= 1; got 0.5
 * ```
 * @module
 */

/**
 * Throws unless `value` is a safe integer >= `min`.
 *
 * @example
 * ```ts
 * requireInteger("positionOffset", 3, 0);
 * ```
 */
export function requireInteger(name: string, value: number, min: number): void {
  if (!Number.isSafeInteger(value) || value < min) {
    throw new RangeError(`${name} must be an integer >= ${min}; got ${value}`);
  }
}

/**
 * Throws unless every entry of `values` is finite.
 *
 * @example
 * ```ts
 * requireFinite("slopes", new Float32Array([0.5, 0.25]));
 * ```
 */
export function requireFinite(name: string, values: ArrayLike<number>): void {
  for (let i = 0; i < values.length; i++) {
    if (!Number.isFinite(values[i])) {
      throw new RangeError(`${name} must be finite; got ${values[i]} at index ${i}`);
    }
  }
}
