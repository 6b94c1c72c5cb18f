// Reference values for src/positions, each derived here independently of the implementation
// (closed forms, literal values from the papers, or the same formula written another way).
import assert from "node:assert/strict";
import {
  dynamicMultiplier,
  outOfDistributionDims,
  ROPE_SCALINGS,
  ropeAngles,
  ropeInvFreq,
  ropeRotate,
  ropeScaleFactors,
  ropeWavelengths,
  yarnCorrectionRange,
  yarnRamp,
} from "../src/positions/rope.ts";
import { alibiBiasValue, alibiNegligibleDistance, alibiSlopes } from "../src/positions/alibi.ts";
import {
  bucketDistanceRanges,
  bucketPairCounts,
  relativePositionBucket,
  t5ParameterCount,
} from "../src/positions/t5.ts";

/** Relative closeness that fails on NaN (NaN compares false). */
function assertClose(actual: number, expected: number, rel: number, what = ""): void {
  const ok = Math.abs(actual - expected) <= rel * Math.abs(expected);
  assert.ok(ok, `${what}: expected ${expected}, got ${actual} (rel tol ${rel})`);
}

const F32 = 2 ** -23; // float32 relative rounding step
const D = 64;
const BASE = 10000;
const L0 = 4096;

// Reference default frequencies written as exp(-(2i/d) ln base), not as a power.
function defaultFreq(d: number, base: number, i: number): number {
  return Math.exp((-2 * i / d) * Math.log(base));
}

// ---------------------------------------------------------------- RoPE

Deno.test("rope default: base^(-2i/d), literal small case, constant ratio", () => {
  assert.deepEqual(Array.from(ropeInvFreq(4, 10000, { type: "default" }).invFreq), [
    1,
    Math.fround(0.01),
  ]);
  const { invFreq, attentionScale } = ropeInvFreq(D, BASE, { type: "default" });
  assert.equal(invFreq.length, D / 2);
  assert.equal(attentionScale, 1);
  for (let i = 0; i < D / 2; i++) assertClose(invFreq[i], defaultFreq(D, BASE, i), F32, `i=${i}`);
  // Geometric: every step divides by base^(2/d) = 10000^(1/32).
  const step = 10 ** (-4 / 32);
  for (let i = 1; i < D / 2; i++) assertClose(invFreq[i] / invFreq[i - 1], step, 4 * F32);
});

Deno.test("rope linear (position interpolation): invFreq * factor == default", () => {
  for (const factor of [2, 8, 3.5]) {
    const { invFreq, attentionScale } = ropeInvFreq(D, BASE, { type: "linear", factor });
    assert.equal(attentionScale, 1);
    for (let i = 0; i < D / 2; i++) {
      assertClose(invFreq[i] * factor, defaultFreq(D, BASE, i), 2 * F32, `factor ${factor} i=${i}`);
    }
  }
  // Interpolating positions by 1/s is the same angle as dividing frequencies by s.
  const pi = ropeInvFreq(D, BASE, { type: "linear", factor: 8 }).invFreq;
  const plain = ropeInvFreq(D, BASE, { type: "default" }).invFreq;
  const a = ropeAngles(pi, 8000);
  const b = ropeAngles(plain, 1000);
  for (let i = 0; i < D / 2; i++) assertClose(a[i], b[i], 4 * F32);
});

Deno.test("rope ntk: highest frequency unchanged, lowest exactly default / factor", () => {
  const factor = 8;
  const { invFreq, attentionScale } = ropeInvFreq(D, BASE, { type: "ntk", factor });
  assert.equal(attentionScale, 1);
  assert.equal(invFreq[0], 1);
  assertClose(invFreq[D / 2 - 1], defaultFreq(D, BASE, D / 2 - 1) / factor, 2 * F32);
  // In between, frequency i is rescaled by factor^(-2i/(d-2)).
  for (let i = 0; i < D / 2; i++) {
    assertClose(invFreq[i], defaultFreq(D, BASE, i) * factor ** (-2 * i / (D - 2)), 2 * F32);
  }
});

