/**
 * Command-line value parsing with errors that name the flag and the allowed range.
 *
 * @example
 * ```ts
 * import { numberFlag, listFlag } from "./cli.ts";
 * numberFlag("steps", "128", { min: 1, integer: true }); // 128
 * listFlag("seeds", "0,1,2", (s) => numberFlag("seeds", s, { min: 0, integer: true })); // [0, 1, 2]
 * ```
 * @module
 */

/** Limits of a numeric flag. */
export interface NumberLimits {
  min?: number;
  /** Exclusive lower bound (e.g. 0 for "a positive number"). */
  greaterThan?: number;
  max?: number;
  integer?: boolean;
}

/** Parses `--name value` as a number within `limits`; throws RangeError naming the flag. */
export function numberFlag(name: string, value: string, limits: NumberLimits = {}): number {
  const x = Number(value);
  const { min = -Infinity, max = Infinity, greaterThan = -Infinity, integer = false } = limits;
  const ok = value.trim() !== "" && Number.isFinite(x) && x >= min && x <= max &&
    x > greaterThan && (!integer || Number.isInteger(x));
  if (!ok) {
    const range = [
      integer ? "an integer" : "a number",
      Number.isFinite(min) ? `>= ${min}` : "",
      Number.isFinite(greaterThan) ? `> ${greaterThan}` : "",
      Number.isFinite(max) ? `<= ${max}` : "",
    ].filter((s) => s).join(" ");
    throw new RangeError(`--${name} must be ${range}; got "${value}"`);
  }
  return x;
}

/** Like {@link numberFlag} for an optional flag: `fallback` when absent. */
export function optionalNumber(
  name: string,
  value: string | undefined,
  fallback: number,
  limits: NumberLimits = {},
): number {
  return value === undefined ? fallback : numberFlag(name, value, limits);
}

/** A comma-separated list, each item parsed by `item`. Empty items are refused. */
export function listFlag<T>(name: string, value: string, item: (s: string) => T): T[] {
  const parts = value.split(",").map((s) => s.trim());
  if (parts.some((p) => p === "")) {
    throw new RangeError(
      `--${name} must be a comma-separated list without empty items; got "${value}"`,
    );
  }
  return parts.map(item);
}

/** One of `allowed`, or a RangeError naming the flag and the allowed values. */
export function choiceFlag<T extends string>(
  name: string,
  value: string,
  allowed: readonly T[],
): T {
  if (!allowed.includes(value as T)) {
    throw new RangeError(`--${name} must be one of ${allowed.join(", ")}; got "${value}"`);
  }
  return value as T;
}

/**
 * Takes a command's own string flags (`--name value` or `--name=value`) out of `argv` and returns
 * them with everything else unchanged and in order, for a command that wraps another (`ablate`,
 * `mitigate` around `retrofit`): the wrapped command parses and checks the rest itself.
 */
export function splitOwnFlags(
  argv: readonly string[],
  own: readonly string[],
): { own: Record<string, string>; rest: string[] } {
  const found: Record<string, string> = {};
  const rest: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const m = /^--([^=]+)(?:=(.*))?$/s.exec(argv[i]);
    if (!m || !own.includes(m[1])) {
      rest.push(argv[i]);
      continue;
    }
    const value = m[2] ?? argv[++i];
    if (value === undefined) throw new RangeError(`--${m[1]} needs a value`);
    found[m[1]] = value;
  }
  return { own: found, rest };
}
