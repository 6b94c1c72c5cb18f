/**
 * The real case computed exactly: a LLaMA-class attention head (head dimension 128, 32 heads,
 * rotary base 10,000 or 500,000) pretrained at 4,096 tokens and served at 32,768, next to the
 * course's miniature (head dimension 32, 4 heads, 256 -> 2,048). Everything here is closed-form
 * arithmetic on the positional math of `src/positions` (no model, no measurement): the rotary
 * spectrum and the pairs each scaling takes out of distribution, YaRN's kept / ramped /
 * interpolated bands, ALiBi's effective window per head and T5's buckets with the share of far
 * pairs in each.
 *
 * @example
 * ```ts
 * import { FULL_SCALE_HEADS, yarnBands } from "./full_scale.ts";
 * const h = FULL_SCALE_HEADS[0]; // head dim 128, base 10,000, 4,096 -> 32,768
 * yarnBands(h); // { kept: 21, ramped: 25, interpolated: 18, low: 20, high: 46, ... }
 * ```
 * @module
 */
import { LONG_BAND_L0 } from "../eval/long_context.ts";
import { alibiNegligibleDistance, alibiSlopes } from "../positions/alibi.ts";
import {
  arcOvershoot,
  outOfDistributionDims,
  ropeInvFreq,
  type RopeScaling,
  ropeWavelengths,
  yarnCorrectionRange,
  yarnRamp,
} from "../positions/rope.ts";
import { type BucketOptions, relativePositionBucket } from "../positions/t5.ts";
import { requireGreater, requireInteger } from "../util/validate.ts";

/** One attention geometry: the head, the heads per layer, the rotary base and the two lengths. */
export interface HeadGeometry {
  /** Label for tables, e.g. "LLaMA-class, base 10k". */
  label: string;
  headDim: number;
  numHeads: number;
  ropeBase: number;
  /** Pretraining context L0. */
  contextLength: number;
  /** Served context (8 x L0 in the case study). */
  targetLength: number;
}

/** The two full-scale heads of the case study (LLaMA-2-class base and the newer 500k base). */
export const FULL_SCALE_HEADS: readonly HeadGeometry[] = [
  {
    label: "LLaMA-class, base 10k",
    headDim: 128,
    numHeads: 32,
    ropeBase: 10_000,
    contextLength: 4096,
    targetLength: 32_768,
  },
  {
    label: "LLaMA-class, base 500k",
    headDim: 128,
    numHeads: 32,
    ropeBase: 500_000,
    contextLength: 4096,
    targetLength: 32_768,
  },
];

/** The course's miniature head (the `course` preset: d 32, 4 heads, base 10,000, 256 -> 2,048). */
export const COURSE_HEAD: HeadGeometry = {
  label: "course (byte model)",
  headDim: 32,
  numHeads: 4,
  ropeBase: 10_000,
  contextLength: 256,
  targetLength: 2048,
};

/** Checks a geometry; every error names the field and its range. */
export function checkGeometry(h: HeadGeometry): HeadGeometry {
  requireInteger("headDim", h.headDim, 4);
  if (h.headDim % 2 !== 0) throw new RangeError(`headDim must be even; got ${h.headDim}`);
  requireInteger("numHeads", h.numHeads, 1);
  requireGreater("ropeBase", h.ropeBase, 1);
  requireInteger("contextLength", h.contextLength, 1);
  requireInteger("targetLength", h.targetLength, h.contextLength);
  return h;
}

/** The extension factor s = target / L0. */
export function factorOf(h: HeadGeometry): number {
  return h.targetLength / h.contextLength;
}

/**
 * Full turns each rotary pair makes over L0 with the default frequencies: L0 / wavelength_i.
 * Pairs below 1 never completed a turn in pretraining.
 *
 * @example
 * ```ts
 * turnsInContext(COURSE_HEAD)[0]; // ~40.7: the fastest pair turns 40 times in 256 positions
 * ```
 */
export function turnsInContext(h: HeadGeometry): Float64Array {
  checkGeometry(h);
  const inv = ropeInvFreq(h.headDim, h.ropeBase, { type: "default" }).invFreq;
  return Float64Array.from(ropeWavelengths(inv), (w) => h.contextLength / w);
}

/** The RoPE scalings compared at full scale, each at factor s (dynamic NTK at the target length). */
export function scalingsFor(
  h: HeadGeometry,
  yarnBetas: { betaFast: number; betaSlow: number } = { betaFast: 32, betaSlow: 1 },
): { id: string; scaling: RopeScaling }[] {
  const s = factorOf(h), L0 = h.contextLength;
  return [
    { id: "rope", scaling: { type: "default" } },
    { id: "pi", scaling: { type: "linear", factor: s } },
    { id: "ntk", scaling: { type: "ntk", factor: s } },
    { id: "dynamic", scaling: { type: "dynamic", factor: s, originalMaxPositions: L0 } },
    { id: "yarn", scaling: { type: "yarn", factor: s, originalMaxPositions: L0, ...yarnBetas } },
  ];
}