Deno.test("rope dynamic: default up to the trained length, then NTK with a growing base", () => {
  const scaling = { type: "dynamic", factor: 4, originalMaxPositions: 1024 } as const;
  const plain = ropeInvFreq(D, BASE, { type: "default" }).invFreq;
  for (const seqLen of [1, 500, 1024]) {
    assert.deepEqual(ropeInvFreq(D, BASE, scaling, seqLen).invFreq, plain, `seqLen ${seqLen}`);
  }
  // seqLen = 2 L0: the multiplier is 4 * 2 - 3 = 5, so the lowest frequency is default / 5.
  const { invFreq } = ropeInvFreq(D, BASE, scaling, 2048);
  assert.equal(invFreq[0], 1);
  assertClose(invFreq[D / 2 - 1], plain[D / 2 - 1] / 5, 4 * F32);
  // At seqLen = factor * L0 the multiplier is factor^2 - factor + 1 = 13.
  assertClose(
    ropeInvFreq(D, BASE, scaling, 4096).invFreq[D / 2 - 1],
    plain[D / 2 - 1] / 13,
    4 * F32,
  );
  assert.equal(dynamicMultiplier(8, 256, 2048), 57, "the course's 8 x L0: far above the static 8");
  assert.equal(dynamicMultiplier(8, 256, 100), 1);
});

Deno.test("rope yarn: correction range, extrapolated fast dims, interpolated slow dims, temperature", () => {
  // corr_dim(r) = d ln(L0 / (2 pi r)) / (2 ln base) = 8 log10(4096 / (2 pi r)) for d=64, base=1e4:
  // r = 32 -> 10.47 (floor 10), r = 1 -> 22.51 (ceil 23).
  assert.deepEqual(yarnCorrectionRange(D, BASE, L0), { low: 10, high: 23 });
  assertClose(8 * Math.log10(4096 / (2 * Math.PI * 32)), 10.47, 1e-3);
  const factor = 8;
  const { invFreq, attentionScale } = ropeInvFreq(D, BASE, {
    type: "yarn",
    factor,
    originalMaxPositions: L0,
  });
  assertClose(attentionScale, 1 + 0.1 * Math.log(8), 1e-15, "temperature");
  const plain = ropeInvFreq(D, BASE, { type: "default" }).invFreq;
  for (let i = 0; i <= 10; i++) assertClose(invFreq[i], plain[i], 2 * F32, `extrapolated ${i}`);
  for (let i = 23; i < D / 2; i++) {
    assertClose(invFreq[i], plain[i] / factor, 2 * F32, `interp ${i}`);
  }
  // Inside the ramp: weight w = (i - 10) / 13 on the interpolated value.
  for (let i = 11; i < 23; i++) {
    const w = (i - 10) / 13;
    assertClose(invFreq[i], plain[i] * (w / factor + 1 - w), 4 * F32, `ramp ${i}`);
  }
  assert.ok(invFreq[16] < plain[16] && invFreq[16] > plain[16] / factor);
  // factor 1 changes nothing and has no temperature.
  const same = ropeInvFreq(D, BASE, { type: "yarn", factor: 1, originalMaxPositions: L0 });
  assert.equal(same.attentionScale, 1);
  for (let i = 0; i < D / 2; i++) assertClose(same.invFreq[i], plain[i], 2 * F32);
  // Custom betas move the range: r = 4 -> 8 log10(4096 / (8 pi)) = 17.7 -> floor 17.
  assert.equal(yarnCorrectionRange(D, BASE, L0, 4, 1).low, 17);
});

Deno.test("rope yarn ramp: clamped linear, and equal bounds do not divide by zero", () => {
  assert.deepEqual(Array.from(yarnRamp(2, 4, 6)), [0, 0, 0, 0.5, 1, 1]);
  // HF nudges the top bound by 0.001: index 3 gets 0, index 4 is clamped to 1.
  const flat = yarnRamp(3, 3, 5);
  assert.deepEqual(Array.from(flat), [0, 0, 0, 0, 1]);
  assert.ok(flat.every((v) => Number.isFinite(v)));
});

