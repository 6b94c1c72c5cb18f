/**
 * A small seeded random number generator (mulberry32) so that data, tasks and initialisation are
 * reproducible from one integer seed, independent of the tfjs backend.
 *
 * @example
 * ```ts
 * import { Rng } from "./rng.ts";
 * const rng = new Rng(42);
 * rng.int(10); // same sequence for the same seed
 * ```
 * @module
 */

/** Deterministic PRNG with the few draws the course needs. */
export class Rng {
  #state: number;

  /** `seed` is any integer (it is reduced to 32 bits). */
  constructor(seed: number) {
    if (!Number.isFinite(seed)) throw new RangeError(`seed must be a finite number; got ${seed}`);
    this.#state = (Math.floor(seed) >>> 0) ^ 0x9e3779b9;
  }

  /** Uniform in [0, 1). */
  next(): number {
    let t = (this.#state = (this.#state + 0x6d2b79f5) >>> 0);
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }

  /** Uniform integer in [0, n). */
  int(n: number): number {
    if (!(n >= 1)) throw new RangeError(`n must be >= 1; got ${n}`);
    return Math.floor(this.next() * n);
  }

  /** Standard normal (Box-Muller). */
  normal(): number {
    const u = 1 - this.next();
    return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * this.next());
  }

  /** One element of `items`, chosen uniformly. */
  pick<T>(items: readonly T[]): T {
    return items[this.int(items.length)];
  }
}

/** A 32-bit finaliser (murmur3 fmix32): a bijection that spreads every input bit. */
function fmix32(h: number): number {
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

/**
 * A seed derived from a base seed and any number of integers (e.g. step, batch row).
 *
 * The base seed is mixed on its own before any part is folded in, so (seed, step) pairs never
 * collide by symmetry: seed 1 at step 0 and seed 0 at step 1 are unrelated draws. (An earlier
 * version hashed `seed XOR step`, which made seeds 0-15 replay one another's batches.)
 *
 * @example
 * ```ts
 * deriveSeed(3, 10) !== deriveSeed(10, 3); // true
 * ```
 */
export function deriveSeed(seed: number, ...parts: number[]): number {
  let h = fmix32((seed >>> 0) ^ 0x9e3779b9);
  for (const p of parts) h = fmix32(Math.imul(h, 0x9e3779b1) ^ fmix32((p >>> 0) + 0x632be5ab));
  return h;
}
