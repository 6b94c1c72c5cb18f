/**
 * Argument checks, one home for the whole course: each throws an error whose message names the
 * parameter and the allowed range (TypeError for a value of the wrong kind, RangeError for a
 * number out of range).
 *
 * @example
 * ```ts
 * import { requireInteger } from "./validate.ts";
 * requireInteger("numHeads", 8, 1); // ok
 * requireInteger("numHeads", 0, 1); // RangeError: numHeads must be an integer >= 1; got 0
 * ```
 * @module
 */

/**
 * Throws a TypeError unless `value` is a finite number.
 *
 * @example
 * ```ts
 * requireFinite("scale", 0.125);
 * ```
 */
export function requireFinite(name: string, value: unknown): asserts value is number {
  if (typeof value !== "number" || !Number.isFinite(value)) {
    throw new TypeError(`${name} must be a finite number; got ${String(value)}`);
  }
}

/**
 * Throws unless `value` is a (safe) integer `>= min`.
 *
 * @example
 * ```ts
 * requireInteger("headDim", 64, 2);
 * ```
 */
export function requireInteger(name: string, value: unknown, min: number): asserts value is number {
  requireFinite(name, value);
  if (!Number.isSafeInteger(value) || value < min) {
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

/**
 * Throws unless `value` is a number in the closed interval [`lo`, `hi`].
 *
 * @example
 * ```ts
 * requireInRange("minRatio", 0.1, 0, 1);
 * ```
 */
export function requireInRange(
  name: string,
  value: unknown,
  lo: number,
  hi: number,
): asserts value is number {
  if (typeof value !== "number" || !(value >= lo && value <= hi)) {
    throw new RangeError(`${name} must be in [${lo}, ${hi}]; got ${String(value)}`);
  }
}

/**
 * Throws a RangeError unless every entry of `values` is finite (naming the first bad index).
 *
 * @example
 * ```ts
 * requireAllFinite("slopes", new Float32Array([0.5, 0.25]));
 * ```
 */
export function requireAllFinite(name: string, values: ArrayLike<number>): void {
  for (let i = 0; i < values.length; i++) {
    if (!Number.isFinite(values[i])) {
      throw new RangeError(`${name} must be finite; got ${values[i]} at index ${i}`);
    }
  }
}

/**
 * Throws a RangeError naming the fields of `obj` that are not in `known` (a config must not carry
 * settings the code would silently ignore).
 *
 * @example
 * ```ts
 * refuseUnknownFields("positional", { type: "alibi" }, ["type"]); // ok
 * refuseUnknownFields("positional", { type: "alibi", slopes: 2 }, ["type"]);
 * // RangeError: positional has fields this code does not implement: slopes (known: type)
 * ```
 */
export function refuseUnknownFields(
  name: string,
  obj: object,
  known: readonly string[],
): void {
  const unknown = Object.keys(obj).filter((k) => !known.includes(k));
  if (unknown.length > 0) {
    throw new RangeError(
      `${name} has fields this code does not implement: ${unknown.join(", ")} (known: ${
        known.join(", ")
      })`,
    );
  }
}
