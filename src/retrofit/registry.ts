/**
 * The six retrofits as one registry keyed by option id. Each entry maps the pretrained base model
 * (RoPE at L0) to the model that will be fine-tuned at 8 x L0: a new positional config, the same
 * weights plus whatever the new positional mode learns, and an account of what it removes, what it
 * adds and how many learned parameters are new. The decoder never branches on the option: it only
 * reads the positional config (RoPE scaling from the rope registry, or an ALiBi / T5 bias).
 *
 * | id | positional config | new learned params |
 * |---|---|---|
 * | `rope` | RoPE, default scaling (the control: extrapolate) | 0 |
 * | `pi` | RoPE, linear scaling, factor s | 0 |
 * | `ntk` | RoPE, NTK-aware base scaling, factor s | 0 |
 * | `yarn` | RoPE, YaRN (NTK-by-parts + temperature), factor s, original L0 | 0 |
 * | `alibi` | RoPE removed, fixed ALiBi slopes | 0 |
 * | `t5` | RoPE removed, one learned bucket table [numBuckets, numHeads] shared by all layers | numBuckets x numHeads |
 *
 * @example
 * ```ts
 * import { convert, RETROFIT_IDS } from "./registry.ts";
 * const out = convert("yarn", base.config, base.weights, { targetLength: 2048 });
 * out.newParams; // 0
 * out.config.positional; // { type: "rope", scaling: { type: "yarn", factor: 8, ... } }
 * ```
 * @module
 */
import { alibiSlopes } from "../positions/alibi.ts";
import { relativePositionBucket } from "../positions/t5.ts";
import { countParameters, type ModelConfig, type PositionalConfig } from "../model/config.ts";
import type { Weights } from "../model/decoder.ts";
import { FULL_SCALE_HEADS, type HeadGeometry, matchedYarnBetas } from "../decision/full_scale.ts";

/** The option ids, in the order tables and figures list them. */
export const RETROFIT_IDS = ["rope", "pi", "ntk", "yarn", "alibi", "t5"] as const;

/** One option id. */
export type RetrofitId = typeof RETROFIT_IDS[number];

/**
 * Every option a results table may hold, in the order tables, figures and tie-breaks list them:
 * the unconverted `base`, then the registry's options. The one home of that order.
 */
export const OPTION_ORDER: readonly string[] = ["base", ...RETROFIT_IDS];

/**
 * Position of `option` in {@link OPTION_ORDER}; options it does not know (mitigation variants
 * such as `t5+window`) come after all of them.
 *
 * @example
 * ```ts
 * optionRank("pi"); // 2
 * optionRank("t5+window"); // 7
 * ```
 */
export function optionRank(option: string): number {
  const i = OPTION_ORDER.indexOf(option);
  return i < 0 ? OPTION_ORDER.length : i;
}

/**
 * Ablation ids (issue #13): labelled variants run beside the six options, never in their place,
 * and never part of the decision (`deno task ablate` writes them to their own results folder).
 */
export const ABLATION_IDS = ["pi_s2", "pi_s4", "yarn_matched", "ntk_dynamic"] as const;

/** One ablation id. */
export type AblationId = typeof ABLATION_IDS[number];

/** Any id `convert` accepts: an option or an ablation. */
export type OptionId = RetrofitId | AblationId;

/** Every id `convert` accepts, options first. */
export const ALL_OPTION_IDS: readonly OptionId[] = [...RETROFIT_IDS, ...ABLATION_IDS];

/** Conversion options. */
export interface ConvertOptions {
  /** The length the retrofit must serve (8 x L0 in the course); the factor is targetLength / L0. */
  targetLength: number;
  /** Overrides the factor s (default targetLength / contextLength). `pi` at 1 is the base model. */
  factor?: number;
  /** T5 buckets (default 32, HF's value). */
  numBuckets?: number;
  /** T5 distance of the last bucket (default targetLength, so buckets span the target context). */
  maxDistance?: number;
  /**
   * T5 table start: `alibi` (default) sets each bucket to -slope_h x the bucket's mean distance,
   * so the converted model starts with ALiBi's recency prior and learns from there; `zero` starts
   * with no positional signal at all (HF zero-initialised bias).
   */
  t5Init?: "alibi" | "zero";
}

/** What a conversion returns. */
export interface Conversion {
  id: OptionId;
  config: ModelConfig;
  weights: Weights;
  /** Learned parameters in the converted model that the base did not have. */
  newParams: number;
  /** Names of the added weight tensors. */
  addedTensors: string[];
  /** The registry entry's title ("YaRN"). */
  title: string;
  /** One line each: what the conversion takes out of the model and what it puts in. */
  removes: string;
  adds: string;
}

/** One registry entry: the positional config and the weights it adds. */
export interface RetrofitSpec {
  id: OptionId;
  title: string;
  removes: string;
  adds: string;
  positional(base: ModelConfig, factor: number, o: Required<ConvertOptions>): PositionalConfig;
  /** Extra tensors the new positional mode learns (none for RoPE variants and ALiBi). */
  addWeights?(config: ModelConfig, o: Required<ConvertOptions>): Weights;
}