Deno.test("rope registry: one function per type, same result as ropeInvFreq", () => {
  assert.deepEqual(Object.keys(ROPE_SCALINGS).sort(), [
    "default",
    "dynamic",
    "linear",
    "ntk",
    "yarn",
  ]);
  const viaRegistry = ROPE_SCALINGS.ntk(32, 500000, { type: "ntk", factor: 4 });
  assert.deepEqual(viaRegistry, ropeInvFreq(32, 500000, { type: "ntk", factor: 4 }));
});

Deno.test("rope: q_m . k_n depends only on m - n (relative-position property)", () => {
  let seed = 7;
  const rand = () => ((seed = (seed * 48271) % 2147483647) / 2147483647) * 2 - 1;
  const q = Array.from({ length: D }, rand);
  const k = Array.from({ length: D }, rand);
  const dot = (a: Float64Array, b: Float64Array) => a.reduce((s, v, i) => s + v * b[i], 0);
  for (
    const scaling of [{ type: "default" }, {
      type: "yarn",
      factor: 8,
      originalMaxPositions: L0,
    }] as const
  ) {
    const { invFreq, attentionScale } = ropeInvFreq(D, BASE, scaling);
    const at = (m: number, n: number) =>
      dot(ropeRotate(q, invFreq, m, attentionScale), ropeRotate(k, invFreq, n, attentionScale));
    const reference = at(5, 2);
    for (const [m, n] of [[3, 0], [103, 100], [20003, 20000]]) {
      assertClose(at(m, n), reference, 1e-9, `${scaling.type} (${m}, ${n})`);
    }
    // A different offset gives a different score, so the check above can fail.
    assert.ok(Math.abs(at(6, 2) - reference) > 1e-6);
    // With the temperature the score is scaled by attentionScale^2 against unscaled rotation.
    const unscaled = dot(ropeRotate(q, invFreq, 5), ropeRotate(k, invFreq, 2));
    assertClose(reference, unscaled * attentionScale ** 2, 1e-12);
  }
});

Deno.test("rope rotate: a pure rotation (norm kept), quarter turn on a 2-vector", () => {
  const r = ropeRotate([1, 0], new Float32Array([Math.PI / 2]), 1);
  assert.ok(Math.abs(r[0]) < 1e-7 && Math.abs(r[1] - 1) < 1e-7);
  const x = Array.from({ length: 8 }, (_, i) => i - 3.5);
  const y = ropeRotate(x, ropeInvFreq(8, BASE, { type: "default" }).invFreq, 12345);
  const norm = (v: ArrayLike<number>) => Math.hypot(...Array.from(v));
  assertClose(norm(y), norm(x), 1e-12);
  assert.throws(() => ropeRotate([1, 2, 3], new Float32Array([1]), 0), /x.length must be 2/);
});

Deno.test("rope helpers: wavelengths, scale factors, out-of-distribution dims", () => {
  const plain = ropeInvFreq(D, BASE, { type: "default" }).invFreq;
  const wl = ropeWavelengths(plain);
  assertClose(wl[0], 2 * Math.PI, 1e-12);
  assertClose(wl[D / 2 - 1], 2 * Math.PI * BASE ** ((D - 2) / D), 2 * F32);
  assert.ok(
    ropeScaleFactors(D, BASE, { type: "linear", factor: 8 }).every((v) =>
      Math.abs(v - 0.125) < 1e-7
    ),
  );
  const ntk = ropeScaleFactors(D, BASE, { type: "ntk", factor: 8 });
  assert.equal(ntk[0], 1);
  assertClose(ntk[D / 2 - 1], 0.125, 4 * F32);
  // Pairs with wavelength > L0 never turn fully in training: 10000^(2i/64) > 4096 / (2 pi)
  // <=> i > 8 log10(651.9) = 22.5, so i = 23..31 (9 pairs) meet new angles when extrapolated.
  const trained = { trainedInvFreq: plain, trainedLength: L0, length: 8 * L0 };
  assert.deepEqual(outOfDistributionDims({ ...trained, invFreq: plain }), [
    23,
    24,
    25,
    26,
    27,
    28,
    29,
    30,
    31,
  ]);
  const pi = ropeInvFreq(D, BASE, { type: "linear", factor: 8 }).invFreq;
  assert.deepEqual(outOfDistributionDims({ ...trained, invFreq: pi }), []);
  // NTK interpolates the lowest pair exactly; the others below it still exceed what they saw.
  const ntkOod = outOfDistributionDims({
    ...trained,
    invFreq: ropeInvFreq(D, BASE, { type: "ntk", factor: 8 }).invFreq,
  });
  assert.ok(!ntkOod.includes(31) && ntkOod.length > 0 && ntkOod.every((i) => i >= 23));
  // Nothing is out of distribution at the trained length itself.
  assert.deepEqual(outOfDistributionDims({ ...trained, length: L0, invFreq: plain }), []);
});

