/**
 * Paired statistics over the per-example samples (samples.csv): every option, seed and step is
 * scored on the same examples (or bpb windows, or latency rounds), and seed k feeds every option
 * the same fine-tune data. So an interval must resample both sources of noise, and a comparison
 * must resample them together:
 *
 * - **Crossed bootstrap.** Each replicate draws the seeds with replacement and, independently, the
 *   examples with replacement; the same draws apply to every option, so a difference is computed
 *   inside each replicate (paired) and no example counts twice. Resampling both factors is the
 *   conservative choice for a crossed design (it counts the seed x example interaction twice;
 *   Owen 2007, "The pigeonhole bootstrap"), so intervals err on the wide side.
 * - A model evaluated once (the base model, or a conversion at step 0, which does not depend on
 *   the seed) has one seed: only its examples are resampled.
 * - Estimate = mean over seeds of the mean over examples (for latency rounds, a geometric mean:
 *   see {@link metricScale}); 95% percentile intervals.
 *
 * @example
 * ```ts
 * import { pairedDifference, pairedSummary } from "./paired.ts";
 * const s = pairedSummary(samples, { metric: "long_retrieval_acc", step: 128 });
 * const d = pairedDifference(samples, { metric: "long_retrieval_acc", step: 128, a: "yarn", b: "rope" });
 * d.low > 0; // yarn ahead of rope beyond the noise
 * ```
 * @module
 */
import { Rng } from "../data/rng.ts";
import type { MetricName, SampleRow } from "./results.ts";

/** Bootstrap settings. */
export interface BootstrapOptions {
  /** Replicates (default 2000). */
  resamples?: number;
  /** RNG seed (default 0: results are deterministic). */
  seed?: number;
  /** Two-sided level (default 0.95). */
  level?: number;
}

/** Which cells to compare: a metric at a step, for options; `step` "final" = each option's last. */
export interface CellQuery extends BootstrapOptions {
  metric: MetricName;
  step: number | "final";
  /**
   * `log`: average the logs and exponentiate (a geometric mean), for ratios such as latency
   * rounds, where one slow round (a busy machine) must not dominate. Default: plain mean.
   */
  scale?: "linear" | "log";
}

/** The scale a metric is averaged on: latency ratios geometrically, everything else plainly. */
export function metricScale(metric: string): "linear" | "log" {
  return metric === "latency_ratio" ? "log" : "linear";
}

/** An estimate with its interval. */
export interface Interval {
  mean: number;
  low: number;
  high: number;
  /** Seeds and examples behind it. */
  seeds: number;
  examples: number;
}

/** One option's samples of one metric at one step: seed -> values by example index. */
interface Cell {
  option: string;
  step: number;
  seeds: Map<number, Float64Array>;
}

function cellsOf(samples: readonly SampleRow[], q: CellQuery): Map<string, Cell> {
  const rows = samples.filter((r) => r.metric === q.metric);
  const lastStep = new Map<string, number>();
  for (const r of rows) lastStep.set(r.option, Math.max(lastStep.get(r.option) ?? -1, r.step));
  const want = (r: SampleRow) => r.step === (q.step === "final" ? lastStep.get(r.option) : q.step);
  // An example is (setting, index): a grid metric numbers its examples per cell.
  const keyOf = (r: SampleRow) => `${r.setting}\u0000${r.sample}`;
  const keys = [...new Set(rows.filter(want).map(keyOf))].sort();
  const index = new Map(keys.map((k, i) => [k, i]));
  const cells = new Map<string, Cell>();
  const log = (q.scale ?? metricScale(q.metric)) === "log";
  for (const r of rows) {
    if (!want(r)) continue;
    const cell = cells.get(r.option) ?? { option: r.option, step: r.step, seeds: new Map() };
    cells.set(r.option, cell);
    let xs = cell.seeds.get(r.seed);
    if (!xs) {
      xs = new Float64Array(keys.length).fill(NaN);
      cell.seeds.set(r.seed, xs);
    }
    if (log && !(r.value > 0)) {
      throw new RangeError(`${q.metric}: a log-scale sample must be > 0; got ${r.value}`);
    }
    xs[index.get(keyOf(r))!] = log ? Math.log(r.value) : r.value;
  }
  return cells;
}

function requireCell(cells: Map<string, Cell>, option: string, q: CellQuery): Cell {
  const c = cells.get(option);
  if (!c) {
    throw new RangeError(
      `no ${q.metric} samples for option "${option}" at step ${q.step} (have: ${
        [...cells.keys()].join(", ") || "none"
      })`,
    );
  }
  return c;
}

/** Shared example count of cells (they must agree: the examples are the same for everyone). */
function exampleCount(cells: readonly Cell[], metric: string): number {
  const ns = new Set(cells.flatMap((c) => [...c.seeds.values()].map((x) => x.length)));
  if (ns.size !== 1) {
    throw new RangeError(
      `${metric}: options were scored on different example counts (${[...ns].join(", ")}); ` +
        "paired statistics need the same examples",
    );
  }
  const n = [...ns][0];
  for (const c of cells) {
    for (const [seed, xs] of c.seeds) {
      if (xs.some((x) => Number.isNaN(x))) {
        throw new RangeError(`${metric}: option ${c.option} seed ${seed} misses some examples`);
      }
    }
  }
  return n;
}

