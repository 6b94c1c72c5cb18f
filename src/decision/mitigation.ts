/**
 * `deno task mitigate --preset <p>`: measures the mitigation of the key risk that the decision rule
 * selects from the results, as an extra fine-tune variant through the retrofit machinery
 * (src/retrofit: same conversion, same budget, seeds and evaluation plan as the run that wrote
 * `assets/results/<preset>/metrics.csv`, read from its `run.json`). Rows go to
 * `assets/results/<preset>/mitigation.csv` (same columns as metrics.csv) with option
 * `<id>+<variant>`, so before (metrics.csv, option `<id>`) and after sit side by side.
 *
 * Variants ({@link MITIGATIONS}):
 * - `copy_rows` (long-range retrieval): a quarter of the batch rows become copy tasks (a random
 *   string written twice into the text), the look-back practice that makes retrieval heads form.
 * - `short_replay` (near-range regression): the last quarter of the steps runs at L0 with 8x the
 *   batch (the same tokens per step), so the model re-practises the near range it must keep.
 *
 * @example
 * ```sh
 * deno task mitigate --preset tiny                      # the decision's option and key risk
 * deno task mitigate --preset tiny --option pi --variant short_replay
 * ```
 * @module
 */
import { parseArgs } from "node:util";
import { initBackend } from "../backend.ts";
import { loadCorpus } from "../data/corpus.ts";
import { loadCheckpoint, saveCheckpoint } from "../model/checkpoint.ts";
import { evaluateModel, type EvaluationPlan } from "../eval/long_context.ts";
import {
  formatMetricsCsv,
  type MetricRow,
  parseMetricsCsv,
  readMetrics,
  resultsDir,
  summarizeRows,
} from "../eval/results.ts";
import { convert, RETROFIT_IDS, type RetrofitId } from "../retrofit/registry.ts";
import { type FinetuneBudget, gitCommit } from "../retrofit/run.ts";
import { train } from "../train/trainer.ts";
import { writeFileAtomic } from "../util/atomic.ts";
import { decide, type MitigationVariantId } from "./rule.ts";

/** One measurable mitigation: how it changes the fine-tune. */
export interface MitigationVariant {
  id: MitigationVariantId;
  description: string;
  /** Fraction of batch rows that are copy tasks (0 = as in the retrofit run). */
  copyFraction: number;
  /** Fraction of the steps (at the end) run at L0 with batch x (target / L0). */
  shortFraction: number;
}

/** The variants, keyed by id. */
export const MITIGATIONS: { readonly [K in MitigationVariantId]: MitigationVariant } = {
  copy_rows: {
    id: "copy_rows",
    description: "a quarter of the rows are copy tasks (dense look-back practice), same budget",
    copyFraction: 0.25,
    shortFraction: 0,
  },
  short_replay: {
    id: "short_replay",
    description: "the last quarter of the steps at L0 with 8x the batch (same tokens per step)",
    copyFraction: 0,
    shortFraction: 0.25,
  },
};

/** The run.json fields the mitigation reuses. */
export interface RunInfo {
  preset: string;
  base: string;
  seeds: number[];
  budget: FinetuneBudget;
  plan: EvaluationPlan;
  commit?: string;
  command?: string;
}

/**
 * The step split of a variant: long steps at the target length, then short steps at L0.
 *
 * @example
 * ```ts
 * splitSteps(60, 0.25); // { long: 45, short: 15 }
 * ```
 */
export function splitSteps(steps: number, shortFraction: number): { long: number; short: number } {
  if (!(shortFraction >= 0 && shortFraction < 1)) {
    throw new RangeError(`shortFraction must be in [0, 1); got ${shortFraction}`);
  }
  const short = Math.round(steps * shortFraction);
  return { long: steps - short, short };
}

/** Options of {@link runMitigation}. */
export interface MitigationOptions {
  run: RunInfo;
  option: RetrofitId;
  variant: MitigationVariantId;
  workDir: string;
  outPath: string;
  commit: string;
  command: string;
  log?: (line: string) => void;
}