// ---------------------------------------------------------------- ALiBi

Deno.test("alibi slopes: powers of two are geometric from 2^(-8/n)", () => {
  assert.deepEqual(Array.from(alibiSlopes(8)), [
    1 / 2,
    1 / 4,
    1 / 8,
    1 / 16,
    1 / 32,
    1 / 64,
    1 / 128,
    1 / 256,
  ]);
  assert.deepEqual(Array.from(alibiSlopes(1)), [1 / 256]);
  assert.deepEqual(Array.from(alibiSlopes(2)), [1 / 16, 1 / 256]);
  const s16 = alibiSlopes(16);
  for (let i = 0; i < 16; i++) assertClose(s16[i], 2 ** (-0.5 * (i + 1)), F32, `16 heads, ${i}`);
});

Deno.test("alibi slopes: other counts take the closest power of two, then every other of 2x", () => {
  assert.deepEqual(Array.from(alibiSlopes(6)), [1 / 4, 1 / 16, 1 / 64, 1 / 256, 1 / 2, 1 / 8]);
  // 12 heads: the 8-head slopes 2^-1..2^-8, then 16-head slopes 0, 2, 4, 6: 2^-0.5, -1.5, -2.5, -3.5.
  const expected12 = [1, 2, 3, 4, 5, 6, 7, 8].map((k) => 2 ** -k).concat(
    [0.5, 1.5, 2.5, 3.5].map((k) => 2 ** -k),
  );
  const s12 = alibiSlopes(12);
  assert.equal(s12.length, 12);
  expected12.forEach((v, i) => assertClose(s12[i], v, F32, `12 heads, ${i}`));
  // 3 heads: 2-head slopes [2^-4, 2^-8], then the first of the 4-head slopes, 2^-2.
  assert.deepEqual(Array.from(alibiSlopes(3)), [1 / 16, 1 / 256, 1 / 4]);
  for (const n of [5, 7, 20, 33]) {
    const s = alibiSlopes(n);
    assert.equal(s.length, n);
    assert.equal(new Set(s).size, n, `distinct slopes for ${n} heads`);
    assert.ok(s.every((v) => v > 0 && v < 1));
  }
});

Deno.test("alibi helpers: bias and the distance where the weight factor drops below epsilon", () => {
  assert.equal(alibiBiasValue(0.5, 10, 4), -3);
  assert.equal(alibiBiasValue(0.25, 7, 7), 0);
  const d = alibiNegligibleDistance(1 / 16, 1e-3);
  assertClose(Math.exp(-d / 16), 1e-3, 1e-12);
  assertClose(d, 16 * 3 * Math.LN10, 1e-12);
});

// ---------------------------------------------------------------- T5

const causal = { bidirectional: false, numBuckets: 32, maxDistance: 128 };
const both = { bidirectional: true, numBuckets: 32, maxDistance: 128 };

// The same bucket function, written as thresholds instead of a logarithm: past the exact range,
// the bucket is maxExact plus the number of boundaries me * (md/me)^(k/(n-me)), k = 1 .. n-me-1,
// that the distance has reached.
function thresholdBucket(distance: number, n: number, md: number): number {
  const me = n / 2;
  if (distance < me) return distance;
  let bucket = me;
  for (let k = 1; k < n - me; k++) if (distance >= me * (md / me) ** (k / (n - me))) bucket++;
  return bucket;
}