/** Per-scaling angle statistics of one geometry at its target length. */
export interface SpectrumRow {
  head: string;
  scaling: string;
  /** Pairs that meet rotation angles never seen in pretraining (at the target length). */
  oodPairs: number;
  /** Largest angle reached / largest angle trained, over the pairs that never turned (1 = none new). */
  maxOvershoot: number;
  /** Pairs whose wavelength after scaling is <= L0 / 4: they still resolve near-range offsets. */
  nearResolvingPairs: number;
  /** Angle (radians) the fastest pair turns between neighbouring positions. */
  fastestStep: number;
  pairs: number;
}

/**
 * The angle table of one geometry: for each scaling, the pairs taken out of distribution, the
 * worst overshoot and how many pairs keep resolving offsets inside the near range (L0 / 4), the
 * local-resolution quantity position interpolation gives up.
 *
 * @example
 * ```ts
 * spectrumTable(FULL_SCALE_HEADS[0]).find((r) => r.scaling === "rope")!.oodPairs; // 18
 * ```
 */
export function spectrumTable(
  h: HeadGeometry,
  yarnBetas?: { betaFast: number; betaSlow: number },
): SpectrumRow[] {
  checkGeometry(h);
  const trained = ropeInvFreq(h.headDim, h.ropeBase, { type: "default" }).invFreq;
  const near = h.contextLength / 4;
  return scalingsFor(h, yarnBetas).map(({ id, scaling }) => {
    const { invFreq } = ropeInvFreq(h.headDim, h.ropeBase, scaling, h.targetLength);
    const cmp = {
      trainedInvFreq: trained,
      trainedLength: h.contextLength,
      invFreq,
      length: h.targetLength,
    };
    const over = Array.from(arcOvershoot(cmp)).filter((x) => !Number.isNaN(x));
    return {
      head: h.label,
      scaling: id,
      oodPairs: outOfDistributionDims(cmp).length,
      maxOvershoot: over.length ? Math.max(...over) : 1,
      nearResolvingPairs: Array.from(ropeWavelengths(invFreq)).filter((w) => w <= near).length,
      fastestStep: invFreq[0],
      pairs: invFreq.length,
    };
  });
}

/** YaRN's split of the rotary pairs for one geometry and one (betaFast, betaSlow). */
export interface YarnBands {
  head: string;
  betaFast: number;
  betaSlow: number;
  /** HF `find_correction_range` bounds (pair indices). */
  low: number;
  high: number;
  /** Pairs whose frequency is kept (ramp 0), blended (0 < ramp < 1), divided by s (ramp 1). */
  kept: number;
  ramped: number;
  interpolated: number;
  pairs: number;
}

/**
 * Counts YaRN's kept / ramped / interpolated pairs from the ramp that `src/positions/rope.ts`
 * builds (HF's `find_correction_range` + `linear_ramp_factor`).
 *
 * @example
 * ```ts
 * yarnBands(COURSE_HEAD); // kept 1, ramped 6, interpolated 9 (HF defaults 32 / 1)
 * ```
 */
export function yarnBands(h: HeadGeometry, betaFast = 32, betaSlow = 1): YarnBands {
  checkGeometry(h);
  requireGreater("betaSlow", betaSlow, 0);
  if (!(betaFast >= betaSlow)) {
    throw new RangeError(`betaFast must be >= betaSlow (${betaSlow}); got ${betaFast}`);
  }
  const { low, high } = yarnCorrectionRange(
    h.headDim,
    h.ropeBase,
    h.contextLength,
    betaFast,
    betaSlow,
  );
  const ramp = yarnRamp(low, high, h.headDim / 2);
  const kept = ramp.filter((r) => r === 0).length;
  const interpolated = ramp.filter((r) => r === 1).length;
  return {
    head: h.label,
    betaFast,
    betaSlow,
    low,
    high,
    kept,
    ramped: ramp.length - kept - interpolated,
    interpolated,
    pairs: ramp.length,
  };
}

/**
 * YaRN betas for `small` whose kept / ramped / interpolated split matches `reference`'s split at
 * HF's defaults (32 / 1) in proportion: kept and interpolated counts are the reference shares
 * times the small head's pair count, rounded; each beta is the geometric mean of the turns of the
 * two pairs on either side of its boundary (so float rounding cannot move a pair across it).
 *
 * @example
 * ```ts
 * matchedYarnBetas(COURSE_HEAD, FULL_SCALE_HEADS[0]); // { betaFast: ~3.05, betaSlow: ~0.096, ... }
 * ```
 */
