/**
 * The retrofit results as one tidy table, its loader and its summary. This schema is a contract:
 * the decision notebook (09_decision) codes against it, so it changes only by adding metrics.
 *
 * ## `assets/results/<preset>/metrics.csv`
 * Columns, exactly and in this order: `option,seed,step,metric,setting,value,n,commit,command`.
 * One row per option x seed x metric x setting x evaluation step.
 * - `option`: `base` (the pretrained model unconverted, step 0) or a retrofit id
 *   (`rope`, `pi`, `ntk`, `yarn`, `alibi`, `t5`; see src/retrofit/registry.ts).
 * - `seed`: fine-tune seed (integer; `base` rows use 0).
 * - `step`: fine-tune steps done when measured (0 = converted, not fine-tuned).
 * - `metric` (see {@link METRICS}):
 *   `near_bpb` (bits/byte of positions 1..L0/4 of L0-long held-out windows; lower is better),
 *   `near_passkey_acc` (passkey accuracy, offsets <= L0/4, in L0-long prompts),
 *   `long_passkey_acc`, `long_multikey_acc` (accuracy on the grid context x needle depth),
 *   `bpb_by_length` (held-out bits/byte of whole windows of length ctx),
 *   `new_params` (learned parameters the conversion adds),
 *   `latency_ratio` (forward time per token at 8 x L0 / the base model's, measured side by side),
 *   `steps_to_threshold` (first evaluated step at which `long_retrieval_acc` reaches the
 *   threshold; empty value = never reached within the budget: censored, not dropped),
 *   and the band metrics of the evidence protocol (src/eval/long_context.ts):
 *   `near_retrieval_acc`, `near_retrieval_heldout_acc` (passkeys at offsets up to L0/4, training
 *   and held-out wordings), `long_retrieval_acc`, `long_retrieval_heldout_acc` (offsets in
 *   [2.5 L0, 7.5 L0] inside 8 x L0 prompts), `long_multikey_band_acc`, and
 *   `near_retrieval_heldout_tail_acc`, `long_retrieval_heldout_tail_acc` (held-out wordings, the
 *   key's last 4 digits with the first given: the key is the only digit string in the prompt, so
 *   this measures reaching back and copying it, not understanding which key was asked for).
 *   Older results (before the band metrics) hold `near_passkey_acc` and `long_passkey_acc` as
 *   constraint metrics; `long_passkey_acc` is now the figure grid only.
 * - `setting`: `key=value` pairs joined by `;`, e.g. `ctx=2048;depth=0.5`, `ctx=64;offset<=16`,
 *   `ctx=1024`, `threshold=0.5`, or `` (empty) when the metric has no setting.
 * - `value`: a number (empty only for an unreached `steps_to_threshold`).
 * - `n`: the samples behind the value (examples for accuracies, bytes for bpb, timing repeats for
 *   latency, 1 for counts).
 * - `commit`, `command`: `git rev-parse HEAD` and the command line that produced the row.
 *
 * ## `assets/results/<preset>/samples.csv` (what the paired statistics resample)
 * Columns {@link SAMPLE_COLUMNS}: one row per retrieval example (`value` 1 or 0, its `offset` from
 * key to first answer byte and its `wording` id), per bpb window (`value` in bits/byte) and per
 * latency round (`value` = that round's ratio). `sample` is the example's index: the same index is
 * the same example for every option, seed and step, so comparisons are paired. Step 0 (a
 * conversion before any training) does not depend on the seed and appears once, under seed 0. `run.json` beside them records the budget,
 * the evaluation plan, the threshold, the base checkpoint, and whether the run is complete.
 *
 * ## `summarize(df)`
 * A polars DataFrame with columns `option, metric, setting, step, mean, ci_low, ci_high, seeds,
 * missing, n`: for each option and metric at that option's final step (the largest `step` the
 * option has for the metric), the mean over seeds of the per-seed value (pooled over settings as
 * their plain mean unless `bySetting`), and a percentile-bootstrap 95% CI that resamples seeds and,
 * for accuracies (`*_acc`, whose value is k/n), the n Bernoulli samples inside every resampled seed
 * and setting. Continuous metrics resample seeds only. `setting` is `*` when pooled. `missing`
 * counts seeds whose value is empty (unreached thresholds); `mean` is over the others.
 *
 * @example
 * ```ts
 * import { readMetrics, summarizeRows } from "./results.ts";
 * const rows = await readMetrics("assets/results/tiny/metrics.csv");
 * const table = summarizeRows(rows); // one row per option x metric
 * // The same as polars DataFrames: loadMetrics / summarize in ./results_frame.ts.
 * ```
 * @module
 */
