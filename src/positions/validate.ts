/**
 * Argument checks shared by the positional modules: each throws a RangeError (or TypeError for a
 * value of the wrong kind) whose message names the parameter and the allowed range.
 *
 * @example
 * ```ts
 * import { requireInteger } from "./validate.ts";
 * requireInteger("numHeads", 8, 1); // ok
 * requireInteger("numHeads", 0, 1); // RangeError: numHeads must be an integer >= 1; got 0
 * ```
 * @module
 */

/** Throws unless `value` is a finite number. */
export function requireFinite(name: string, value: unknown): asserts value is number {
  if (typeof value !== "number" || !Number.isFinite(value)) {
    throw new TypeError(`${name} must be a finite number; got ${String(value)}`);
  }
}

/**
 * Throws unless `value` is an integer `>= min`.
 *
 * @example
 * ```ts
 * requireInteger("headDim", 64, 2);
 * ```
 */
export function requireInteger(name: string, value: unknown, min: number): asserts value is number {
  requireFinite(name, value);
  if (!Number.isInteger(value) || value < min) {
    throw new RangeError(`${name} must be an integer >= ${min}; got ${value}`);
  }
}

/**
 * Throws unless `value` is a finite number strictly greater than `bound`.
 *
 * @example
 * ```ts
 * requireGreater("factor", 8, 0);
 * ```
 */
export function requireGreater(
  name: string,
  value: unknown,
  bound: number,
): asserts value is number {
  requireFinite(name, value);
  if (!(value > bound)) throw new RangeError(`${name} must be > ${bound}; got ${value}`);
}
