// The positional kernels (rotary, ALiBi bias, T5 bias + table gradient) on webgpu (the WGSL
// programs, on whatever adapter exists), wasm and cpu, against the plain TypeScript references in
// src/kernels/reference.ts on fresh random inputs; gradients against central finite differences of
// the float64 references; the WGSL T5 bucket against src/positions/t5.ts; bad input.
import assert from "node:assert/strict";
import * as tf from "@tensorflow/tfjs";
import { type BackendName, describeAdapter, initBackend } from "../src/backend.ts";
import { applyRotary } from "../src/kernels/rotary.ts";
import { ALIBI_BIAS_KERNEL, alibiBias } from "../src/kernels/alibi_bias.ts";
import { t5Bias } from "../src/kernels/t5_bias.ts";
import { alibiBiasReference, rotaryReference, t5BiasReference } from "../src/kernels/reference.ts";
import { relativePositionBucket } from "../src/positions/t5.ts";
import type { Rng } from "../src/data/rng.ts";
import { relativeError } from "./relative_error.ts";
import { testRng } from "./seeded.ts";

/** The current test's random source: each randomized test sets it first (printing its seed). */
let source: Rng;
const rng = () => source.next();
const uniform = (n: number, lo = -1, hi = 1) =>
  Float32Array.from({ length: n }, () => lo + (hi - lo) * rng());
const randInt = (lo: number, hi: number) => lo + Math.floor(rng() * (hi - lo + 1));

/** {@link relativeError} below `tol`; NaN or Infinity anywhere is a failure, named. */
function assertRelClose(
  actual: ArrayLike<number>,
  expected: ArrayLike<number>,
  tol: number,
  what: string,
): number {
  assert.equal(actual.length, expected.length, `${what}: length`);
  for (let i = 0; i < expected.length; i++) {
    assert.ok(
      Number.isFinite(actual[i]),
      `${what}: non-finite ${actual[i]} at ${i}`,
    );
    assert.ok(Number.isFinite(expected[i]), `${what}: non-finite reference at ${i}`);
  }
  const rel = relativeError(actual, expected);
  assert.ok(rel < tol, `${what}: relative error ${rel} >= ${tol}`);
  return rel;
}

const F32_TOL = 1e-5;
/** Prints a measured error for the record (the assertion is where it is measured). */
function record(key: string, rel: number): void {
  console.log(`${key}: relative error ${rel.toExponential(2)}`);
}

/** Central differences of sum(w * f(p)) in float64, at the given parameter indices. */
function finiteDifferences(
  f: (p: Float64Array) => Float64Array,
  p: ArrayLike<number>,
  w: ArrayLike<number>,
  indices: number[],
  eps = 1e-3,
): Float64Array {
  const loss = (q: Float64Array) => f(q).reduce((s, v, i) => s + v * w[i], 0);
  return Float64Array.from(indices, (k) => {
    const plus = Float64Array.from(p);
    const minus = Float64Array.from(p);
    plus[k] += eps;
    minus[k] -= eps;
    return (loss(plus) - loss(minus)) / (2 * eps);
  });
}

/** Up to `n` distinct random indices below `size` (all when size <= n). */
function sampleIndices(size: number, n: number): number[] {
  if (size <= n) return Array.from({ length: size }, (_, i) => i);
  const picked = new Set<number>();
  while (picked.size < n) picked.add(Math.floor(rng() * size));
  return [...picked];
}

const webgpuAvailable = (await describeAdapter()).available;
const BACKENDS: BackendName[] = webgpuAvailable ? ["webgpu", "wasm", "cpu"] : ["wasm", "cpu"];
if (!webgpuAvailable) console.log("no WebGPU adapter: the WGSL kernels are not exercised here");

function invFreqFor(dim: number): Float32Array {
  const base = [10000, 500000][randInt(0, 1)] * (0.5 + rng());
  return Float32Array.from({ length: dim / 2 }, (_, i) => base ** (-2 * i / dim));
}

