/**
 * What the model benches (eval, train) share beyond the machine record of env_util.ts: their
 * common flags (--preset, --repeats, --backend, --allow-software, --out) and the cells their rows
 * end with.
 *
 * @example
 * ```ts
 * import { parseArgs } from "node:util";
 * import { modelBenchFlags, modelBenchOptions } from "./model_bench.ts";
 * const { values } = parseArgs({ args: [], options: modelBenchOptions("/tmp/x.csv") });
 * modelBenchFlags(values).backend; // "wasm"
 * ```
 * @module
 */
import type { BackendName } from "../backend.ts";
import { getPreset, type Preset, presetFromEnv } from "../model/presets.ts";
import { loadNote, machine } from "./env_util.ts";

/**
 * The flags the model benches (eval, train) share, to spread into `parseArgs` options: --preset
 * (default: COURSE_PRESET, else course), --repeats 3, --backend wasm, --allow-software, and --out
 * with its default `out`.
 */
export function modelBenchOptions(out: string) {
  return {
    preset: { type: "string" },
    repeats: { type: "string", default: "3" },
    backend: { type: "string", default: "wasm" },
    "allow-software": { type: "boolean", default: false },
    out: { type: "string", default: out },
  } as const;
}

/** What {@link modelBenchOptions} hold once parsed. */
export interface ModelBenchFlags {
  p: Preset;
  backend: BackendName;
  /** Time a software WebGPU adapter anyway. */
  allowSoftware: boolean;
  /** The CSV written. */
  out: string;
}

/** The preset, backend, software-adapter choice and CSV path of parsed {@link modelBenchOptions}. */
export function modelBenchFlags(
  values: { preset?: string; backend?: string; "allow-software"?: boolean; out?: string },
): ModelBenchFlags {
  return {
    p: values.preset ? getPreset(values.preset) : presetFromEnv(),
    backend: values.backend as BackendName,
    allowSoftware: values["allow-software"]!,
    out: values.out!,
  };
}

/**
 * The cells a model bench row ends with: CPU, cores, load average before and after (or the
 * highest seen), backend, adapter, the note (from other processes' CPU share when known), that
 * share, and the commit the code ran at (util/git.ts codeVersion).
 */
export function machineCells(
  before: number,
  after: number,
  backend: BackendName,
  adapter: string,
  otherShare: number,
  commit: string,
): Array<string | number> {
  const { cpu, cores } = machine();
  const note = loadNote(before, after, otherShare);
  const share = Number.isFinite(otherShare) ? +otherShare.toFixed(4) : "";
  return [cpu, cores, before, after, backend, adapter, note, share, commit];
}
