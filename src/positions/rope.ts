/**
 * Rotary position embedding (RoPE): inverse frequencies and the scalings that stretch a model to
 * longer contexts, as a registry (one function per scaling type, each returning the same pair).
 * Numbers follow HF transformers' `modeling_rope_utils`. We compute in float64 and round once to
 * float32; HF rounds the exponent to float32 before the power, so the two differ by a few float32
 * ulps (more for very large bases), never by more.
 *
 * Convention (HF Llama "rotate_half"): dimension `i < D/2` pairs with `i + D/2` and rotates by the
 * angle `position * invFreq[i]`.
 *
 * @example
 * ```ts
 * import { ropeInvFreq } from "./rope.ts";
 * const { invFreq, attentionScale } = ropeInvFreq(64, 10000, {
 *   type: "yarn", factor: 8, originalMaxPositions: 4096,
 * });
 * // invFreq.length === 32, attentionScale === 0.1 * Math.log(8) + 1
 * ```
 * @module
 */
import { refuseUnknownFields, requireGreater, requireInteger } from "../util/validate.ts";

/** How the inverse frequencies are scaled; `factor` is the context extension ratio s. */
export type RopeScaling =
  | { type: "default" }
  /** Position interpolation (Chen et al.): every frequency divided by `factor`. */
  | { type: "linear"; factor: number }
  /** NTK-aware base scaling: base' = base * factor^(d/(d-2)). */
  | { type: "ntk"; factor: number }
  /** Dynamic NTK: the NTK base change recomputed from the current sequence length. */
  | { type: "dynamic"; factor: number; originalMaxPositions: number }
  /** YaRN: NTK-by-parts ramp between extrapolation and interpolation, plus a temperature. */
  | {
    type: "yarn";
    factor: number;
    originalMaxPositions: number;
    betaFast?: number;
    betaSlow?: number;
  };

/** The name of a scaling type: "default" | "linear" | "ntk" | "dynamic" | "yarn". */
export type RopeScalingType = RopeScaling["type"];

/**
 * What every scaling returns. `attentionScale` multiplies cos and sin, i.e. q and k each (so the
 * logits by its square): the YaRN temperature 0.1 ln s + 1, and 1 for every other type.
 */
export interface RopeParameters {
  invFreq: Float32Array;
  attentionScale: number;
}

/** One entry of the registry: inverse frequencies for one scaling type. */
export type RopeScalingFunction<T extends RopeScalingType> = (
  headDim: number,
  base: number,
  scaling: Extract<RopeScaling, { type: T }>,
  seqLen?: number,
) => RopeParameters;

/**
 * Unscaled inverse frequencies in float64: `base^(-2i/d)` for i = 0 .. d/2 - 1. Checks `headDim`
 * (even, >= 2) and `base` (> 1), so every registry entry validates them.
 *
 * @example
 * ```ts
 * defaultInvFreq64(4, 10000); // Float64Array [1, 0.01]
 * ```
 */
export function defaultInvFreq64(headDim: number, base: number): Float64Array {
  requireInteger("headDim", headDim, 2);
  if (headDim % 2 !== 0) throw new RangeError(`headDim must be even and >= 2; got ${headDim}`);
  // base <= 1 would make frequencies grow with the dimension index (or all equal).
  requireGreater("base", base, 1);
  return invFreqFromBase(headDim, base);
}

// No checks: NTK may legitimately move the base below 1 when factor < 1.
function invFreqFromBase(headDim: number, base: number): Float64Array {
  const out = new Float64Array(headDim / 2);
  for (let i = 0; i < out.length; i++) out[i] = 1 / base ** ((2 * i) / headDim);
  return out;
}

function requireFactor(factor: number): void {
  requireGreater("factor", factor, 0);
}

// d/(d-2) in the NTK exponent needs d > 2.
function requireNtkHeadDim(headDim: number): void {
  if (headDim < 4) {
    throw new RangeError(
      `headDim must be >= 4 for NTK base scaling (exponent d/(d-2)); got ${headDim}`,
    );
  }
}

/** YaRN's temperature: 0.1 ln s + 1 for s > 1, else 1 (HF `get_mscale` with mscale 1). */
export function yarnAttentionScale(factor: number): number {
  requireFactor(factor);
  return factor <= 1 ? 1 : 0.1 * Math.log(factor) + 1;
}

/**
 * The (fractional) dimension index whose frequency turns `numRotations` full turns over
 * `originalMaxPositions` positions: d ln(L0 / (2 pi r)) / (2 ln base). HF `find_correction_dim`.
 *
 * @example
 * ```ts
 * yarnCorrectionDim(1, 64, 10000, 4096); // ~22.5: pairs past it turn less than once in L0
 * ```
 */