Deno.test("t5 buckets: literal known values", () => {
  const c = (r: number) => relativePositionBucket(r, causal);
  assert.deepEqual([0, -1, -15, -16, -20, -32, -64, -127, -128, -129, -5000].map(c), [
    0,
    1,
    15,
    16,
    17,
    21,
    26,
    31,
    31,
    31,
    31,
  ]);
  assert.deepEqual([1, 5, 1000].map(c), [0, 0, 0], "causal ignores future keys");
  const b = (r: number) => relativePositionBucket(r, both);
  assert.deepEqual([0, 1, -1, 7, 8, -8, 16, -16, 128, -128, 1000, -1000].map(b), [
    0,
    17,
    1,
    23,
    24,
    8,
    26,
    10,
    31,
    15,
    31,
    15,
  ]);
});

Deno.test("t5 buckets: table agrees with the threshold form, both modes", () => {
  for (let r = -600; r <= 600; r++) {
    const expectedCausal = thresholdBucket(Math.max(-r, 0), 32, 128);
    assert.equal(relativePositionBucket(r, causal), expectedCausal, `causal ${r}`);
    const expectedBoth = (r > 0 ? 16 : 0) + thresholdBucket(Math.abs(r), 16, 128);
    assert.equal(relativePositionBucket(r, both), expectedBoth, `bidirectional ${r}`);
  }
  // Buckets never decrease with distance, and every bucket is used.
  const seen = new Set<number>();
  for (let d = 0, last = -1; d < 200; d++) {
    const bucket = relativePositionBucket(-d, causal);
    assert.ok(bucket >= last);
    seen.add(last = bucket);
  }
  assert.equal(seen.size, 32);
});

Deno.test("t5 buckets: float32 boundaries round as the PyTorch reference does", () => {
  // Bidirectional, 18 buckets: 4 exact per direction, and log(d/4) / log(32) * 5 is an integer
  // for d = 8, 16, 64. In float32 (as PyTorch computes it) it lands exactly on the integer; in
  // float64 it falls just below and would truncate one bucket lower. Values from PyTorch.
  const opts = { bidirectional: true, numBuckets: 18, maxDistance: 128 };
  assert.deepEqual([-64, -16, -8, 8, 16, 64].map((r) => relativePositionBucket(r, opts)), [
    8,
    6,
    5,
    14,
    15,
    17,
  ]);
});

Deno.test("t5 helpers: pair counts, distance ranges, parameter count", () => {
  const counts = bucketPairCounts(64, causal);
  assert.equal(counts.reduce((s, v) => s + v, 0), (64 * 65) / 2);
  assert.equal(counts[0], 64);
  assert.equal(counts[31], 0, "training at 64 never reaches distance 128");
  assert.ok(bucketPairCounts(512, causal)[31] > 0);
  const ranges = bucketDistanceRanges(causal, 1000);
  assert.deepEqual(ranges[16], { bucket: 16, first: 16, last: 18 });
  // The last boundary is 16 * 8^(15/16) = 112.4, so bucket 31 starts at distance 113.
  assert.deepEqual(ranges[31], { bucket: 31, first: 113, last: 999 });
  assert.equal(ranges.length, 32);
  assert.equal(t5ParameterCount(32, 8), 256);
  assert.equal(t5ParameterCount(32, 8, 4), 1024);
});

// ---------------------------------------------------------------- validation

function throwsWith(fn: () => unknown, name: "RangeError" | "TypeError", message: RegExp): void {
  assert.throws(fn, (e: unknown) => {
    assert.ok(e instanceof Error && e.name === name, `expected ${name}, got ${String(e)}`);
    assert.match(e.message, message);
    return true;
  });
}

