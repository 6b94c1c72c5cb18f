/**
 * Model configuration as plain data: architecture sizes from a preset plus the positional mode.
 * The positional mode is configuration: `rope` with any scaling of the registry, `alibi`, or `t5`.
 *
 * @example
 * ```ts
 * import { modelConfig } from "./config.ts";
 * const cfg = modelConfig("course"); // RoPE, default scaling, L0 = 256
 * const pi = modelConfig("course", { type: "rope", scaling: { type: "linear", factor: 8 } });
 * ```
 * @module
 */
import { getPreset, type Preset } from "./presets.ts";
import type { RopeScaling } from "./ops.ts";
import { ROPE_SCALING_FIELDS } from "../positions/rope.ts";
import { refuseUnknownFields, requireInteger } from "../util/validate.ts";

/** How positions enter attention. */
export type PositionalConfig =
  | { type: "rope"; scaling: RopeScaling }
  | { type: "alibi" }
  | { type: "t5"; numBuckets: number; maxDistance: number };

/** The architecture fields a config takes from its preset (declared once, in presets.ts). */
export const ARCHITECTURE_FIELDS = [
  "vocabSize",
  "dModel",
  "numLayers",
  "numHeads",
  "headDim",
  "mlpHidden",
  "ropeBase",
  "contextLength",
] as const satisfies readonly (keyof Preset)[];

/** Everything needed to build the decoder (stored in every checkpoint). */
export interface ModelConfig extends Pick<Preset, typeof ARCHITECTURE_FIELDS[number]> {
  positional: PositionalConfig;
  tiedEmbedding: boolean;
  normEps: number;
}

/** The positional modes a config may name. */
export const POSITIONAL_TYPES = ["rope", "alibi", "t5"] as const;

/** A config from a preset (or a preset name), RoPE with default scaling unless told otherwise. */
export function modelConfig(
  preset: Preset | string,
  positional: PositionalConfig = { type: "rope", scaling: { type: "default" } },
  overrides: Partial<Omit<ModelConfig, "positional">> = {},
): ModelConfig {
  const p = typeof preset === "string" ? getPreset(preset) : preset;
  const arch = Object.fromEntries(ARCHITECTURE_FIELDS.map((k) => [k, p[k]])) as Pick<
    Preset,
    typeof ARCHITECTURE_FIELDS[number]
  >;
  const cfg: ModelConfig = {
    ...arch,
    positional,
    tiedEmbedding: true,
    normEps: 1e-5,
    ...overrides,
  };
  validateConfig(cfg);
  return cfg;
}

/** The fields of each positional mode (anything else is refused, naming it). */
export const POSITIONAL_FIELDS: { readonly [T in PositionalConfig["type"]]: readonly string[] } = {
  rope: ["type", "scaling"],
  alibi: ["type"],
  t5: ["type", "numBuckets", "maxDistance"],
};

/** The fields of a {@link ModelConfig}. */
export const CONFIG_FIELDS: readonly string[] = [
  ...ARCHITECTURE_FIELDS,
  "positional",
  "tiedEmbedding",
  "normEps",
];

/**
 * Throws a RangeError/TypeError naming the bad field; returns the config typed otherwise. Fields
 * the code does not implement (at the top level, in `positional` or in a RoPE scaling) are
 * refused by name rather than ignored.
 *
 * @example
 * ```ts
 * validateConfig(modelConfig("tiny")); // ok
 * validateConfig({ ...modelConfig("tiny"), positional: { type: "alibi", maxBias: 8 } });
 * // RangeError: positional has fields this code does not implement: maxBias (known: type)
 * ```
 */
export function validateConfig(cfg: unknown): ModelConfig {
  if (typeof cfg !== "object" || cfg === null) throw new TypeError("config must be an object");
  const c = cfg as ModelConfig;
  refuseUnknownFields("config", c, CONFIG_FIELDS);
  // ropeBase is a real number > 1, checked below; the other sizes are positive integers.
  for (const k of ARCHITECTURE_FIELDS) if (k !== "ropeBase") requireInteger(k, c[k], 1);
  if (c.headDim % 2 !== 0) throw new RangeError(`headDim must be even; got ${c.headDim}`);
  if (!(c.ropeBase > 1)) throw new RangeError(`ropeBase must be > 1; got ${c.ropeBase}`);
  if (typeof c.tiedEmbedding !== "boolean") {
    throw new TypeError(`tiedEmbedding must be a boolean; got ${String(c.tiedEmbedding)}`);
  }
  if (!(c.normEps > 0)) throw new RangeError(`normEps must be > 0; got ${c.normEps}`);
  const pos = c.positional as { type?: string } | undefined;
  if (!pos || !POSITIONAL_TYPES.includes(pos.type as typeof POSITIONAL_TYPES[number])) {
    throw new RangeError(
      `positional.type must be one of ${POSITIONAL_TYPES.join(", ")}; got "${pos?.type}"`,
    );
  }
  refuseUnknownFields("positional", c.positional, POSITIONAL_FIELDS[c.positional.type]);
  if (c.positional.type === "rope") validateScaling(c.positional.scaling);
  if (c.positional.type === "t5") {
    requireInteger("positional.numBuckets", c.positional.numBuckets, 1);
    requireInteger("positional.maxDistance", c.positional.maxDistance, 1);
  }
  return c;
}

function validateScaling(scaling: RopeScaling | undefined): void {
  const type = scaling?.type as keyof typeof ROPE_SCALING_FIELDS;
  if (typeof type !== "string") {
    throw new TypeError("positional.scaling must be a RopeScaling object for rope");
  }
  if (!Object.hasOwn(ROPE_SCALING_FIELDS, type)) {
    throw new RangeError(
      `positional.scaling.type must be one of ${
        Object.keys(ROPE_SCALING_FIELDS).join(", ")
      }; got "${type}"`,
    );
  }
  refuseUnknownFields(`positional.scaling (${type})`, scaling!, ROPE_SCALING_FIELDS[type]);
}

/** Parameter names and shapes of a config, in a fixed order (checkpoints use this order). */
export function parameterShapes(cfg: ModelConfig): [string, number[]][] {
  const d = cfg.dModel, hd = cfg.numHeads * cfg.headDim, f = cfg.mlpHidden;
  const out: [string, number[]][] = [["embed.weight", [cfg.vocabSize, d]]];
  for (let i = 0; i < cfg.numLayers; i++) {
    const p = `layers.${i}.`;
    out.push(
      [p + "attn_norm.weight", [d]],
      [p + "attn.wq", [d, hd]],
      [p + "attn.wk", [d, hd]],
      [p + "attn.wv", [d, hd]],
      [p + "attn.wo", [hd, d]],
      [p + "mlp_norm.weight", [d]],
      [p + "mlp.w_gate", [d, f]],
      [p + "mlp.w_up", [d, f]],
      [p + "mlp.w_down", [f, d]],
    );
  }
  out.push(["final_norm.weight", [d]]);
  if (!cfg.tiedEmbedding) out.push(["lm_head.weight", [d, cfg.vocabSize]]);
  if (cfg.positional.type === "t5") {
    out.push(["t5.relative_attention_bias", [cfg.positional.numBuckets, cfg.numHeads]]);
  }
  return out;
}

/** Number of learned parameters of a config. */
export function countParameters(cfg: ModelConfig): number {
  return parameterShapes(cfg).reduce((s, [, sh]) => s + sh.reduce((a, b) => a * b, 1), 0);
}