export function matchedYarnBetas(
  small: HeadGeometry,
  reference: HeadGeometry,
): { betaFast: number; betaSlow: number; target: { kept: number; interpolated: number } } {
  const ref = yarnBands(reference);
  const turns = turnsInContext(small);
  const n = turns.length;
  const kept = Math.min(n - 1, Math.max(1, Math.round((n * ref.kept) / ref.pairs)));
  const interpolated = Math.min(
    n - kept,
    Math.max(1, Math.round((n * ref.interpolated) / ref.pairs)),
  );
  // kept pairs are 0 .. kept-1 (turns >= betaFast); interpolated ones are n-interpolated .. n-1.
  const betaFast = Math.sqrt(turns[kept - 1] * turns[kept]);
  const lastRamped = n - interpolated - 1;
  const betaSlow = Math.sqrt(turns[lastRamped] * turns[lastRamped + 1]);
  return { betaFast, betaSlow, target: { kept, interpolated } };
}

/** One ALiBi head's slope and effective window, against the long band. */
export interface AlibiWindowRow {
  head: number;
  slope: number;
  /** Distance at which the bias alone scales a key's weight by `epsilon`: ln(1/eps) / slope. */
  window: number;
  /** The window relative to L0. */
  windowOverL0: number;
  reachesLongBand: boolean;
}

/**
 * ALiBi's slope and effective window per head (Press et al. slopes, `alibiSlopes`), and whether
 * each window reaches the start of the long band (2.5 L0).
 *
 * @example
 * ```ts
 * alibiWindows(FULL_SCALE_HEADS[0]).filter((r) => r.reachesLongBand).length; // 0 of 32
 * ```
 */
export function alibiWindows(h: HeadGeometry, epsilon = 1e-3): AlibiWindowRow[] {
  checkGeometry(h);
  const band = LONG_BAND_L0.lo * h.contextLength;
  return Array.from(alibiSlopes(h.numHeads), (slope, i) => {
    const window = alibiNegligibleDistance(slope, epsilon);
    return {
      head: i + 1,
      slope,
      window,
      windowOverL0: window / h.contextLength,
      reachesLongBand: window >= band,
    };
  });
}

/** One causal T5 bucket at full scale: its distances and what share of pairs lands in it. */
export interface T5BucketRow {
  bucket: number;
  first: number;
  last: number;
  /** Share of all causal (query, key) pairs of one target-length sequence in this bucket. */
  shareAll: number;
  /** Share of the long band's pairs (offsets 2.5 L0 .. 7.5 L0) in this bucket. */
  shareFar: number;
  /** Pairs of one L0-long sequence in this bucket (0 = pretraining never trains it). */
  pairsAtL0: number;
}

/**
 * T5's causal buckets for one geometry and `maxDistance`: distance range, share of all pairs of
 * a target-length sequence, share of the long band's pairs, and pairs seen at L0. An offset d
 * occurs target - d times in one sequence.
 *
 * @example
 * ```ts
 * t5BucketTable(FULL_SCALE_HEADS[0], 128).at(-1)!.shareFar; // 1: every far pair in one bucket
 * ```
 */
export function t5BucketTable(
  h: HeadGeometry,
  maxDistance: number,
  numBuckets = 32,
): T5BucketRow[] {
  checkGeometry(h);
  const opts: BucketOptions = { bidirectional: false, numBuckets, maxDistance };
  const T = h.targetLength, L0 = h.contextLength;
  const farFrom = Math.ceil(LONG_BAND_L0.lo * L0), farTo = Math.floor(LONG_BAND_L0.hi * L0);
  const rows: T5BucketRow[] = Array.from({ length: numBuckets }, (_, b) => ({
    bucket: b,
    first: -1,
    last: -1,
    shareAll: 0,
    shareFar: 0,
    pairsAtL0: 0,
  }));
  let all = 0, far = 0;
  for (let d = 0; d < T; d++) {
    const r = rows[relativePositionBucket(-d, opts)];
    if (r.first < 0) r.first = d;
    r.last = d;
    r.shareAll += T - d;
    all += T - d;
    if (d < L0) r.pairsAtL0 += L0 - d;
    if (d >= farFrom && d <= farTo) r.shareFar += T - d, far += T - d;
  }
  for (const r of rows) r.shareAll /= all, r.shareFar /= far;
  return rows.filter((r) => r.first >= 0);
}