/** Fine-tunes and evaluates `option` with the variant for every seed; merges rows into outPath. */
export async function runMitigation(o: MitigationOptions): Promise<MetricRow[]> {
  const log = o.log ?? ((l: string) => console.log(l));
  const v = MITIGATIONS[o.variant];
  if (!v) {
    throw new RangeError(
      `variant must be one of ${Object.keys(MITIGATIONS).join(", ")}; got "${o.variant}"`,
    );
  }
  const corpus = await loadCorpus();
  const base = await loadCheckpoint(o.run.base);
  const { plan, budget } = o.run;
  const L0 = plan.contextLength, target = plan.targetLength;
  const label = `${o.option}+${v.id}`;
  const rows: MetricRow[] = [];
  for (const seed of o.run.seeds) {
    const dir = `${o.workDir}/${label}/seed${seed}`;
    const conv = convert(o.option, base.config, base.weights, { targetLength: target });
    const init = `${dir}/init.safetensors`;
    await Deno.mkdir(dir, { recursive: true });
    await saveCheckpoint(init, conv.config, conv.weights);
    const { long, short } = splitSteps(budget.steps, v.shortFraction);
    const common = {
      preset: o.run.preset,
      config: conv.config,
      lr: budget.lr,
      seed,
      taskFraction: budget.taskFraction,
      copyFraction: v.copyFraction,
      corpus,
      checkpointEvery: budget.steps,
      logEvery: Math.max(1, Math.min(10, budget.evalEvery)),
      log: (l: string) => log(`[${label} seed ${seed}] ${l}`),
    };
    let result = await train({
      ...common,
      steps: long,
      batch: budget.batch,
      seqLen: target,
      warmupSteps: budget.warmupSteps,
      outDir: `${dir}/long`,
      initFrom: init,
    });
    if (short > 0) {
      // Continue at L0 with the same tokens per step; a short warm-up, then the same decay.
      result.model.dispose();
      result = await train({
        ...common,
        steps: short,
        batch: budget.batch * Math.round(target / L0),
        seqLen: L0,
        warmupSteps: 1,
        outDir: `${dir}/short`,
        initFrom: `${dir}/long/latest.safetensors`,
      });
    }
    log(`[${label} seed ${seed}] evaluating ...`);
    const evalRows = evaluateModel(result.model, corpus.heldOut, plan, "full");
    result.model.dispose();
    for (
      const r of [...evalRows, { metric: "new_params", setting: "", value: conv.newParams, n: 1 }]
    ) {
      rows.push({
        option: label,
        seed,
        step: budget.steps,
        metric: r.metric as MetricRow["metric"],
        setting: r.setting,
        value: r.value,
        n: r.n,
        commit: o.commit,
        command: o.command,
      });
    }
  }
  // Merge: keep other labels' rows already in the file.
  let kept: MetricRow[] = [];
  try {
    kept = parseMetricsCsv(await Deno.readTextFile(o.outPath)).filter((r) => r.option !== label);
  } catch (e) {
    if (!(e instanceof Deno.errors.NotFound)) throw e;
  }
  await writeFileAtomic(o.outPath, formatMetricsCsv([...kept, ...rows]));
  log(`wrote ${rows.length} rows for ${label} to ${o.outPath}`);
  return rows;
}

/** Parses the command line; defaults to the decision's option and key-risk variant. */
export async function main(argv: string[]): Promise<void> {
  const { values } = parseArgs({
    args: argv,
    options: {
      preset: { type: "string", default: Deno.env.get("COURSE_PRESET") ?? "course" },
      option: { type: "string" },
      variant: { type: "string" },
      work: { type: "string" },
      backend: { type: "string" },
    },
  });
  const preset = values.preset!;
  const dir = resultsDir(preset, ".");
  const run = JSON.parse(await Deno.readTextFile(`${dir}/run.json`)) as RunInfo;
  let option = values.option as RetrofitId | undefined;
  let variant = values.variant as MitigationVariantId | undefined;
  if (!option || !variant) {
    const d = decide(summarizeRows(await readMetrics(`${dir}/metrics.csv`)), { preset });
    console.log(d.sentence);
    console.log(d.risk.sentence);
    option ??= d.recommended as RetrofitId;
    const fallback = Object.values(MITIGATIONS)[0].id;
    variant ??= d.risk.variant ?? fallback;
  }
  if (!RETROFIT_IDS.includes(option)) {
    throw new RangeError(`--option must be one of ${RETROFIT_IDS.join(", ")}; got "${option}"`);
  }
  const choice = await initBackend(
    values.backend ? { backend: values.backend as "wasm" | "cpu" | "webgpu" } : {},
  );
  console.log(`backend ${choice.backend}; mitigating ${option} with ${variant}`);
  await runMitigation({
    run,
    option,
    variant,
    workDir: values.work ?? `build/mitigation/${preset}`,
    outPath: `${dir}/mitigation.csv`,
    commit: await gitCommit(),
    command: `deno task mitigate ${argv.join(" ")}`.trim(),
  });
}

if (import.meta.main) await main(Deno.args);
