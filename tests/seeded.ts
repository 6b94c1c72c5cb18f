/**
 * One seeded random source for randomized tests: the seed is printed with the test's name, and
 * `TEST_SEED=<n>` replays a failure exactly.
 *
 * @example
 * ```ts
 * const rng = testRng("my test"); // prints "my test: seed 123 (TEST_SEED=123 to replay)"
 * ```
 * @module
 */
import { Rng } from "../src/data/rng.ts";

/**
 * A seeded Rng for test `name`: TEST_SEED when set, else `fixed` when given, else a fresh seed;
 * the seed is printed. Statistical tests whose assertion fails by design at some rate (an
 * interval missing its truth 5% of the time) pass `fixed`, so CI never fails at random; any seed
 * can still be tried with TEST_SEED.
 */
export function testRng(name: string, fixed?: number): Rng {
  const fromEnv = Deno.env.get("TEST_SEED");
  const seed = fromEnv !== undefined
    ? Number(fromEnv)
    : fixed ?? Math.floor(Math.random() * 2 ** 31);
  if (!Number.isInteger(seed)) {
    throw new RangeError(`TEST_SEED must be an integer; got "${fromEnv}"`);
  }
  console.log(`${name}: seed ${seed} (TEST_SEED=${seed} to replay)`);
  return new Rng(seed);
}