Deno.test("validation: rope", () => {
  const yarn = { type: "yarn", factor: 8, originalMaxPositions: 256 } as const;
  throwsWith(
    () => ropeInvFreq(D, BASE, { type: "linear", factor: 0 }),
    "RangeError",
    /factor must be > 0; got 0/,
  );
  throwsWith(
    () => ropeInvFreq(D, BASE, { type: "ntk", factor: -1 }),
    "RangeError",
    /factor must be > 0; got -1/,
  );
  throwsWith(
    () => ropeInvFreq(D, BASE, { ...yarn, factor: NaN }),
    "TypeError",
    /factor must be a finite number/,
  );
  throwsWith(
    () => ropeInvFreq(63, BASE, { type: "default" }),
    "RangeError",
    /headDim must be even and >= 2; got 63/,
  );
  throwsWith(
    () => ropeInvFreq(1, BASE, { type: "default" }),
    "RangeError",
    /headDim must be an integer >= 2; got 1/,
  );
  throwsWith(
    () => ropeInvFreq(0, BASE, { type: "default" }),
    "RangeError",
    /headDim must be an integer >= 2/,
  );
  throwsWith(
    () => ropeInvFreq(8.5, BASE, { type: "default" }),
    "RangeError",
    /headDim must be an integer/,
  );
  throwsWith(
    () => ropeInvFreq(2, BASE, { type: "ntk", factor: 2 }),
    "RangeError",
    /headDim must be >= 4 for NTK/,
  );
  throwsWith(() => ropeInvFreq(D, 0, { type: "default" }), "RangeError", /base must be > 1; got 0/);
  throwsWith(() => ropeInvFreq(D, -10, yarn), "RangeError", /base must be > 1; got -10/);
  throwsWith(
    () => ropeInvFreq(D, 1, { type: "linear", factor: 2 }),
    "RangeError",
    /base must be > 1; got 1/,
  );
  throwsWith(
    () => ropeInvFreq(D, BASE, { type: "longrope" } as unknown as { type: "default" }),
    "RangeError",
    /scaling.type must be one of default, linear, ntk, dynamic, yarn; got "longrope"/,
  );
  throwsWith(
    () => ropeInvFreq(D, BASE, null as unknown as { type: "default" }),
    "TypeError",
    /scaling must be an object/,
  );
  const dynamic = { type: "dynamic", factor: 8, originalMaxPositions: 256 } as const;
  throwsWith(() => ropeInvFreq(D, BASE, dynamic), "RangeError", /seqLen is required for dynamic/);
  throwsWith(
    () => ropeInvFreq(D, BASE, dynamic, 0),
    "RangeError",
    /seqLen must be an integer >= 1; got 0/,
  );
  throwsWith(() => ropeInvFreq(D, BASE, dynamic, 10.5), "RangeError", /seqLen must be an integer/);
  throwsWith(
    () => ropeInvFreq(D, BASE, { ...dynamic, originalMaxPositions: 0 }, 10),
    "RangeError",
    /originalMaxPositions must be an integer >= 1; got 0/,
  );
  throwsWith(
    () => ropeInvFreq(D, BASE, { ...yarn, betaFast: 0 }),
    "RangeError",
    /betaFast must be > 0; got 0/,
  );
  throwsWith(
    () => ropeInvFreq(D, BASE, { ...yarn, betaSlow: -1 }),
    "RangeError",
    /betaSlow must be > 0; got -1/,
  );
  throwsWith(
    () => ropeInvFreq(D, BASE, { ...yarn, betaFast: 1, betaSlow: 2 }),
    "RangeError",
    /betaFast must be >= betaSlow/,
  );
  throwsWith(
    () =>
      outOfDistributionDims({ trainedInvFreq: [1], trainedLength: 4, invFreq: [1, 2], length: 8 }),
    "RangeError",
    /invFreq.length must equal trainedInvFreq.length/,
  );
});

Deno.test("validation: alibi", () => {
  throwsWith(() => alibiSlopes(0), "RangeError", /numHeads must be an integer >= 1; got 0/);
  throwsWith(() => alibiSlopes(-4), "RangeError", /numHeads must be an integer >= 1; got -4/);
  throwsWith(() => alibiSlopes(2.5), "RangeError", /numHeads must be an integer >= 1; got 2.5/);
  throwsWith(() => alibiSlopes(NaN), "TypeError", /numHeads must be a finite number/);
  throwsWith(() => alibiNegligibleDistance(0), "RangeError", /slope must be > 0/);
  throwsWith(() => alibiNegligibleDistance(0.5, 1), "RangeError", /epsilon must be < 1/);
});

