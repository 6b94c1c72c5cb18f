/**
 * The three scales of the course: one code path, chosen by name.
 *
 * `tiny` runs in seconds (tests, CI); `course` is the laptop-CPU default every notebook uses;
 * `full` is the case study at its real size (4,096 -> 32,768) for a WebGPU GPU.
 *
 * @example
 * ```ts
 * import { getPreset } from "./presets.ts";
 * const p = getPreset("course"); // p.contextLength === 256, p.targetLength === 2048
 * ```
 * @module
 */

/** Architecture and lengths of one preset. */
export interface Preset {
  name: PresetName;
  /** L0: the length the base model is pretrained at. */
  contextLength: number;
  /** 8 x L0: the length the retrofit must serve. */
  targetLength: number;
  vocabSize: number;
  dModel: number;
  numLayers: number;
  numHeads: number;
  headDim: number;
  mlpHidden: number;
  ropeBase: number;
}

export type PresetName = "tiny" | "course" | "full";

export const PRESETS: Readonly<Record<PresetName, Preset>> = {
  tiny: {
    name: "tiny",
    contextLength: 64,
    targetLength: 512,
    vocabSize: 256,
    dModel: 32,
    numLayers: 2,
    numHeads: 2,
    headDim: 16,
    mlpHidden: 64,
    ropeBase: 10000,
  },
  course: {
    name: "course",
    contextLength: 256,
    targetLength: 2048,
    vocabSize: 256,
    dModel: 128,
    numLayers: 4,
    numHeads: 4,
    headDim: 32,
    mlpHidden: 352,
    ropeBase: 10000,
  },
  full: {
    name: "full",
    contextLength: 4096,
    targetLength: 32768,
    vocabSize: 256,
    dModel: 512,
    numLayers: 8,
    numHeads: 8,
    headDim: 64,
    mlpHidden: 1408,
    ropeBase: 10000,
  },
};

/** Returns the preset called `name`; throws naming the allowed values otherwise. */
export function getPreset(name: string): Preset {
  if (!(name in PRESETS)) {
    throw new RangeError(
      `preset must be one of ${Object.keys(PRESETS).join(", ")}; got "${name}"`,
    );
  }
  return PRESETS[name as PresetName];
}

/** The preset named by `COURSE_PRESET` (default `course`). Notebooks call this. */
export function presetFromEnv(): Preset {
  return getPreset(Deno.env.get("COURSE_PRESET") ?? "course");
}