/** The registry: every option is data plus at most one small function. */
export const RETROFITS: { readonly [K in RetrofitId]: RetrofitSpec } = {
  rope: {
    id: "rope",
    title: "RoPE unchanged (extrapolate)",
    removes: "nothing",
    adds: "nothing: positions past L0 use angles the model never saw",
    positional: () => ({ type: "rope", scaling: { type: "default" } }),
  },
  pi: {
    id: "pi",
    title: "Position interpolation",
    removes: "nothing",
    adds: "every rotary frequency divided by s (positions squeezed into the trained range)",
    positional: (_b, factor) => ({ type: "rope", scaling: { type: "linear", factor } }),
  },
  ntk: {
    id: "ntk",
    title: "NTK-aware base scaling",
    removes: "nothing",
    adds: "rotary base raised to base * s^(d/(d-2)) (fast dims kept, slow dims interpolated)",
    positional: (_b, factor) => ({ type: "rope", scaling: { type: "ntk", factor } }),
  },
  yarn: {
    id: "yarn",
    title: "YaRN",
    removes: "nothing",
    adds: "NTK-by-parts ramp between extrapolation and interpolation, attention temperature " +
      "0.1 ln s + 1",
    positional: (b, factor) => ({
      type: "rope",
      scaling: {
        type: "yarn",
        factor,
        originalMaxPositions: b.contextLength,
        // Written out (HF's defaults) so a shipped config names every parameter.
        betaFast: 32,
        betaSlow: 1,
      },
    }),
  },
  alibi: {
    id: "alibi",
    title: "ALiBi",
    removes: "the rotary embedding of q and k",
    adds: "fixed per-head linear distance penalty -m_h (i - j) on the logits (no learned weights)",
    positional: () => ({ type: "alibi" }),
  },
  t5: {
    id: "t5",
    title: "T5 relative bias",
    removes: "the rotary embedding of q and k",
    adds: "one learned table [numBuckets, numHeads] of logit biases by log-bucketed distance",
    positional: (_b, _f, o) => ({
      type: "t5",
      numBuckets: o.numBuckets,
      maxDistance: o.maxDistance,
    }),
    addWeights: (config, o) => {
      const pos = config.positional as { numBuckets: number; maxDistance: number };
      return new Map([[T5_TABLE, {
        shape: [pos.numBuckets, config.numHeads],
        data: t5InitialTable(config.numHeads, pos.numBuckets, pos.maxDistance, o.t5Init),
      }]]);
    },
  },
};

/** The head geometry of a base config at a factor (what `src/decision/full_scale.ts` reads). */
export function geometryOf(base: ModelConfig, factor: number): HeadGeometry {
  return {
    label: "this model",
    headDim: base.headDim,
    numHeads: base.numHeads,
    ropeBase: base.ropeBase,
    contextLength: base.contextLength,
    targetLength: Math.round(base.contextLength * factor),
  };
}

/**
 * The ablations (issue #13), same shape as the options. `pi_s2` / `pi_s4` fix the PI factor
 * (whatever the target), so the local-resolution cost can be read against s; `yarn_matched`
 * chooses betas so that the kept / ramped / interpolated split of this head's pairs matches a
 * LLaMA-class head (d 128, base 10,000) at 4,096 -> 32,768 under HF's defaults; `ntk_dynamic` is
 * dynamic NTK (the base change recomputed from the sequence length), the zero-training baseline
 * when evaluated at step 0, with HF's factor set to s (multiplier 57 at 8 x L0). With factor 1
 * (YaRN's Sec. 3.3 definition, multiplier len / L0) it would equal static `ntk` at the target
 * length and the base model within L0, the only lengths the bands use, so it is not run apart.
 */
export const ABLATIONS: { readonly [K in AblationId]: RetrofitSpec } = {
  pi_s2: {
    id: "pi_s2",
    title: "Position interpolation, s = 2 (ablation)",
    removes: "nothing",
    adds: "every rotary frequency divided by 2, whatever the target length",
    positional: () => ({ type: "rope", scaling: { type: "linear", factor: 2 } }),
  },
  pi_s4: {
    id: "pi_s4",
    title: "Position interpolation, s = 4 (ablation)",
    removes: "nothing",
    adds: "every rotary frequency divided by 4, whatever the target length",
    positional: () => ({ type: "rope", scaling: { type: "linear", factor: 4 } }),
  },
  yarn_matched: {
    id: "yarn_matched",
    title: "YaRN, betas matched to the full-scale band split (ablation)",
    removes: "nothing",
    adds: "YaRN whose kept / ramped / interpolated pair shares match a d-128 head at 4k -> 32k",
    positional: (b, factor) => {
      const { betaFast, betaSlow } = matchedYarnBetas(geometryOf(b, factor), FULL_SCALE_HEADS[0]);
      return {
        type: "rope",
        scaling: {
          type: "yarn",
          factor,
          originalMaxPositions: b.contextLength,
          betaFast,
          betaSlow,
        },
      };
    },
  },
  ntk_dynamic: {
    id: "ntk_dynamic",
    title: "Dynamic NTK (ablation)",
    removes: "nothing",
    adds: "NTK base change recomputed from the sequence length (none up to L0)",
    positional: (b, factor) => ({
      type: "rope",
      scaling: { type: "dynamic", factor, originalMaxPositions: b.contextLength },
    }),
  },
};