import type pl from "nodejs-polars";
import { writeFileAtomic } from "../util/atomic.ts";
import { Rng } from "../data/rng.ts";
import { optionRank } from "../retrofit/registry.ts";

/** The columns of metrics.csv, in order. */
export const METRIC_COLUMNS = [
  "option",
  "seed",
  "step",
  "metric",
  "setting",
  "value",
  "n",
  "commit",
  "command",
] as const;

/** The metric names metrics.csv may hold. */
export const METRICS = [
  "near_bpb",
  "near_passkey_acc",
  "long_passkey_acc",
  "long_multikey_acc",
  "bpb_by_length",
  "new_params",
  "latency_ratio",
  "steps_to_threshold",
  // Added with the evidence protocol (the schema only grows): the case's own bands.
  "near_retrieval_acc",
  "near_retrieval_heldout_acc",
  "long_retrieval_acc",
  "long_retrieval_heldout_acc",
  "long_multikey_band_acc",
  "near_retrieval_heldout_tail_acc",
  "long_retrieval_heldout_tail_acc",
] as const;

/** The columns of samples.csv, in order. */
export const SAMPLE_COLUMNS = [
  "option",
  "seed",
  "step",
  "metric",
  "setting",
  "sample",
  "value",
  "offset",
  "wording",
] as const;

/** One row of samples.csv (`offset` null and `wording` "" where they do not apply). */
export interface SampleRow {
  option: string;
  seed: number;
  step: number;
  metric: MetricName;
  setting: string;
  sample: number;
  value: number;
  offset: number | null;
  wording: string;
}

/** samples.csv text for rows. */
export function formatSamplesCsv(rows: readonly SampleRow[]): string {
  return csvText(SAMPLE_COLUMNS, rows, (r) => [
    r.option,
    String(r.seed),
    String(r.step),
    r.metric,
    r.setting,
    String(r.sample),
    String(r.value),
    r.offset === null ? "" : String(r.offset),
    r.wording,
  ]);
}

/** The data rows of a results CSV (blank lines dropped); throws unless its header is `columns`. */
function csvRecords(text: string, file: string, columns: readonly string[]): string[][] {
  const [header, ...records] = parseCsv(text).filter((r) => r.length > 1 || r[0] !== "");
  if (!header || header.join(",") !== columns.join(",")) {
    throw new TypeError(
      `${file} header must be "${columns.join(",")}"; got "${header?.join(",")}"`,
    );
  }
  return records;
}

/** Throws unless data row `i` (0-based) of `file` has one field per column. */
function checkWidth(f: string[], i: number, file: string, columns: readonly string[]): void {
  if (f.length !== columns.length) {
    throw new TypeError(`${file} row ${i + 2} has ${f.length} fields; expected ${columns.length}`);
  }
}

/** Parses samples.csv text; throws TypeError naming the problem for a bad header or row. */
export function parseSamplesCsv(text: string): SampleRow[] {
  return csvRecords(text, "samples.csv", SAMPLE_COLUMNS).map((f, i) => {
    checkWidth(f, i, "samples.csv", SAMPLE_COLUMNS);
    return {
      option: f[0],
      seed: Number(f[1]),
      step: Number(f[2]),
      metric: f[3] as MetricName,
      setting: f[4],
      sample: Number(f[5]),
      value: Number(f[6]),
      offset: f[7] === "" ? null : Number(f[7]),
      wording: f[8],
    };
  });
}

/** Reads a samples.csv as plain rows. */
export async function readSamples(path: string): Promise<SampleRow[]> {
  return parseSamplesCsv(await Deno.readTextFile(path));
}

/** One metric name. */
export type MetricName = typeof METRICS[number];

/** One row of metrics.csv (`value` null = empty cell). */
export interface MetricRow {
  option: string;
  seed: number;
  step: number;
  metric: MetricName;
  setting: string;
  value: number | null;
  n: number;
  commit: string;
  command: string;
}