for (const backend of BACKENDS) {
  Deno.test(`rotary on ${backend} matches the reference (odd sizes, offsets, scales)`, async (ctx) => {
    source = testRng(ctx.name);
    await initBackend({ backend });
    const before = tf.memory().numTensors;
    const cases: [number, number, number, number][] = [
      [1, 1, 1, 2],
      [2, 3, 7, 6],
      [1, 3, 33, 64],
      [randInt(1, 2), randInt(1, 3), randInt(1, 40), 2 * randInt(1, 20)],
    ];
    for (const shape of cases) {
      for (const [positionOffset, attentionScale] of [[0, 1], [randInt(1, 40000), 0.5 + rng()]]) {
        const x = uniform(shape.reduce((a, b) => a * b));
        const invFreq = invFreqFor(shape[3]);
        const y = tf.tidy(() =>
          applyRotary(tf.tensor4d(x, shape), invFreq, { attentionScale, positionOffset })
        );
        assert.deepEqual(y.shape, shape);
        const got = await y.data();
        y.dispose();
        const want = rotaryReference(x, shape, invFreq, { attentionScale, positionOffset });
        record(`rotary ${backend}`, assertRelClose(got, want, F32_TOL, `rotary ${shape}`));
      }
    }
    assert.equal(tf.memory().numTensors, before, "rotary leaked tensors");
  });

  Deno.test(`rotary gradient on ${backend} matches finite differences`, async (ctx) => {
    source = testRng(ctx.name);
    await initBackend({ backend });
    for (const shape of [[1, 1, 1, 2], [2, 3, 7, 6], [1, 1, 33, 64]] as const) {
      const size = shape.reduce<number>((a, b) => a * b, 1);
      const x = uniform(size);
      const w = uniform(size);
      const invFreq = invFreqFor(shape[3]);
      const opts = { attentionScale: 0.5 + rng(), positionOffset: randInt(0, 5000) };
      const grad = tf.tidy(() =>
        tf.grad((t: tf.Tensor) =>
          tf.sum(tf.mul(applyRotary(t as tf.Tensor4D, invFreq, opts), tf.tensor4d(w, [...shape])))
        )(tf.tensor4d(x, [...shape]))
      );
      const got = await grad.data();
      grad.dispose();
      const indices = sampleIndices(size, 48);
      const fd = finiteDifferences((p) => rotaryReference(p, shape, invFreq, opts), x, w, indices);
      const rel = assertRelClose(
        indices.map((k) => got[k]),
        fd,
        F32_TOL,
        `rotary grad ${shape}`,
      );
      record(`rotary grad ${backend}`, rel);
    }
  });

  Deno.test(`alibi bias on ${backend} matches the reference, gradient to slopes`, async (ctx) => {
    source = testRng(ctx.name);
    await initBackend({ backend });
    const before = tf.memory().numTensors;
    for (
      const [heads, queryLen, keyLen, queryOffset] of [
        [1, 1, 1, 0],
        [3, 7, 7, 0],
        [3, 1, 33, 32],
        [randInt(1, 5), randInt(1, 33), randInt(1, 40), randInt(0, 3000)],
      ]
    ) {
      const slopes = uniform(heads, 0, 1);
      const bias = alibiBias(slopes, queryLen, keyLen, { queryOffset });
      assert.deepEqual(bias.shape, [heads, queryLen, keyLen]);
      const got = await bias.data();
      bias.dispose();
      const want = alibiBiasReference(slopes, queryLen, keyLen, queryOffset);
      record(`alibi ${backend}`, assertRelClose(got, want, F32_TOL, `alibi ${heads},${queryLen}`));
    }
    assert.equal(tf.memory().numTensors, before, "alibi leaked tensors");

    // The slope gradient is only reachable through the kernel itself.
    const [heads, queryLen, keyLen, queryOffset] = [3, 7, 9, 2];
    const slopes = uniform(heads, 0, 1);
    const w = uniform(heads * queryLen * keyLen);
    const grad = tf.tidy(() =>
      tf.grad((s: tf.Tensor) =>
        tf.sum(tf.mul(
          tf.engine().runKernel(ALIBI_BIAS_KERNEL, { slopes: s }, {
            queryLen,
            keyLen,
            queryOffset,
          }) as tf.Tensor,
          tf.tensor3d(w, [heads, queryLen, keyLen]),
        ))
      )(tf.tensor1d(slopes))
    );
    const fd = finiteDifferences(
      (p) => alibiBiasReference(p, queryLen, keyLen, queryOffset),
      slopes,
      w,
      [0, 1, 2],
    );
    record(`alibi grad ${backend}`, assertRelClose(await grad.data(), fd, F32_TOL, "alibi grad"));
    grad.dispose();
  });

  Deno.test(`t5 bias on ${backend} matches the reference`, async (ctx) => {
    source = testRng(ctx.name);
    await initBackend({ backend });
    const before = tf.memory().numTensors;
    for (
      const [heads, queryLen, keyLen, queryOffset, numBuckets, maxDistance] of [
        [1, 1, 1, 0, 2, 2],
        [3, 7, 7, 0, 8, 16],
        [3, 33, 33, 0, 32, 20],
        [1, 1, 33, 700, 32, 128],
        [randInt(1, 4), randInt(1, 33), randInt(1, 40), randInt(0, 500), randInt(2, 40), 0],
      ]
    ) {
      const maxD = maxDistance || Math.floor(numBuckets / 2) + randInt(1, 200);
      const table = uniform(numBuckets * heads);
      const bias = tf.tidy(() =>
        t5Bias(tf.tensor2d(table, [numBuckets, heads]), queryLen, keyLen, {
          numBuckets,
          maxDistance: maxD,
          queryOffset,
        })
      );
      assert.deepEqual(bias.shape, [heads, queryLen, keyLen]);
      const got = await bias.data();
      bias.dispose();
      const want = t5BiasReference(
        table,
        [numBuckets, heads],
        queryLen,
        keyLen,
        numBuckets,
        maxD,
        queryOffset,
      );
      // A gather: exact, not just close.
      record(`t5 ${backend}`, assertRelClose(got, want, 1e-12, `t5 ${heads},${queryLen}`));
    }
    assert.equal(tf.memory().numTensors, before, "t5 leaked tensors");
  });

  Deno.test(`t5 table gradient on ${backend} matches finite differences`, async (ctx) => {
    source = testRng(ctx.name);
    await initBackend({ backend });
    for (
      const [heads, queryLen, keyLen, queryOffset, numBuckets, maxDistance] of [
        [1, 1, 1, 0, 2, 2],
        [3, 7, 9, 3, 8, 16],
        [2, 33, 33, 0, 32, 20],
        [randInt(1, 3), randInt(1, 33), randInt(1, 40), randInt(0, 300), randInt(2, 40), 0],
      ]
    ) {
      const maxD = maxDistance || Math.floor(numBuckets / 2) + randInt(1, 200);
      const table = uniform(numBuckets * heads);
      const w = uniform(heads * queryLen * keyLen);
      const opts = { numBuckets, maxDistance: maxD, queryOffset };
      const grad = tf.tidy(() =>
        tf.grad((t: tf.Tensor) =>
          tf.sum(tf.mul(
            t5Bias(t as tf.Tensor2D, queryLen, keyLen, opts),
            tf.tensor3d(w, [heads, queryLen, keyLen]),
          ))
        )(tf.tensor2d(table, [numBuckets, heads]))
      );
      assert.deepEqual(grad.shape, [numBuckets, heads]);
      const got = await grad.data();
      grad.dispose();
      const indices = sampleIndices(numBuckets * heads, 64);
      const fd = finiteDifferences(
        (p) =>
          t5BiasReference(p, [numBuckets, heads], queryLen, keyLen, numBuckets, maxD, queryOffset),
        table,
        w,
        indices,
      );
      const rel = assertRelClose(indices.map((k) => got[k]), fd, F32_TOL, `t5 grad ${heads}`);
      record(`t5 grad ${backend}`, rel);
    }
  });

  Deno.test(`t5 bucket on ${backend} equals HF's (src/positions/t5.ts) over long offsets`, async () => {
    await initBackend({ backend });
    // A one-head table holding its own bucket index turns the bias into the bucket function.
    const distances = 9000;
    for (const [numBuckets, maxDistance] of [[32, 128], [2, 2], [8, 16], [33, 100], [64, 1000]]) {
      const table = tf.tensor2d(Float32Array.from({ length: numBuckets }, (_, b) => b), [
        numBuckets,
        1,
      ]);
      const row = t5Bias(table, 1, distances + 1, {
        numBuckets,
        maxDistance,
        queryOffset: distances,
      });
      const got = await row.data();
      tf.dispose([table, row]);
      const opts = { bidirectional: false, numBuckets, maxDistance };
      for (let j = 0; j <= distances; j++) {
        const relative = j - distances;
        const want = relativePositionBucket(relative, opts);
        assert.equal(got[j], want, `bucket(${relative}) for ${numBuckets}/${maxDistance}`);
      }
    }
  });
}