export function yarnCorrectionDim(
  numRotations: number,
  headDim: number,
  base: number,
  originalMaxPositions: number,
): number {
  return (headDim * Math.log(originalMaxPositions / (numRotations * 2 * Math.PI))) /
    (2 * Math.log(base));
}

/**
 * YaRN's ramp bounds (HF `find_correction_range` with truncation): dimension indices below `low`
 * keep their frequency (extrapolate), those above `high` are divided by the factor (interpolate),
 * and a linear ramp blends in between.
 *
 * @example
 * ```ts
 * yarnCorrectionRange(64, 10000, 4096); // { low: 10, high: 23 } (floor / ceil of the dims)
 * ```
 */
export function yarnCorrectionRange(
  headDim: number,
  base: number,
  originalMaxPositions: number,
  betaFast = 32,
  betaSlow = 1,
): { low: number; high: number } {
  const low = Math.floor(yarnCorrectionDim(betaFast, headDim, base, originalMaxPositions));
  const high = Math.ceil(yarnCorrectionDim(betaSlow, headDim, base, originalMaxPositions));
  return { low: Math.max(low, 0), high: Math.min(high, headDim - 1) };
}

/**
 * YaRN's interpolation weight per frequency index (0 = keep, 1 = divide by the factor): a clamped
 * linear ramp from `low` to `high` over `headDim / 2` entries (HF `linear_ramp_factor`).
 *
 * @example
 * ```ts
 * yarnRamp(2, 4, 8); // Float64Array [0, 0, 0, 0.5]
 * ```
 */
export function yarnRamp(low: number, high: number, length: number): Float64Array {
  const top = low === high ? high + 0.001 : high; // avoid 0/0, as HF does
  const out = new Float64Array(length);
  for (let i = 0; i < length; i++) out[i] = Math.min(1, Math.max(0, (i - low) / (top - low)));
  return out;
}

function toParameters(invFreq: Float64Array, attentionScale = 1): RopeParameters {
  return { invFreq: Float32Array.from(invFreq), attentionScale };
}

function ntkInvFreq(headDim: number, base: number, baseMultiplier: number): Float64Array {
  return invFreqFromBase(headDim, base * baseMultiplier ** (headDim / (headDim - 2)));
}

/**
 * The registry: one function per scaling type, all returning `{ invFreq, attentionScale }`, so a
 * model picks its function by `scaling.type` and never branches on it.
 *
 * @example
 * ```ts
 * const pi = ROPE_SCALINGS.linear(64, 10000, { type: "linear", factor: 8 });
 * ```
 */
export const ROPE_SCALINGS: { readonly [T in RopeScalingType]: RopeScalingFunction<T> } = {
  default: (headDim, base) => toParameters(defaultInvFreq64(headDim, base)),

  linear: (headDim, base, { factor }) => {
    requireFactor(factor);
    return toParameters(defaultInvFreq64(headDim, base).map((f) => f / factor));
  },

  ntk: (headDim, base, { factor }) => {
    requireFactor(factor);
    defaultInvFreq64(headDim, base); // headDim and base checks first, with their own messages
    requireNtkHeadDim(headDim);
    return toParameters(ntkInvFreq(headDim, base, factor));
  },

  dynamic: (headDim, base, { factor, originalMaxPositions }, seqLen) => {
    requireFactor(factor);
    requireInteger("originalMaxPositions", originalMaxPositions, 1);
    if (seqLen === undefined) {
      throw new RangeError(
        "seqLen is required for dynamic scaling (an integer >= 1: the current sequence length)",
      );
    }
    requireInteger("seqLen", seqLen, 1);
    defaultInvFreq64(headDim, base);
    requireNtkHeadDim(headDim);
    return toParameters(
      ntkInvFreq(headDim, base, dynamicMultiplier(factor, originalMaxPositions, seqLen)),
    );
  },

  yarn: (headDim, base, { factor, originalMaxPositions, betaFast = 32, betaSlow = 1 }) => {
    requireFactor(factor);
    requireInteger("originalMaxPositions", originalMaxPositions, 1);
    requireGreater("betaSlow", betaSlow, 0);
    requireGreater("betaFast", betaFast, 0);
    if (betaFast < betaSlow) {
      throw new RangeError(`betaFast must be >= betaSlow (${betaSlow}); got ${betaFast}`);
    }
    const extrapolated = defaultInvFreq64(headDim, base);
    const { low, high } = yarnCorrectionRange(
      headDim,
      base,
      originalMaxPositions,
      betaFast,
      betaSlow,
    );
    const ramp = yarnRamp(low, high, headDim / 2);
    // Fast dims (small index, many turns in L0) keep their frequency; slow ones are interpolated.
    const invFreq = extrapolated.map((f, i) => (f / factor) * ramp[i] + f * (1 - ramp[i]));
    return toParameters(invFreq, yarnAttentionScale(factor));
  },
};