/** Folder of a preset's results. */
export function resultsDir(preset: string, root = defaultRoot()): string {
  return `${root}/assets/results/${preset}`;
}

function defaultRoot(): string {
  return new URL("../..", import.meta.url).pathname.replace(/\/$/, "");
}

function csvField(v: string): string {
  return /[",\n\r]/.test(v) ? `"${v.replaceAll('"', '""')}"` : v;
}

/** CSV text: the header, then one quoted-as-needed line per row. */
function csvText<T>(
  header: readonly string[],
  rows: readonly T[],
  fields: (r: T) => string[],
): string {
  const lines = [header.join(",")];
  for (const r of rows) lines.push(fields(r).map(csvField).join(","));
  return lines.join("\n") + "\n";
}

/** metrics.csv text for rows (header first; numbers written exactly). */
export function formatMetricsCsv(rows: readonly MetricRow[]): string {
  return csvText(METRIC_COLUMNS, rows, (r) => [
    r.option,
    String(r.seed),
    String(r.step),
    r.metric,
    r.setting,
    r.value === null || !Number.isFinite(r.value) ? "" : String(r.value),
    String(r.n),
    r.commit,
    r.command,
  ]);
}

/** Splits CSV text into records (RFC 4180 quoting). */
export function parseCsv(text: string): string[][] {
  const out: string[][] = [];
  let row: string[] = [], field = "", quoted = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (quoted) {
      if (c === '"' && text[i + 1] === '"') field += '"', i++;
      else if (c === '"') quoted = false;
      else field += c;
    } else if (c === '"') quoted = true;
    else if (c === ",") row.push(field), field = "";
    else if (c === "\n" || c === "\r") {
      if (c === "\r" && text[i + 1] === "\n") i++;
      row.push(field), out.push(row), row = [], field = "";
    } else field += c;
  }
  if (field !== "" || row.length) row.push(field), out.push(row);
  return out;
}

/** Parses metrics.csv text; throws TypeError naming the problem for a bad header or row. */
export function parseMetricsCsv(text: string): MetricRow[] {
  return csvRecords(text, "metrics.csv", METRIC_COLUMNS).map((f, i) => {
    checkWidth(f, i, "metrics.csv", METRIC_COLUMNS);
    const metric = f[3] as MetricName;
    if (!METRICS.includes(metric)) {
      throw new TypeError(
        `metrics.csv row ${i + 2}: metric must be one of ${METRICS}; got ${f[3]}`,
      );
    }
    return {
      option: f[0],
      seed: Number(f[1]),
      step: Number(f[2]),
      metric,
      setting: f[4],
      value: f[5] === "" ? null : Number(f[5]),
      n: Number(f[6]),
      commit: f[7],
      command: f[8],
    };
  });
}

/** Reads a metrics.csv (or mitigation.csv) as plain rows; no native add-on involved. */
export async function readMetrics(path: string): Promise<MetricRow[]> {
  return parseMetricsCsv(await Deno.readTextFile(path));
}

/** Writes rows as metrics.csv atomically. */
export async function writeMetrics(path: string, rows: readonly MetricRow[]): Promise<void> {
  await writeFileAtomic(path, formatMetricsCsv(rows));
}

/** Parses a setting string `a=1;b=x` into a record (values kept as strings). */
export function parseSetting(setting: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const part of setting.split(";").filter((p) => p)) {
    const m = /^([^=<>]+)(<=|>=|=)(.*)$/.exec(part);
    if (m) out[m[1]] = m[3];
  }
  return out;
}

/** Options of {@link summarize}. */
export interface SummarizeOptions {
  /** Keep one row per setting instead of pooling settings (default false). */
  bySetting?: boolean;
  /** Bootstrap resamples (default 2000). */
  resamples?: number;
  /** RNG seed of the bootstrap (default 0: the summary is deterministic). */
  seed?: number;
}

/** One row of the summary. */
export interface SummaryRow {
  option: string;
  metric: string;
  setting: string;
  step: number;
  mean: number | null;
  ci_low: number | null;
  ci_high: number | null;
  seeds: number;
  missing: number;
  n: number;
}

