/**
 * Data-only encoding of the values that cross between the grading process and the learner's
 * process: numbers (NaN, ±Infinity and -0 kept), strings, booleans, null, undefined, bigints,
 * arrays, plain objects, typed arrays and functions (as numbered callback handles). Decoding builds
 * fresh values with no getters, no prototypes other than the standard ones and no code, so whatever
 * the learner's process sends can only be data: it cannot run code in the grading process.
 *
 * @example
 * ```ts
 * const text = encodeValue([1, new Float32Array([2]), -0], () => 0);
 * decodeValue(JSON.parse(text), () => () => 0); // [1, Float32Array [2], -0]
 * ```
 * @module
 */

/** Nesting deeper than this is refused (a deep structure could exhaust the decoder's stack). */
export const MAX_DEPTH = 64;

const TYPED = {
  Float32Array,
  Float64Array,
  Int8Array,
  Int16Array,
  Int32Array,
  Uint8Array,
  Uint8ClampedArray,
  Uint16Array,
  Uint32Array,
} as const;
type TypedName = keyof typeof TYPED;

/** The JSON form of an encoded value. */
export type Wire =
  | null
  | boolean
  | string
  | number
  | Wire[]
  | { $: "num"; v: string }
  | { $: "undef" }
  | { $: "big"; v: string }
  | { $: "typed"; t: TypedName; v: (number | string)[] }
  | { $: "fn"; id: number }
  | { $: "obj"; v: [string, Wire][] };

function encodeNumber(n: number): Wire {
  if (Number.isFinite(n) && !Object.is(n, -0)) return n;
  return { $: "num", v: Object.is(n, -0) ? "-0" : String(n) };
}

/**
 * Encodes a value as JSON-safe data. `registerFn` gives a handle to each function (a callback the
 * other side may call back); without it, a function is refused.
 */
export function toWire(value: unknown, registerFn?: (f: unknown) => number, depth = 0): Wire {
  if (depth > MAX_DEPTH) throw new RangeError(`value nested deeper than ${MAX_DEPTH} levels`);
  switch (typeof value) {
    case "number":
      return encodeNumber(value);
    case "string":
    case "boolean":
      return value;
    case "undefined":
      return { $: "undef" };
    case "bigint":
      return { $: "big", v: value.toString() };
    case "function":
      if (!registerFn) throw new TypeError("a function cannot be sent back to the grader");
      return { $: "fn", id: registerFn(value) };
  }
  if (value === null) return null;
  if (typeof value !== "object") throw new TypeError(`cannot send a ${typeof value}`);
  if (Array.isArray(value)) return value.map((v) => toWire(v, registerFn, depth + 1));
  for (const [t, ctor] of Object.entries(TYPED)) {
    if (value instanceof ctor) {
      const v = Array.from(value as ArrayLike<number>, (x) => {
        const w = encodeNumber(x);
        return typeof w === "number" ? w : (w as { v: string }).v;
      });
      return { $: "typed", t: t as TypedName, v };
    }
  }
  const entries = Object.entries(value as Record<string, unknown>);
  return { $: "obj", v: entries.map(([k, v]) => [k, toWire(v, registerFn, depth + 1)]) };
}

/** Encodes a value as one line of JSON (see {@link toWire}). */
export function encodeValue(value: unknown, registerFn?: (f: unknown) => number): string {
  return JSON.stringify(toWire(value, registerFn));
}

function decodeNumber(v: unknown): number {
  if (typeof v === "number") return v;
  if (v === "-0") return -0;
  if (v === "NaN") return NaN;
  if (v === "Infinity") return Infinity;
  if (v === "-Infinity") return -Infinity;
  throw new TypeError(`malformed number on the wire: ${String(v).slice(0, 40)}`);
}

/**
 * Decodes JSON data (already parsed) into fresh values. `makeFn(id)` turns a callback handle into
 * a function; without it a handle is refused. Objects are built with `Object.fromEntries`, so a
 * `__proto__` key is an ordinary property, never a prototype.
 */
export function fromWire(w: unknown, makeFn?: (id: number) => unknown, depth = 0): unknown {
  if (depth > MAX_DEPTH) throw new RangeError(`value nested deeper than ${MAX_DEPTH} levels`);
  if (w === null || typeof w === "boolean" || typeof w === "string" || typeof w === "number") {
    return w;
  }
  if (Array.isArray(w)) return w.map((x) => fromWire(x, makeFn, depth + 1));
  if (typeof w !== "object") throw new TypeError("malformed value on the wire");
  const tagged = w as Record<string, unknown>;
  switch (tagged.$) {
    case "num":
      return decodeNumber(tagged.v);
    case "undef":
      return undefined;
    case "big":
      if (typeof tagged.v !== "string" || !/^-?\d{1,4000}$/.test(tagged.v)) break;
      return BigInt(tagged.v);
    case "typed": {
      const ctor = Object.hasOwn(TYPED, String(tagged.t)) ? TYPED[tagged.t as TypedName] : null;
      if (!ctor || !Array.isArray(tagged.v)) break;
      const numbers = tagged.v.map(decodeNumber);
      return new (ctor as Float64ArrayConstructor)(numbers);
    }
    case "fn":
      if (!makeFn || !Number.isInteger(tagged.id)) break;
      return makeFn(tagged.id as number);
    case "obj": {
      if (!Array.isArray(tagged.v)) break;
      const entries = tagged.v.map((e) => {
        if (!Array.isArray(e) || e.length !== 2 || typeof e[0] !== "string") {
          throw new TypeError("malformed object entry on the wire");
        }
        return [e[0], fromWire(e[1], makeFn, depth + 1)] as [string, unknown];
      });
      return Object.fromEntries(entries);
    }
  }
  throw new TypeError(`malformed value on the wire (tag ${String(tagged.$).slice(0, 20)})`);
}