/**
 * The fields each scaling type implements. A scaling carrying any other field (HF's
 * `attention_factor`, `mscale`, `truncate`, ...) is refused by {@link ropeInvFreq}: running it
 * with this code's defaults would silently compute something other than what it asks for.
 *
 * @example
 * ```ts
 * ROPE_SCALING_FIELDS.yarn; // ["type", "factor", "originalMaxPositions", "betaFast", "betaSlow"]
 * ```
 */
export const ROPE_SCALING_FIELDS: { readonly [T in RopeScalingType]: readonly string[] } = {
  default: ["type"],
  linear: ["type", "factor"],
  ntk: ["type", "factor"],
  dynamic: ["type", "factor", "originalMaxPositions"],
  yarn: ["type", "factor", "originalMaxPositions", "betaFast", "betaSlow"],
};

/**
 * Inverse frequencies (float32, length headDim / 2) and attention scale for a scaling.
 * `seqLen` is the current sequence length; only `dynamic` reads it (and requires it). Fields
 * outside {@link ROPE_SCALING_FIELDS} are refused, naming them.
 *
 * @example
 * ```ts
 * ropeInvFreq(4, 10000, { type: "default" }).invFreq; // Float32Array [1, 0.01]
 * ropeInvFreq(4, 10000, { type: "linear", factor: 2 }).invFreq; // Float32Array [0.5, 0.005]
 * ```
 */
export function ropeInvFreq(
  headDim: number,
  base: number,
  scaling: RopeScaling,
  seqLen?: number,
): RopeParameters {
  if (typeof scaling !== "object" || scaling === null) {
    throw new TypeError(`scaling must be an object with a type; got ${String(scaling)}`);
  }
  const compute = Object.hasOwn(ROPE_SCALINGS, scaling.type)
    ? ROPE_SCALINGS[scaling.type] as RopeScalingFunction<RopeScalingType>
    : undefined;
  if (!compute) {
    throw new RangeError(
      `scaling.type must be one of ${Object.keys(ROPE_SCALINGS).join(", ")}; got "${scaling.type}"`,
    );
  }
  refuseUnknownFields(`scaling (${scaling.type})`, scaling, ROPE_SCALING_FIELDS[scaling.type]);
  return compute(headDim, base, scaling as never, seqLen);
}

/**
 * Per-dimension scale factor of a scaling: scaled invFreq / default invFreq (1 = untouched,
 * 1/s = fully interpolated).
 *
 * @example
 * ```ts
 * ropeScaleFactors(64, 10000, { type: "linear", factor: 8 }); // all 0.125
 * ```
 */
export function ropeScaleFactors(
  headDim: number,
  base: number,
  scaling: RopeScaling,
  seqLen?: number,
): Float64Array {
  const scaled = ropeInvFreq(headDim, base, scaling, seqLen).invFreq;
  const reference = ropeInvFreq(headDim, base, { type: "default" }).invFreq;
  return Float64Array.from(scaled, (f, i) => f / reference[i]);
}

/**
 * Rotation angles in radians, `position * invFreq[i]`, for one position.
 *
 * @example
 * ```ts
 * ropeAngles(new Float32Array([1, 0.01]), 100); // Float64Array [100, 1]
 * ```
 */
export function ropeAngles(invFreq: ArrayLike<number>, position: number): Float64Array {
  return Float64Array.from(invFreq, (f) => position * f);
}

/**
 * Wavelength of each frequency in positions: 2 pi / invFreq[i] (positions per full turn).
 *
 * @example
 * ```ts
 * ropeWavelengths(new Float32Array([1])); // Float64Array [6.283...]
 * ```
 */
export function ropeWavelengths(invFreq: ArrayLike<number>): Float64Array {
  return Float64Array.from(invFreq, (f) => (2 * Math.PI) / f);
}

/**
 * Rotates one vector of length D as the model does at `position` (rotate_half convention):
 * out[i] = x[i] cos a_i - x[i+D/2] sin a_i, out[i+D/2] = x[i+D/2] cos a_i + x[i] sin a_i,
 * a_i = position * invFreq[i], all times `attentionScale`. Plain float64 reference.
 *
 * @example
 * ```ts
 * ropeRotate([1, 0], new Float32Array([Math.PI / 2]), 1); // ~[0, 1]
 * ```
 */