/** Binomial(n, p) draw (n small enough for a loop; normal approximation above 2,000). */
function binomial(n: number, p: number, rng: Rng): number {
  if (n <= 2000) {
    let k = 0;
    for (let i = 0; i < n; i++) if (rng.next() < p) k++;
    return k;
  }
  const k = Math.round(n * p + rng.normal() * Math.sqrt(n * p * (1 - p)));
  return Math.min(n, Math.max(0, k));
}

function quantile(sorted: number[], q: number): number {
  const pos = (sorted.length - 1) * q;
  const lo = Math.floor(pos), hi = Math.ceil(pos);
  return sorted[lo] + (sorted[hi] - sorted[lo]) * (pos - lo);
}

/** Summary rows (plain objects) behind {@link summarize}. */
export function summarizeRows(
  table: pl.DataFrame | readonly MetricRow[],
  opts: SummarizeOptions = {},
): SummaryRow[] {
  const rows = Array.isArray(table)
    ? table as readonly MetricRow[]
    : (table as pl.DataFrame).toRecords() as unknown as MetricRow[];
  const resamples = opts.resamples ?? 2000;
  const rng = new Rng(opts.seed ?? 0);
  // Final step per (option, metric).
  const finalStep = new Map<string, number>();
  for (const r of rows) {
    const k = `${r.option}\u0000${r.metric}`;
    finalStep.set(k, Math.max(finalStep.get(k) ?? -Infinity, Number(r.step)));
  }
  // Group: (option, metric, setting-or-*) -> seed -> [{value, n}] over settings.
  const groups = new Map<string, Map<number, { value: number | null; n: number }[]>>();
  for (const r of rows) {
    if (Number(r.step) !== finalStep.get(`${r.option}\u0000${r.metric}`)) continue;
    const setting = opts.bySetting ? r.setting : "*";
    const k = [r.option, r.metric, setting].join("\u0000");
    const bySeed = groups.get(k) ?? new Map();
    groups.set(k, bySeed);
    const list = bySeed.get(Number(r.seed)) ?? [];
    bySeed.set(Number(r.seed), list);
    list.push({ value: r.value === null ? null : Number(r.value), n: Number(r.n) });
  }
  const out: SummaryRow[] = [];
  for (const [k, bySeed] of groups) {
    const [option, metric, setting] = k.split("\u0000");
    const isAcc = metric.endsWith("_acc");
    const seedsAll = [...bySeed.values()];
    const seedsOk = seedsAll.filter((l) => l.every((x) => x.value !== null));
    const seedMean = (l: { value: number | null; n: number }[]) =>
      l.reduce((s, x) => s + (x.value as number), 0) / l.length;
    const n = seedsOk.reduce((s, l) => s + l.reduce((a, x) => a + x.n, 0), 0);
    const base = {
      option,
      metric,
      setting,
      step: finalStep.get(`${option}\u0000${metric}`)!,
      seeds: seedsOk.length,
      missing: seedsAll.length - seedsOk.length,
      n,
    };
    if (seedsOk.length === 0) {
      out.push({ ...base, mean: null, ci_low: null, ci_high: null });
      continue;
    }
    const mean = seedsOk.reduce((s, l) => s + seedMean(l), 0) / seedsOk.length;
    const boots: number[] = [];
    for (let b = 0; b < resamples; b++) {
      let s = 0;
      for (let i = 0; i < seedsOk.length; i++) {
        const l = seedsOk[rng.int(seedsOk.length)];
        if (isAcc) {
          s += l.reduce(
            (a, x) => a + (x.n > 0 ? binomial(x.n, x.value as number, rng) / x.n : 0),
            0,
          ) / l.length;
        } else s += seedMean(l);
      }
      boots.push(s / seedsOk.length);
    }
    boots.sort((a, b) => a - b);
    out.push({ ...base, mean, ci_low: quantile(boots, 0.025), ci_high: quantile(boots, 0.975) });
  }
  out.sort((a, b) =>
    optionRank(a.option) - optionRank(b.option) || a.option.localeCompare(b.option) ||
    METRICS.indexOf(a.metric as MetricName) - METRICS.indexOf(b.metric as MetricName) ||
    a.setting.localeCompare(b.setting, undefined, { numeric: true })
  );
  return out;
}
