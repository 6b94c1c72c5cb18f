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
 * @example
 * ```sh
 * deno task ablate --preset tiny --seeds 0 --steps 4 --out /tmp/abl --allow-dirty
 * deno task ablate --preset course --seeds 0,1,2 --jobs 2
 * ```
 * @module
 */
import { parseArgs } from "node:util";
import { main as retrofitMain } from "./run.ts";
import { ABLATION_IDS } from "./registry.ts";
import { exists } from "../util/files.ts";

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
  const { values, tokens } = parseArgs({
    args: argv,
    strict: false,
    tokens: true,
    options: {
      preset: { type: "string", default: Deno.env.get("COURSE_PRESET") ?? "course" },
      out: { type: "string" },
      "ntk-checkpoint": { type: "string" },
    },
  });
  const own = new Set(["preset", "out", "ntk-checkpoint"]);
  const pass: string[] = [];
  for (const t of tokens ?? []) {
    if (t.kind === "option" && !own.has(t.name)) {
      pass.push(t.rawName, ...(t.value !== undefined && !t.inlineValue ? [t.value] : []));
    } else if (t.kind === "positional") pass.push(t.value);
  }
  const preset = String(values.preset);
  const out = String(values.out ?? `assets/results/${preset}_ablations`);
  const ntkCheckpoint = String(
    values["ntk-checkpoint"] ?? `assets/checkpoints/${preset}/retrofits/ntk.safetensors`,
  );
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

if (import.meta.main) await main(Deno.args);
