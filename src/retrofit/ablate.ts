/**
 * `deno task ablate --preset <p>`: the ablations of issue #13 through the retrofit pipeline
 * (`run.ts`), each in its own results folder so no ablation row enters the decision:
 *
 * 1. `<out>/` — `pi_s2`, `pi_s4` (plus the `pi` option, s = 8, as the third point), `yarn_matched`
 *    (beside `yarn`, HF's defaults) and `ntk_dynamic` from the pretrained base: step 0 (conversion
 *    only: dynamic NTK there is the zero-training baseline) and the fine-tune budget curve;
 * 2. `<out>/ntk_ft_dynamic/` — the fine-tuned `ntk` model (`--ntk-checkpoint`, default the shipped
 *    `assets/checkpoints/<preset>/retrofits/ntk.safetensors`) evaluated as it is (its `base` row)
 *    and with its scaling switched to dynamic NTK (`step0:ntk_dynamic`), paired on the same
 *    examples. Skipped, with a message, when that checkpoint does not exist yet.
 *
 * Flags not listed here (`--seeds`, `--steps`, `--eval-at`, `--jobs`, `--land`, ...) pass through
 * to `deno task retrofit`; `--out` defaults to `assets/results/<preset>_ablations`.
 *
 * `--reuse <results dir>` (default: the main experiment, `assets/results/<preset>`) copies the
 * records the ablations are read against (base, and `pi`, `yarn`, `ntk` at step 0 and for the
 * requested seeds) instead of recomputing them, when that experiment used the same base, budget
 * and evaluation plan (checked; refused otherwise). Copies keep their own commit and command, so
 * the tables say which run made each row. `--reuse none` recomputes everything.
 *
 * @example
 * ```sh
 * deno task ablate --preset tiny --seeds 0 --steps 4 --out /tmp/abl --allow-dirty
 * deno task ablate --preset course --seeds 0,1,2 --jobs 2
 * ```
 * @module
 */
import { main as retrofitMain } from "./run.ts";
import { ABLATION_IDS } from "./registry.ts";
import { exists, readJson } from "../util/files.ts";
import { splitOwnFlags } from "../util/cli.ts";
import { evaluationPlan } from "../eval/long_context.ts";
import { DEFAULT_SEEDS, FINETUNE_DEFAULTS } from "./run.ts";
import { RetrofitWorkspace } from "./workspace.ts";
import { writeFileAtomic } from "../util/atomic.ts";

/** The options stage 1 runs: the ablations plus the options they are read against. */
export const ABLATION_OPTIONS = ["pi", ...ABLATION_IDS, "yarn", "ntk"] as const;

/** The two retrofit command lines `ablate` runs (stage 2 only when its checkpoint exists). */
export function ablationCommands(
  argv: readonly string[],
  o: { preset: string; out: string; ntkCheckpoint: string; ntkExists: boolean },
): { stage: string; argv: string[] }[] {
  const pass = [...argv];
  const stages = [{
    stage: "ablations from the base",
    argv: [...pass, "--preset", o.preset, "--options", ABLATION_OPTIONS.join(","), "--out", o.out],
  }];
  if (o.ntkExists) {
    const ft = [...pass.filter((_, i) => !isSeedsFlag(pass, i)), "--seeds", "0"];
    for (const task of ["base", "step0:ntk_dynamic"]) {
      stages.push({
        stage: `dynamic NTK on the fine-tuned ntk model (${task})`,
        argv: [
          ...ft,
          "--preset",
          o.preset,
          "--base",
          o.ntkCheckpoint,
          "--options",
          "ntk_dynamic",
          "--task",
          task,
          "--out",
          `${o.out}/ntk_ft_dynamic`,
        ],
      });
    }
  }
  return stages;
}

// --seeds and its value are replaced in stage 2 (evaluation only: no seed to vary).
function isSeedsFlag(argv: readonly string[], i: number): boolean {
  return argv[i] === "--seeds" || argv[i - 1] === "--seeds" || argv[i].startsWith("--seeds=");
}