function specOf(id: OptionId): RetrofitSpec {
  return (id in RETROFITS ? RETROFITS[id as RetrofitId] : ABLATIONS[id as AblationId]);
}

/** Name of the T5 bucket table in the weights (HF's `relative_attention_bias`). */
export const T5_TABLE = "t5.relative_attention_bias";

/**
 * The starting T5 table [numBuckets, numHeads], row-major. `alibi`: bucket b of head h holds
 * -slope_h x (mean distance of the offsets in bucket b); `zero`: all zeros.
 *
 * @example
 * ```ts
 * t5InitialTable(4, 32, 2048, "alibi")[0]; // 0 (bucket 0 is distance 0)
 * ```
 */
export function t5InitialTable(
  numHeads: number,
  numBuckets: number,
  maxDistance: number,
  init: "alibi" | "zero",
): Float32Array {
  if (init !== "alibi" && init !== "zero") {
    throw new RangeError(`t5Init must be "alibi" or "zero"; got "${init}"`);
  }
  const table = new Float32Array(numBuckets * numHeads);
  if (init === "zero") return table;
  const slopes = alibiSlopes(numHeads);
  const opts = { bidirectional: false, numBuckets, maxDistance };
  // Mean distance per bucket over distances 0 .. maxDistance (the last bucket starts before
  // maxDistance; its mean is taken over its distances up to maxDistance).
  const sum = new Float64Array(numBuckets), count = new Float64Array(numBuckets);
  for (let d = 0; d <= maxDistance; d++) {
    const b = relativePositionBucket(-d, opts);
    sum[b] += d;
    count[b]++;
  }
  for (let b = 0; b < numBuckets; b++) {
    const mean = count[b] ? sum[b] / count[b] : 0;
    for (let h = 0; h < numHeads; h++) table[b * numHeads + h] = -slopes[h] * mean;
  }
  return table;
}

function resolve(base: ModelConfig, o: ConvertOptions): Required<ConvertOptions> {
  if (!Number.isInteger(o.targetLength) || o.targetLength < base.contextLength) {
    throw new RangeError(
      `targetLength must be an integer >= contextLength (${base.contextLength}); got ${o.targetLength}`,
    );
  }
  const factor = o.factor ?? o.targetLength / base.contextLength;
  if (!(factor >= 1)) throw new RangeError(`factor must be >= 1; got ${factor}`);
  return {
    targetLength: o.targetLength,
    factor,
    numBuckets: o.numBuckets ?? 32,
    maxDistance: o.maxDistance ?? o.targetLength,
    t5Init: o.t5Init ?? "alibi",
  };
}

/**
 * Converts a base RoPE model (config + weights) into option `id`. The base weights are shared,
 * not copied (the Decoder copies them into variables); added tensors are new arrays.
 *
 * @example
 * ```ts
 * const { config, weights, newParams } = convert("t5", cfg, w, { targetLength: 512 });
 * const model = Decoder.fromWeights(config, weights); // newParams === 32 * cfg.numHeads
 * ```
 */
export function convert(
  id: string,
  baseConfig: ModelConfig,
  baseWeights: Weights,
  opts: ConvertOptions,
): Conversion {
  if (!(ALL_OPTION_IDS as readonly string[]).includes(id)) {
    throw new RangeError(`option must be one of ${ALL_OPTION_IDS.join(", ")}; got "${id}"`);
  }
  if (baseConfig.positional.type !== "rope") {
    throw new RangeError(
      `the base model must use rope positions; got "${baseConfig.positional.type}"`,
    );
  }
  const spec = specOf(id as OptionId);
  const o = resolve(baseConfig, opts);
  const config: ModelConfig = {
    ...baseConfig,
    positional: spec.positional(baseConfig, o.factor, o),
  };
  const weights: Weights = new Map();
  for (const [k, v] of baseWeights) if (!k.startsWith("t5.")) weights.set(k, v);
  const added = spec.addWeights?.(config, o) ?? new Map();
  for (const [k, v] of added) weights.set(k, v);
  const baseCount = countParameters(baseConfig);
  return {
    id: spec.id,
    title: spec.title,
    config,
    weights,
    newParams: countParameters(config) - baseCount,
    addedTensors: [...added.keys()],
    removes: spec.removes,
    adds: spec.adds,
  };
}
