/**
 * Which results the decision notebook reads: `COURSE_RESULTS_DIR` when set (tests point it at a
 * synthetic table), else the `course` results when they exist, else `tiny`. Returns the metrics,
 * the mitigation rows (if measured), the run description and the commit(s) and command(s) that
 * produced them, so the notebook can say what it shows.
 *
 * @example
 * ```ts
 * import { loadDecisionInputs } from "./inputs.ts";
 * const inp = await loadDecisionInputs();
 * inp.preset; // "course" or "tiny"
 * ```
 * @module
 */
import { exists } from "../util/files.ts";
import { type MetricRow, readMetrics, resultsDir } from "../eval/results.ts";

/** What {@link loadDecisionInputs} returns. */
export interface DecisionInputs {
  preset: string;
  dir: string;
  /** Why this folder: `COURSE_RESULTS_DIR`, or the preset chosen as best available. */
  source: string;
  /** metrics.csv as plain rows (summarizeRows / decide take them; no native add-on needed). */
  metrics: MetricRow[];
  mitigation: MetricRow[] | null;
  run: Record<string, unknown> | null;
  commits: string[];
  commands: string[];
}

/** Loads the best available results (see the module note). */
export async function loadDecisionInputs(
  opts: { dir?: string; presets?: readonly string[] } = {},
): Promise<DecisionInputs> {
  let dir = opts.dir ?? Deno.env.get("COURSE_RESULTS_DIR");
  let source = dir ? `COURSE_RESULTS_DIR=${dir}` : "";
  if (!dir) {
    for (const p of opts.presets ?? ["course", "tiny"]) {
      if (await exists(`${resultsDir(p)}/metrics.csv`)) {
        dir = resultsDir(p);
        source = `best available results: ${p} preset`;
        break;
      }
    }
  }
  if (!dir || !(await exists(`${dir}/metrics.csv`))) {
    throw new TypeError(
      `no results: ${dir ?? "assets/results/{course,tiny}"}/metrics.csv is missing; run ` +
        "`deno task retrofit --preset tiny` first",
    );
  }
  const run = await exists(`${dir}/run.json`)
    ? JSON.parse(await Deno.readTextFile(`${dir}/run.json`)) as Record<string, unknown>
    : null;
  const preset = String(run?.preset ?? dir.replace(/\/$/, "").split("/").pop());
  const metrics = await readMetrics(`${dir}/metrics.csv`);
  const mitigation = await exists(`${dir}/mitigation.csv`)
    ? await readMetrics(`${dir}/mitigation.csv`)
    : null;
  const uniq = (col: "commit" | "command") => [...new Set(metrics.map((r) => r[col]))];
  return {
    preset,
    dir,
    source,
    metrics,
    mitigation,
    run,
    commits: uniq("commit"),
    commands: uniq("command"),
  };
}
