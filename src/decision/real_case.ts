/**
 * The evidence behind the answer for the real case (4,096 -> 32,768), loaded once for notebooks 09
 * and 10: the ablation folder's samples (with the main run's fine-tuned `rope` as PI's s = 1
 * control), its dynamic-NTK-on-the-fine-tuned-model stage, and the native ALiBi / T5 models paired
 * with the main run's examples. Missing folders give empty parts, which the callers report as
 * pending.
 *
 * @example
 * ```ts
 * const ev = await loadTransferEvidence("course", assetPath("results"));
 * const table = transferTable(courseHead(PRESETS.course), FULL_SCALE_HEADS[0], ev.findings, ev.native);
 * ```
 * @module
 */
import { readSamples, type SampleRow } from "../eval/results.ts";
import type { Preset } from "../model/presets.ts";
import { type AblationFindings, ablationFindings, withRopeControl } from "./ablations.ts";
import type { HeadGeometry } from "./full_scale.ts";
import {
  NATIVE_FAMILIES,
  type NativeFamily,
  type NativeFinding,
  nativeFindings,
  withNative,
} from "./native.ts";

/**
 * The samples of a results folder: the partial table while records are missing (a complete
 * assembly deletes it, and an older complete table may sit beside it), else the complete one,
 * else none.
 */
export async function samplesIn(dir: string): Promise<SampleRow[]> {
  for (const f of ["samples.partial.csv", "samples.csv"]) {
    const rows = await readSamples(`${dir}/${f}`).catch(() => null);
    if (rows) return rows;
  }
  return [];
}

/** What the answer for the real case reads. */
export interface TransferEvidence {
  /** The main experiment's samples. */
  main: SampleRow[];
  /** The ablation folder's samples, with the `rope` control added. */
  ablations: SampleRow[];
  /** The ablation folder's own samples (what it ran). */
  ablationsRaw: SampleRow[];
  /** `<ablations>/ntk_ft_dynamic`'s samples. */
  ftDynamic: SampleRow[];
  findings: AblationFindings;
  /** The main samples plus the native models' rows (`native_<family>`). */
  nativeSamples: SampleRow[];
  native: NativeFinding[];
  /** Folders read, for the notebooks' provenance lines. */
  dirs: { main: string; ablations: string; native: Record<NativeFamily, string> };
}

/**
 * Loads the evidence of `preset` from `resultsRoot` (e.g. `assets/results`); `threshold` is the
 * long-range retrieval bound the native verdicts use.
 */
export async function loadTransferEvidence(
  preset: string,
  resultsRoot: string,
  threshold: number,
): Promise<TransferEvidence> {
  const mainDir = `${resultsRoot}/${preset}`;
  const ablDir = `${resultsRoot}/${preset}_ablations`;
  const main = await samplesIn(mainDir);
  const ablationsRaw = await samplesIn(ablDir);
  const ablations = withRopeControl(ablationsRaw, main);
  const ftDynamic = await samplesIn(`${ablDir}/ntk_ft_dynamic`);
  const nativeDirs = Object.fromEntries(
    NATIVE_FAMILIES.map((f) => [f, `${ablDir}/native_${f}`]),
  ) as Record<NativeFamily, string>;
  const nativeRaw: Partial<Record<NativeFamily, SampleRow[]>> = {};
  for (const f of NATIVE_FAMILIES) {
    const rows = await samplesIn(nativeDirs[f]);
    if (rows.length) nativeRaw[f] = rows;
  }
  const nativeSamples = withNative(main, nativeRaw);
  return {
    main,
    ablations,
    ablationsRaw,
    ftDynamic,
    findings: ablationFindings(ablations, ftDynamic),
    nativeSamples,
    native: nativeFindings(nativeSamples, threshold),
    dirs: { main: mainDir, ablations: ablDir, native: nativeDirs },
  };
}

/** The head geometry of a preset (its L0 and target), labelled with its name. */
export function presetHead(p: Preset): HeadGeometry {
  return {
    label: `${p.name} preset`,
    headDim: p.headDim,
    numHeads: p.numHeads,
    ropeBase: p.ropeBase,
    contextLength: p.contextLength,
    targetLength: p.targetLength,
  };
}
