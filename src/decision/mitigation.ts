/**
 * `deno task mitigate --preset <p> [--option yarn] [--variant short_replay] [--jobs 2]`: measures
 * the recommended option's key-risk mitigation with its control. The variant (see
 * src/retrofit/mitigations.ts) differs from the plain fine-tune in one thing and runs for the same
 * seeds; the plain fine-tune's own chunks are the control, so the comparison is paired. Without
 * `--option`/`--variant` the decision on the committed results picks them.
 *
 * It is the retrofit pipeline with `--mitigate <option>+<variant>`: records land beside the main
 * experiment's (`runs/<option>+<variant>/seed<k>.json`) and the tables gain those rows.
 *
 * @example
 * ```sh
 * deno task mitigate --preset course --jobs 2 --land
 * ```
 * @module
 */
import { readMetrics, readSamples, resultsDir } from "../eval/results.ts";
import { choiceFlag, splitOwnFlags } from "../util/cli.ts";
import { MITIGATION_IDS } from "../retrofit/mitigations.ts";
import { RETROFIT_IDS } from "../retrofit/registry.ts";
import { main as retrofitMain } from "../retrofit/run.ts";
import { decideFromResults } from "./evidence.ts";

/** Parses the command line; defaults to the decision's option and key-risk variant. */
export async function main(argv: string[]): Promise<void> {
  const { own: values, rest } = splitOwnFlags(argv, ["preset", "option", "variant"]);
  const preset = values.preset ?? Deno.env.get("COURSE_PRESET") ?? "course";
  let { option, variant } = values;
  if (!option || !variant) {
    const dir = resultsDir(preset, ".");
    const d = decideFromResults(
      await readMetrics(`${dir}/metrics.csv`),
      await readSamples(`${dir}/samples.csv`),
      { preset },
    );
    console.log(d.sentence);
    console.log(d.risk.sentence);
    option ??= d.recommended;
    variant ??= d.risk.variant ?? MITIGATION_IDS[0];
  }
  const chosen = `${choiceFlag("option", option!, RETROFIT_IDS)}+${
    choiceFlag("variant", variant!, MITIGATION_IDS)
  }`;
  // Everything else (--seeds, --jobs, --land, ...) goes to the retrofit pipeline unchanged.
  // All options stay in the experiment, so the tables keep every row; only missing work runs.
  await retrofitMain(["--preset", preset, "--mitigate", chosen, ...rest]);
}

if (import.meta.main) await main(Deno.args);
