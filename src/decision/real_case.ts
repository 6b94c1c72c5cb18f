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
import { loadCheckpoint } from "../model/checkpoint.ts";
import { sha256Hex } from "../util/files.ts";
import type { Preset } from "../model/presets.ts";
import { type AblationFindings, ablationFindings, withRopeControl } from "./ablations.ts";
import type { HeadGeometry } from "./full_scale.ts";
import { DECISION_RULE } from "./rule.ts";
import type { BaseReport } from "../eval/base_report.ts";
import {
  lengthVerdict,
  NATIVE_FAMILIES,
  type NativeFamily,
  type NativeFinding,
  nativeFindings,
  parseOffsetRows,
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
  /** Native folders present but refused, with why (another checkpoint, another plan, ...). */
  refused: Partial<Record<NativeFamily, string>>;
  /** Folders read, for the notebooks' provenance lines. */
  dirs: { main: string; ablations: string; native: Record<NativeFamily, string> };
}

/**
 * Why a native folder's rows cannot be the `family` model of `checkpointsRoot`, or null when they
 * can: the checkpoint must exist and be that family, and the folder's pinned base checkpoint
 * (`runs/base.sha256`, written by the pipeline) must be that very file.
 */
export async function nativeProvenance(
  family: NativeFamily,
  resultsDir: string,
  checkpoint: string,
): Promise<string | null> {
  const pinned = (await Deno.readTextFile(`${resultsDir}/runs/base.sha256`).catch(() => ""))
    .trim();
  if (!pinned) return `no ${resultsDir}/runs/base.sha256: not made by the pipeline`;
  const ck = await loadCheckpoint(checkpoint).catch(() => null);
  if (!ck) return `no readable checkpoint at ${checkpoint}`;
  if (ck.config.positional.type !== family) {
    return `${checkpoint} is a ${ck.config.positional.type} model, not ${family}`;
  }
  const sha = await sha256Hex(checkpoint);
  return sha === pinned
    ? null
    : `${resultsDir} was evaluated on another checkpoint than ${checkpoint}`;
}

/**
 * Loads the evidence of `preset` from `resultsRoot` (e.g. `assets/results`), the native models
 * from `checkpointsRoot` (e.g. `assets/checkpoints`); `threshold` is the long-range retrieval
 * bound the native verdicts use. A native folder that fails its checks is refused (reported, not
 * read), so one stale folder never stops the chapters.
 */
export async function loadTransferEvidence(
  preset: string,
  resultsRoot: string,
  threshold: number,
  checkpointsRoot: string,
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
  const refused: Partial<Record<NativeFamily, string>> = {};
  let nativeSamples = main;
  for (const f of NATIVE_FAMILIES) {
    const rows = await samplesIn(nativeDirs[f]);
    if (!rows.length) continue;
    const why = await nativeProvenance(
      f,
      nativeDirs[f],
      `${checkpointsRoot}/${preset}/native_${f}/model.safetensors`,
    );
    if (why) {
      refused[f] = why;
      continue;
    }
    try {
      nativeSamples = withNative(nativeSamples, { [f]: rows });
    } catch (e) {
      refused[f] = (e as Error).message;
    }
  }
  return {
    main,
    ablations,
    ablationsRaw,
    ftDynamic,
    findings: ablationFindings(ablations, ftDynamic),
    nativeSamples,
    native: await withLengthVerdicts(
      nativeFindings(nativeSamples, threshold),
      `${checkpointsRoot}/${preset}`,
      threshold,
    ),
    refused,
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

/**
 * The findings with their length verdicts, read from each native model's base report beside its
 * checkpoint (`eval.json`, `passkey_by_offset.csv`); "flat" bits/byte past L0 means a rise no
 * larger than the decision rule's near-range regression bound.
 */
async function withLengthVerdicts(
  findings: NativeFinding[],
  checkpointDir: string,
  threshold: number,
): Promise<NativeFinding[]> {
  const maxRise = DECISION_RULE.constraints.find((c) => c.metric === "near_bpb")?.threshold ?? 0.02;
  const out: NativeFinding[] = [];
  for (const f of findings) {
    const dir = `${checkpointDir}/native_${f.family}`;
    const ev = await Deno.readTextFile(`${dir}/eval.json`).catch(() => null);
    const csv = await Deno.readTextFile(`${dir}/passkey_by_offset.csv`).catch(() => null);
    if (!ev || !csv) {
      out.push(f);
      continue;
    }
    const report = JSON.parse(ev) as BaseReport;
    const v = lengthVerdict(
      f.family,
      parseOffsetRows(csv),
      report.bitsPerByteAt8xL0,
      report.contextLength,
      threshold,
      maxRise,
    );
    out.push({ ...f, length: v.verdict });
  }
  return out;
}