export function ropeRotate(
  x: ArrayLike<number>,
  invFreq: ArrayLike<number>,
  position: number,
  attentionScale = 1,
): Float64Array {
  const half = invFreq.length;
  if (x.length !== 2 * half) {
    throw new RangeError(`x.length must be 2 * invFreq.length = ${2 * half}; got ${x.length}`);
  }
  const out = new Float64Array(x.length);
  for (let i = 0; i < half; i++) {
    const angle = position * invFreq[i];
    const cos = Math.cos(angle) * attentionScale;
    const sin = Math.sin(angle) * attentionScale;
    out[i] = x[i] * cos - x[i + half] * sin;
    out[i + half] = x[i + half] * cos + x[i] * sin;
  }
  return out;
}

/** A trained rotation against a new one, as {@link outOfDistributionDims} compares them. */
export interface RotationComparison {
  trainedInvFreq: ArrayLike<number>;
  trainedLength: number;
  invFreq: ArrayLike<number>;
  length: number;
}

function checkedComparison(opts: RotationComparison): RotationComparison {
  requireInteger("trainedLength", opts.trainedLength, 1);
  requireInteger("length", opts.length, 1);
  if (opts.trainedInvFreq.length !== opts.invFreq.length) {
    throw new RangeError(
      `invFreq.length must equal trainedInvFreq.length (${opts.trainedInvFreq.length}); got ${opts.invFreq.length}`,
    );
  }
  return opts;
}

/**
 * Indices of the frequency pairs that meet rotation angles never seen in training. Training at
 * `trainedLength` with `trainedInvFreq` covers angles [0, f_i L0); a pair that already turned a
 * full circle there has seen every angle. Otherwise it is out of distribution when the new
 * frequency over the new `length` reaches past that range (a 1e-6 relative slack absorbs float32
 * rounding, so exact interpolation counts as in distribution).
 *
 * @example
 * ```ts
 * const base = ropeInvFreq(64, 10000, { type: "default" }).invFreq;
 * outOfDistributionDims({ trainedInvFreq: base, trainedLength: 4096, invFreq: base, length: 32768 });
 * // [23, ..., 31]: the pairs whose wavelength exceeds 4096
 * ```
 */
export function outOfDistributionDims(opts: {
  trainedInvFreq: ArrayLike<number>;
  trainedLength: number;
  invFreq: ArrayLike<number>;
  length: number;
}): number[] {
  const { trainedInvFreq, trainedLength, invFreq, length } = checkedComparison(opts);
  const out: number[] = [];
  for (let i = 0; i < invFreq.length; i++) {
    const seen = trainedInvFreq[i] * trainedLength;
    const reached = invFreq[i] * length;
    if (seen < 2 * Math.PI && reached > seen * (1 + 1e-6)) out.push(i);
  }
  return out;
}

/**
 * How far past its trained arc each pair goes: the angle reached over `length` positions with
 * `invFreq`, divided by the largest angle training reached (`trainedInvFreq` over
 * `trainedLength`). Below 1: inside what training saw; 4: four times further. A pair that turned a
 * full circle in training has seen every angle and gets NaN (no arc to overshoot).
 *
 * @example
 * ```ts
 * const base = ropeInvFreq(32, 10000, { type: "default" }).invFreq;
 * arcOvershoot({ trainedInvFreq: base, trainedLength: 256, invFreq: base, length: 2048 })[15];
 * // 8: plain extrapolation takes the slowest pair to 8x its trained arc
 * ```
 */
export function arcOvershoot(opts: {
  trainedInvFreq: ArrayLike<number>;
  trainedLength: number;
  invFreq: ArrayLike<number>;
  length: number;
}): Float64Array {
  const { trainedInvFreq, trainedLength, invFreq, length } = checkedComparison(opts);
  return Float64Array.from(invFreq, (f, i) => {
    const seen = trainedInvFreq[i] * trainedLength;
    return seen >= 2 * Math.PI ? NaN : (f * length) / seen;
  });
}

/**
 * Dynamic NTK's multiplier at a sequence length (HF's formula): `factor x len / L - (factor - 1)`
 * with len = max(seqLen, L): 1 up to the trained length L, then growing by `factor` per L (factor
 * 8 gives 57 at 8 L, far above the static factor 8).
 *
 * @example
 * ```ts
 * dynamicMultiplier(8, 256, 2048); // 57
 * dynamicMultiplier(8, 256, 200); // 1
 * ```
 */
export function dynamicMultiplier(factor: number, originalMaxPositions: number, seqLen: number) {
  // Below the trained length the base is unchanged (the multiplier is 1).
  const length = Math.max(seqLen, originalMaxPositions);
  return (factor * length) / originalMaxPositions - (factor - 1);
}