Deno.test("positional kernels reject bad input with the parameter's name", async () => {
  await initBackend({ backend: "cpu" });
  const x = tf.zeros([1, 1, 3, 4]) as tf.Tensor4D;
  const inv = new Float32Array([1, 0.1]);
  assert.throws(() => applyRotary(tf.zeros([1, 1, 3, 5]) as tf.Tensor4D, inv), /head dimension/);
  assert.throws(() => applyRotary(tf.zeros([1, 3, 4]) as unknown as tf.Tensor4D, inv), /rank-4/);
  assert.throws(() => applyRotary(x, new Float32Array(3)), /invFreq must be .* length D\/2 = 2/);
  assert.throws(() => applyRotary(x, new Float32Array([1, NaN])), /invFreq must be finite/);
  assert.throws(() => applyRotary(x, inv, { positionOffset: 1.5 }), /positionOffset/);
  assert.throws(() => applyRotary(x, inv, { positionOffset: -1 }), /positionOffset/);
  assert.throws(() => applyRotary(x, inv, { attentionScale: 0 }), /attentionScale must be/);
  assert.throws(() => alibiBias(new Float32Array(0), 2, 2), /slopes/);
  assert.throws(() => alibiBias(new Float32Array([0.5]), 0, 2), /queryLen/);
  assert.throws(() => alibiBias(new Float32Array([0.5]), 2, 2.5), /keyLen/);
  assert.throws(
    () => alibiBias(new Float32Array([0.5]), 2, 2, { queryOffset: 0.5 }),
    /queryOffset/,
  );
  const table = tf.zeros([8, 2]) as tf.Tensor2D;
  assert.throws(() => t5Bias(table, 2, 2, { numBuckets: 1, maxDistance: 8 }), /numBuckets/);
  assert.throws(
    () => t5Bias(table, 2, 2, { numBuckets: 8, maxDistance: 4 }),
    /maxDistance must be > the exact range/,
  );
  assert.throws(() => t5Bias(table, 2, 2, { numBuckets: 16, maxDistance: 32 }), /table must/);
  assert.throws(
    () => t5Bias(table, 2, 2, { numBuckets: 8, maxDistance: 16, queryOffset: -2 }),
    /queryOffset/,
  );
  tf.dispose([x, table]);
});