/** Parses the flags this command owns and runs the stages in order. */
export async function main(argv: string[]): Promise<void> {
  const { own: values, rest: pass } = splitOwnFlags(argv, [
    "preset",
    "out",
    "ntk-checkpoint",
    "reuse",
  ]);
  const preset = values.preset ?? Deno.env.get("COURSE_PRESET") ?? "course";
  const out = String(values.out ?? `assets/results/${preset}_ablations`);
  const ntkCheckpoint = String(
    values["ntk-checkpoint"] ?? `assets/checkpoints/${preset}/retrofits/ntk.safetensors`,
  );
  const reuse = String(values.reuse ?? `assets/results/${preset}`);
  if (reuse !== "none") await reuseRecords(reuse, out, preset, pass);
  const [first] = ablationCommands(pass, { preset, out, ntkCheckpoint, ntkExists: false });
  console.log(`ablate: ${first.stage}: deno task retrofit ${first.argv.join(" ")}`);
  await retrofitMain(first.argv);
  // Checked after stage 1, which may itself have shipped the ntk model (its seed 0).
  const ntkExists = await exists(ntkCheckpoint);
  const rest = ablationCommands(pass, { preset, out, ntkCheckpoint, ntkExists }).slice(1);
  for (const s of rest) {
    console.log(`ablate: ${s.stage}: deno task retrofit ${s.argv.join(" ")}`);
    await retrofitMain(s.argv);
  }
  if (!ntkExists) {
    console.log(
      `ablate: ${ntkCheckpoint} does not exist yet: dynamic NTK on the fine-tuned ntk model ` +
        "is skipped (run `deno task retrofit` first, or pass --ntk-checkpoint)",
    );
  }
}

/** The options whose records an ablation folder may take from the main experiment. */
export const REUSED_OPTIONS = ["pi", "yarn", "ntk"] as const;

/** Flags that change what a record measures: with any of them, nothing is reused. */
const CHANGING_FLAGS = ["--steps", "--eval-at", "--batch", "--lr", "--base", "--mitigate"];

/**
 * Copies the base record and the `pi`/`yarn`/`ntk` step-0 and seed records from the experiment
 * in `from` into `out` (only those `out` lacks), after checking that `from` used this preset's
 * base checkpoint, budget and evaluation plan.
 */
export async function reuseRecords(
  from: string,
  out: string,
  preset: string,
  pass: readonly string[],
): Promise<string[]> {
  const changing = pass.find((a) => CHANGING_FLAGS.some((f) => a === f || a.startsWith(`${f}=`)));
  if (changing) {
    console.log(`ablate: ${changing} changes the experiment, so no record is reused from ${from}`);
    return [];
  }
  const run = await readJson<{ budget?: unknown; plan?: unknown; base?: string }>(
    `${from}/run.json`,
  ) ?? await readJson(`${from}/run.partial.json`);
  if (!run) throw new Error(`--reuse ${from}: no run.json or run.partial.json there`);
  // run.json stores the budget with its threshold; the threshold does not change a record.
  const withoutThreshold = (b: unknown) => {
    const { threshold: _, ...rest } = (b ?? {}) as Record<string, unknown>;
    return rest;
  };
  const same = (a: unknown, b: unknown) => JSON.stringify(a) === JSON.stringify(b);
  if (
    !same(run.plan, evaluationPlan(preset)) ||
    !same(withoutThreshold(run.budget), withoutThreshold(FINETUNE_DEFAULTS[preset]))
  ) {
    throw new Error(
      `--reuse ${from}: that experiment's budget or evaluation plan differs from the ${preset} ` +
        "defaults the ablations use; pass --reuse none to recompute its rows",
    );
  }
  const src = new RetrofitWorkspace(preset, { resultsDir: from });
  const dst = new RetrofitWorkspace(preset, { resultsDir: out });
  const seeds = seedList(pass);
  const pairs: [string, string][] = [
    [src.basePath(), dst.basePath()],
    [`${src.runsDir}/base.sha256`, `${dst.runsDir}/base.sha256`],
  ];
  for (const o of REUSED_OPTIONS) {
    pairs.push([src.step0Path(o), dst.step0Path(o)]);
    for (const k of seeds) pairs.push([src.chunkPath(o, k), dst.chunkPath(o, k)]);
  }
  const copied: string[] = [];
  for (const [a, b] of pairs) {
    if (!(await exists(a)) || (await exists(b))) continue;
    await writeFileAtomic(b, await Deno.readFile(a));
    copied.push(b);
  }
  console.log(`ablate: reused ${copied.length} records from ${from}`);
  return copied;
}

// The seeds the retrofit will run (its default when --seeds is not passed).
function seedList(pass: readonly string[]): number[] {
  const i = pass.findIndex((a) => a === "--seeds" || a.startsWith("--seeds="));
  const v = i < 0 ? DEFAULT_SEEDS : pass[i].includes("=") ? pass[i].split("=")[1] : pass[i + 1];
  return v.split(",").map(Number);
}

if (import.meta.main) await main(Deno.args);