Deno.test("validation: t5", () => {
  throwsWith(
    () => relativePositionBucket(-3, { ...causal, numBuckets: 1 }),
    "RangeError",
    /numBuckets must be an integer >= 2; got 1/,
  );
  throwsWith(
    () => relativePositionBucket(-3, { ...both, numBuckets: 3 }),
    "RangeError",
    /numBuckets must be an integer >= 4; got 3/,
  );
  throwsWith(
    () => relativePositionBucket(-3, { ...causal, numBuckets: 7.5 }),
    "RangeError",
    /numBuckets must be an integer/,
  );
  // Causal 32 buckets: 16 exact, so maxDistance must exceed 16; bidirectional: 8.
  throwsWith(
    () => relativePositionBucket(-3, { ...causal, maxDistance: 16 }),
    "RangeError",
    /maxDistance must be > the exact range .* = 16\); got 16/,
  );
  throwsWith(
    () => relativePositionBucket(-3, { ...both, maxDistance: 8 }),
    "RangeError",
    /maxDistance must be > the exact range .* = 8\); got 8/,
  );
  assert.equal(relativePositionBucket(-17, { ...causal, maxDistance: 17 }), 31);
  throwsWith(
    () => relativePositionBucket(-1.5, causal),
    "RangeError",
    /relativePosition must be an integer; got -1.5/,
  );
  throwsWith(
    () => relativePositionBucket(NaN, causal),
    "TypeError",
    /relativePosition must be a finite number/,
  );
  throwsWith(
    () =>
      relativePositionBucket(-1, { numBuckets: 32, maxDistance: 128 } as unknown as typeof causal),
    "TypeError",
    /bidirectional must be a boolean/,
  );
  throwsWith(
    () => bucketPairCounts(0, causal),
    "RangeError",
    /seqLen must be an integer >= 1; got 0/,
  );
  throwsWith(
    () => t5ParameterCount(32, 0),
    "RangeError",
    /numHeads must be an integer >= 1; got 0/,
  );
});

Deno.test("arcOvershoot: ratio past the trained arc, NaN for pairs that turned in training", async () => {
  const { arcOvershoot, ropeInvFreq } = await import("../src/positions/rope.ts");
  const base = ropeInvFreq(32, 10000, { type: "default" }).invFreq;
  const pi = ropeInvFreq(32, 10000, { type: "linear", factor: 8 }).invFreq;
  const rope = arcOvershoot({
    trainedInvFreq: base,
    trainedLength: 256,
    invFreq: base,
    length: 2048,
  });
  assert.ok(Number.isNaN(rope[0]), "pair 0 turned 40 times in training");
  assert.ok(Math.abs(rope[15] - 8) < 1e-9);
  const interp = arcOvershoot({
    trainedInvFreq: base,
    trainedLength: 256,
    invFreq: pi,
    length: 2048,
  });
  assert.ok(Math.abs(interp[15] - 1) < 1e-6, "PI lands exactly on the trained arc");
  assert.throws(
    () => arcOvershoot({ trainedInvFreq: base, trainedLength: 0, invFreq: base, length: 2 }),
    /trainedLength/,
  );
});

Deno.test("flatContentShare and t5BiasAt: geometric sums, saturating tables, bad input named", async () => {
  const { flatContentShare, t5BiasAt } = await import("../src/positions/bias_share.ts");
  // ALiBi: a geometric series, closed form (r^a - r^(b+1)) / (1 - r^N)
  const r = Math.exp(-0.01);
  const want = (r ** 100 - r ** 301) / (1 - r ** 1000);
  assert.ok(Math.abs(flatContentShare((d) => -0.01 * d, 1000, 100, 300) / want - 1) < 1e-9);
  assert.ok(Math.abs(flatContentShare(() => 0, 10, 2, 4) - 0.3) < 1e-12, "no bias: uniform");
  const opts = { bidirectional: false, numBuckets: 4, maxDistance: 8 };
  const at = t5BiasAt([0, 0, -1, -1, -2, -2, -3, -3], 1, 2, opts);
  assert.equal(at(0), 0);
  assert.equal(at(1000), -3, "everything far shares the last bucket");
  assert.throws(() => t5BiasAt([0], 0, 2, opts), /table must hold numBuckets x numHeads = 8/);
  assert.throws(() => flatContentShare(() => 0, 0, 0, 1), /length must be an integer >= 1/);
});
