/**
 * The metrics tables as polars DataFrames, for notebooks and tools that show or query them.
 * Kept apart from results.ts because nodejs-polars is a native add-on: code that only needs the
 * numbers (the decision rule, the grader's sandbox) reads plain rows from results.ts instead.
 *
 * @example
 * ```ts
 * import { loadMetrics, summarize } from "./results_frame.ts";
 * const table = summarize(await loadMetrics("tiny")); // one row per option x metric
 * ```
 * @module
 */
import pl from "nodejs-polars";
import {
  type MetricRow,
  readMetrics,
  resultsDir,
  type SummarizeOptions,
  summarizeRows,
} from "./results.ts";

type Column = "text" | "int" | "float";
const DTYPE = { text: pl.Utf8, int: pl.Int64, float: pl.Float64 } as const;

/** A DataFrame with one typed column per key of `columns`, in that order (floats keep nulls). */
function frame<R extends object>(
  rows: readonly R[],
  columns: Record<string, Column>,
): pl.DataFrame {
  return pl.DataFrame(
    Object.fromEntries(
      Object.entries(columns).map(([name, type]) => [
        name,
        pl.Series(name, rows.map((r) => (r as Record<string, unknown>)[name]), DTYPE[type]),
      ]),
    ),
  );
}

/** Rows as a polars DataFrame with the metrics.csv columns (value Float64 with nulls). */
export function metricsFrame(rows: readonly MetricRow[]): pl.DataFrame {
  return frame(rows, {
    option: "text",
    seed: "int",
    step: "int",
    metric: "text",
    setting: "text",
    value: "float",
    n: "int",
    commit: "text",
    command: "text",
  });
}

/** Reads `assets/results/<preset>/metrics.csv` (or `opts.path`) as a polars DataFrame. */
export async function loadMetrics(
  preset: string,
  opts: { path?: string } = {},
): Promise<pl.DataFrame> {
  const path = opts.path ?? `${resultsDir(preset)}/metrics.csv`;
  return metricsFrame(await readMetrics(path));
}

/**
 * Per option and metric at the final step: mean over seeds and a bootstrap 95% CI over seeds and
 * samples (see the module note). Columns: option, metric, setting, step, mean, ci_low, ci_high,
 * seeds, missing, n.
 */
export function summarize(df: pl.DataFrame, opts: SummarizeOptions = {}): pl.DataFrame {
  return frame(summarizeRows(df, opts), {
    option: "text",
    metric: "text",
    setting: "text",
    step: "int",
    mean: "float",
    ci_low: "float",
    ci_high: "float",
    seeds: "int",
    missing: "int",
    n: "int",
  });
}