/** The estimate of a cell under example weights `w` (counts) and a seed draw. */
function estimate(cell: Cell, w: Float64Array | null, seedDraw: readonly number[] | null): number {
  const seeds = cell.seeds.size === 1 || !seedDraw
    ? [...cell.seeds.keys()]
    : seedDraw.filter((s) => cell.seeds.has(s));
  if (!seeds.length) return NaN;
  let total = 0;
  for (const s of seeds) {
    const xs = cell.seeds.get(s)!;
    let acc = 0, wsum = 0;
    for (let i = 0; i < xs.length; i++) {
      const wi = w ? w[i] : 1;
      acc += wi * xs[i];
      wsum += wi;
    }
    total += acc / wsum;
  }
  return total / seeds.length;
}

/**
 * Runs the crossed bootstrap over `cells`, calling `stat` on each option's replicate estimates;
 * returns the point value and the percentile interval of `stat`.
 */
function crossedBootstrap(
  cells: readonly Cell[],
  metric: string,
  stat: (est: number[]) => number,
  o: BootstrapOptions,
): Interval {
  const n = exampleCount(cells, metric);
  const seedSet = [...new Set(cells.flatMap((c) => c.seeds.size > 1 ? [...c.seeds.keys()] : []))];
  const point = stat(cells.map((c) => estimate(c, null, null)));
  const rng = new Rng(o.seed ?? 0);
  const reps: number[] = [];
  const w = new Float64Array(n);
  for (let b = 0; b < (o.resamples ?? 2000); b++) {
    w.fill(0);
    for (let i = 0; i < n; i++) w[rng.int(n)]++;
    const seedDraw = seedSet.map(() => seedSet[rng.int(seedSet.length)]);
    const v = stat(cells.map((c) => estimate(c, w, seedSet.length ? seedDraw : null)));
    if (Number.isFinite(v)) reps.push(v);
  }
  reps.sort((a, b) => a - b);
  const alpha = (1 - (o.level ?? 0.95)) / 2;
  return {
    mean: point,
    low: quantile(reps, alpha),
    high: quantile(reps, 1 - alpha),
    seeds: Math.max(...cells.map((c) => c.seeds.size)),
    examples: n,
  };
}

/** Per-option estimate and interval of one metric at one step (each option on its own). */
export function pairedSummary(
  samples: readonly SampleRow[],
  q: CellQuery,
): Map<string, Interval & { step: number }> {
  const cells = cellsOf(samples, q);
  const back = (q.scale ?? metricScale(q.metric)) === "log" ? Math.exp : (x: number) => x;
  const out = new Map<string, Interval & { step: number }>();
  for (const c of cells.values()) {
    out.set(c.option, { ...crossedBootstrap([c], q.metric, ([x]) => back(x), q), step: c.step });
  }
  return out;
}

/**
 * Paired difference `a - b` (or, with `relative`, `a / b - 1`) of one metric, the same seed and
 * example draws applied to both in every replicate.
 */
export function pairedDifference(
  samples: readonly SampleRow[],
  q: CellQuery & { a: string; b: string; relative?: boolean },
): Interval {
  const cells = cellsOf(samples, q);
  const pair = [requireCell(cells, q.a, q), requireCell(cells, q.b, q)];
  const back = (q.scale ?? metricScale(q.metric)) === "log" ? Math.exp : (x: number) => x;
  const stat = q.relative
    ? ([x, y]: number[]) => back(x) / back(y) - 1
    : ([x, y]: number[]) => back(x) - back(y);
  return crossedBootstrap(pair, q.metric, stat, q);
}

/**
 * A comparison sentence generated from a paired interval: "A is ahead of B by ..." only when the
 * interval excludes 0, otherwise "A and B cannot be told apart". `higherIsBetter` picks the
 * direction; `format` prints a value.
 *
 * @example
 * ```ts
 * compareSentence("YaRN", "RoPE", d, { quantity: "long-range retrieval", higherIsBetter: true,
 *   format: (x) => x.toFixed(2) });
 * ```
 */
export function compareSentence(
  a: string,
  b: string,
  d: Interval,
  o: { quantity: string; higherIsBetter: boolean; format: (x: number) => string; budget?: string },
): string {
  const ci = `${o.format(d.mean)}, 95% CI ${o.format(d.low)} to ${o.format(d.high)}`;
  const at = o.budget ? ` ${o.budget}` : "";
  if (d.low <= 0 && d.high >= 0) {
    return `On ${o.quantity}, ${a} and ${b} cannot be told apart${at} (difference ${ci}).`;
  }
  const aBetter = (d.mean > 0) === o.higherIsBetter;
  const [w, l] = aBetter ? [a, b] : [b, a];
  return `On ${o.quantity}, ${w} is ahead of ${l}${at} (difference ${a} - ${b} ${ci}).`;
}

function quantile(sorted: readonly number[], q: number): number {
  if (!sorted.length) return NaN;
  const pos = (sorted.length - 1) * q;
  const lo = Math.floor(pos), hi = Math.ceil(pos);
  return sorted[lo] + (sorted[hi] - sorted[lo]) * (pos - lo);
}
