/**
 * Paired statistics over the per-example samples (samples.csv): every option, seed and step is
 * scored on the same examples (or bpb windows, or latency rounds), and seed k feeds every option
 * the same fine-tune data. Two sources of noise cross: the fine-tune seeds and the examples.
 *
 * - **Two-way interval.** For the quantity of interest y[s][e] (a cell's values, or the paired
 *   differences of two cells on the same seed s and example e) the estimate is the mean over seeds
 *   of the mean over examples, and its variance is the seed part, var_s(mean_e y) / S, plus the
 *   example part, var_e(mean_s y) / E (a two-way random-effects decomposition: the seed part also
 *   carries the seed x example interaction). The interval is estimate +- t x SE with
 *   Welch-Satterthwaite degrees of freedom, so 5 seeds give a t with few degrees of freedom when
 *   fine-tune luck dominates, and about a normal one when the examples do. (A crossed percentile
 *   bootstrap, used before, under-covered by 10-15 points with 5 seeds and a real seed effect.)
 * - **Boundaries.** For 0/1 outcomes near 0 or 1 (fewer than 5 successes or failures per example
 *   count), the interval is widened to hold Wilson's score interval over the E examples (for a
 *   difference, Newcombe's hybrid score interval): a cell at 0/100 is not known to be exactly 0.
 * - **Single evaluations.** A cell at step 0 (the base model, a conversion before training) does
 *   not depend on the seed: it has examples only. A fine-tuned cell needs at least 2 seeds for an
 *   interval (with one, the interval is NaN: fine-tune luck is unmeasured); two fine-tuned cells
 *   are compared on their common seeds.
 * - Latency rounds are averaged on the log scale (a geometric mean), see {@link metricScale}.
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
import type { MetricName, SampleRow } from "./results.ts";

/** Interval settings (the two-way interval is analytic: no resampling, no randomness). */
export interface IntervalOptions {
  /** Two-sided level (default 0.95). */
  level?: number;
}

/** Which cells to compare: a metric at a step, for options; `step` "final" = each option's last. */
export interface CellQuery extends IntervalOptions {
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

/** A fine-tuned cell (step > 0) depends on the seed; a step-0 cell is one evaluation. */
function isSingle(c: Cell): boolean {
  return c.step === 0;
}

/** y[s][e] as rows (one per seed used), from one or two cells on shared seeds. */
function pairedValues(cells: readonly Cell[], f: (xs: number[]) => number): number[][] {
  const multi = cells.filter((c) => !isSingle(c));
  let seeds: number[];
  if (multi.length) {
    seeds = [...multi[0].seeds.keys()].filter((s) => multi.every((c) => c.seeds.has(s)));
  } else seeds = [[...cells[0].seeds.keys()][0]];
  const n = cells[0].seeds.values().next().value!.length;
  return seeds.map((s) => {
    const rows = cells.map((c) => isSingle(c) ? c.seeds.values().next().value! : c.seeds.get(s)!);
    return Array.from({ length: n }, (_, e) => f(rows.map((r) => r[e])));
  });
}

function mean(xs: ArrayLike<number>): number {
  let t = 0;
  for (let i = 0; i < xs.length; i++) t += xs[i];
  return t / xs.length;
}

function variance(xs: readonly number[]): number {
  const m = mean(xs);
  return xs.reduce((t, x) => t + (x - m) ** 2, 0) / Math.max(1, xs.length - 1);
}

/**
 * Student t quantile (upper `p`) for `df` degrees of freedom, fractional df included (the
 * Welch-Satterthwaite df is rarely whole): the Cornish-Fisher expansion from df >= 30, below that
 * bisection on the exact CDF (regularized incomplete beta), since the expansion and rounding df
 * to a table both give intervals too narrow at 1-3 df.
 */
export function tQuantile(p: number, df: number): number {
  const z = normalQuantile(p);
  if (!Number.isFinite(df) || df > 1e6) return z;
  const d = Math.max(df, 1);
  if (d >= 30) {
    const z3 = z ** 3, z5 = z ** 5, z7 = z ** 7, z9 = z ** 9;
    return z + (z3 + z) / (4 * d) + (5 * z5 + 16 * z3 + 3 * z) / (96 * d ** 2) +
      (3 * z7 + 19 * z5 + 17 * z3 - 15 * z) / (384 * d ** 3) +
      (79 * z9 + 776 * z7 + 1482 * z5 - 1920 * z3 - 945 * z) / (92160 * d ** 4);
  }
  // P(T <= t) for t >= 0 is 1 - I_{d/(d+t^2)}(d/2, 1/2) / 2; bisect on it (p > 0.5: t > 0).
  const upper = p >= 0.5 ? p : 1 - p;
  const cdf = (t: number) => 1 - 0.5 * incompleteBeta(d / (d + t * t), d / 2, 0.5);
  let lo = 0, hi = 1;
  while (cdf(hi) < upper) hi *= 2;
  for (let i = 0; i < 100 && hi - lo > 1e-12 * hi; i++) {
    const mid = (lo + hi) / 2;
    if (cdf(mid) < upper) lo = mid;
    else hi = mid;
  }
  const t = (lo + hi) / 2;
  return p >= 0.5 ? t : -t;
}

/** ln Gamma(x) for x > 0 (Lanczos, g = 7, 9 terms: relative error about 1e-15). */
function lnGamma(x: number): number {
  const g = [
    0.99999999999980993,
    676.5203681218851,
    -1259.1392167224028,
    771.32342877765313,
    -176.61502916214059,
    12.507343278686905,
    -0.13857109526572012,
    9.9843695780195716e-6,
    1.5056327351493116e-7,
  ];
  if (x < 0.5) return Math.log(Math.PI / Math.sin(Math.PI * x)) - lnGamma(1 - x);
  x -= 1;
  let a = g[0];
  const t = x + 7.5;
  for (let i = 1; i < 9; i++) a += g[i] / (x + i);
  return 0.5 * Math.log(2 * Math.PI) + (x + 0.5) * Math.log(t) - t + Math.log(a);
}

/** Regularized incomplete beta I_x(a, b) by Lentz's continued fraction. */
function incompleteBeta(x: number, a: number, b: number): number {
  if (x <= 0) return 0;
  if (x >= 1) return 1;
  const front = Math.exp(
    lnGamma(a + b) - lnGamma(a) - lnGamma(b) + a * Math.log(x) + b * Math.log(1 - x),
  );
  // The fraction converges fast for x < (a + 1) / (a + b + 2); use the symmetry otherwise.
  if (x > (a + 1) / (a + b + 2)) return 1 - incompleteBeta(1 - x, b, a);
  const tiny = 1e-300;
  let c = 1, dd = 1 - (a + b) * x / (a + 1);
  dd = 1 / (Math.abs(dd) < tiny ? tiny : dd);
  let h = dd;
  for (let m = 1; m <= 300; m++) {
    for (
      const num of [
        m * (b - m) * x / ((a + 2 * m - 1) * (a + 2 * m)),
        -(a + m) * (a + b + m) * x / ((a + 2 * m) * (a + 2 * m + 1)),
      ]
    ) {
      dd = 1 + num * dd;
      dd = 1 / (Math.abs(dd) < tiny ? tiny : dd);
      c = 1 + num / c;
      if (Math.abs(c) < tiny) c = tiny;
      h *= dd * c;
    }
    if (Math.abs(dd * c - 1) < 1e-15) break;
  }
  return front * h / a;
}

/** Standard normal quantile (Acklam's rational approximation, relative error < 1.2e-9). */
export function normalQuantile(p: number): number {
  if (!(p > 0 && p < 1)) throw new RangeError(`p must be in (0, 1); got ${p}`);
  const a = [
    -39.69683028665376,
    220.9460984245205,
    -275.9285104469687,
    138.357751867269,
    -30.66479806614716,
    2.506628277459239,
  ];
  const b = [
    -54.47609879822406,
    161.5858368580409,
    -155.6989798598866,
    66.80131188771972,
    -13.28068155288572,
  ];
  const c = [
    -0.007784894002430293,
    -0.3223964580411365,
    -2.400758277161838,
    -2.549732539343734,
    4.374664141464968,
    2.938163982698783,
  ];
  const d = [0.007784695709041462, 0.3224671290700398, 2.445134137142996, 3.754408661907416];
  const q = Math.min(p, 1 - p);
  let x: number;
  if (q < 0.02425) {
    const r = Math.sqrt(-2 * Math.log(q));
    x = (((((c[0] * r + c[1]) * r + c[2]) * r + c[3]) * r + c[4]) * r + c[5]) /
      ((((d[0] * r + d[1]) * r + d[2]) * r + d[3]) * r + 1);
  } else {
    const r = (q - 0.5) ** 2, u = q - 0.5;
    x = (((((a[0] * r + a[1]) * r + a[2]) * r + a[3]) * r + a[4]) * r + a[5]) * u /
      (((((b[0] * r + b[1]) * r + b[2]) * r + b[3]) * r + b[4]) * r + 1);
    return p < 0.5 ? x : -x;
  }
  return p < 0.5 ? x : -x;
}

/** Wilson's score interval for a proportion p of n at normal quantile z, clipped to [0, 1]. */
export function wilson(p: number, n: number, z: number): [number, number] {
  const den = 1 + z * z / n;
  const mid = (p + z * z / (2 * n)) / den;
  const half = (z / den) * Math.sqrt(p * (1 - p) / n + z * z / (4 * n * n));
  return [Math.max(0, mid - half), Math.min(1, mid + half)];
}

function isBinary(cells: readonly Cell[]): boolean {
  return cells.every((c) =>
    [...c.seeds.values()].every((xs) => xs.every((x) => x === 0 || x === 1))
  );
}

function nearBoundary(p: number, n: number): boolean {
  return p * n < 5 || (1 - p) * n < 5;
}

/**
 * The two-way interval of `y` (seeds x examples): estimate, SE from the seed and example parts,
 * Welch-Satterthwaite degrees of freedom. NaN bounds when a fine-tuned cell has a single seed.
 */
function twoWay(y: number[][], level: number, undefinedSeedPart: boolean): Interval {
  const S = y.length, E = y[0].length;
  const seedMeans = y.map(mean);
  const exampleMeans = Array.from({ length: E }, (_, e) => mean(y.map((r) => r[e])));
  const est = mean(seedMeans);
  if (undefinedSeedPart) return { mean: est, low: NaN, high: NaN, seeds: S, examples: E };
  const vs = S > 1 ? variance(seedMeans) / S : 0;
  const ve = E > 1 ? variance(exampleMeans) / E : 0;
  const se = Math.sqrt(vs + ve);
  const dfDen = (S > 1 ? vs * vs / (S - 1) : 0) + (E > 1 ? ve * ve / (E - 1) : 0);
  const df = dfDen > 0 ? (vs + ve) ** 2 / dfDen : Infinity;
  const t = tQuantile(1 - (1 - level) / 2, df);
  return { mean: est, low: est - t * se, high: est + t * se, seeds: S, examples: E };
}

/** Interval of one cell (back-transformed from the log scale when `log`). */
function cellInterval(c: Cell, metric: string, level: number, log: boolean): Interval {
  const E = exampleCount([c], metric);
  const single = isSingle(c);
  const i = twoWay(pairedValues([c], ([x]) => x), level, !single && c.seeds.size < 2);
  if (log) return { ...i, mean: Math.exp(i.mean), low: Math.exp(i.low), high: Math.exp(i.high) };
  if (isBinary([c]) && Number.isFinite(i.low)) {
    // An accuracy lies in [0, 1]; with few seeds t x SE can overshoot it.
    const out = { ...i, low: Math.max(0, i.low), high: Math.min(1, i.high) };
    if (nearBoundary(i.mean, E)) {
      const [wl, wh] = wilson(i.mean, E, normalQuantile(1 - (1 - level) / 2));
      return { ...out, low: Math.min(out.low, wl), high: Math.max(out.high, wh) };
    }
    return out;
  }
  return i;
}

/** Per-option estimate and interval of one metric at one step (each option on its own). */
export function pairedSummary(
  samples: readonly SampleRow[],
  q: CellQuery,
): Map<string, Interval & { step: number }> {
  const cells = cellsOf(samples, q);
  const log = (q.scale ?? metricScale(q.metric)) === "log";
  const out = new Map<string, Interval & { step: number }>();
  for (const c of cells.values()) {
    out.set(c.option, { ...cellInterval(c, q.metric, q.level ?? 0.95, log), step: c.step });
  }
  return out;
}

/**
 * Paired difference `a - b` of one metric, on the same examples and the common seeds. With
 * `relative`, `a / b - 1` (linearised: y = (a - r b) / mean(b), r = mean(a) / mean(b)). On the
 * log scale (latency) the difference is the ratio of geometric means minus 1. `bStep` takes `b`
 * at another step (e.g. 0 for the base model) while `a` is at `step`.
 */
export function pairedDifference(
  samples: readonly SampleRow[],
  q: CellQuery & { a: string; b: string; relative?: boolean; bStep?: number | "final" },
): Interval {
  const cellsA = cellsOf(samples, q);
  const cellsB = q.bStep === undefined ? cellsA : cellsOf(samples, { ...q, step: q.bStep });
  const A = requireCell(cellsA, q.a, q),
    B = requireCell(cellsB, q.b, { ...q, step: q.bStep ?? q.step });
  if (!isSingle(A) && !isSingle(B) && A.step !== B.step) {
    throw new RangeError(
      `${q.metric}: ${q.a} is at step ${A.step} and ${q.b} at step ${B.step}; compare fine-tunes ` +
        "at the same budget",
    );
  }
  const level = q.level ?? 0.95;
  const log = (q.scale ?? metricScale(q.metric)) === "log";
  const E = exampleCount([A, B], q.metric);
  const oneSeed = [A, B].some((c) => !isSingle(c) && c.seeds.size < 2) ||
    (!isSingle(A) && !isSingle(B) && [...A.seeds.keys()].filter((s) => B.seeds.has(s)).length < 2);
  let y: number[][];
  let shift = 0;
  if (q.relative && !log) {
    const ma = mean(pairedValues([A], ([x]) => x).map(mean));
    const mb = mean(pairedValues([B], ([x]) => x).map(mean));
    const r = ma / mb;
    y = pairedValues([A, B], ([a, b]) => (a - r * b) / mb);
    shift = r - 1; // the linearised values have mean ~0; the estimate is r - 1
  } else y = pairedValues([A, B], ([a, b]) => a - b);
  const i = twoWay(y, level, oneSeed);
  if (log) {
    const back = (x: number) => Math.exp(x) - 1;
    return { ...i, mean: back(i.mean), low: back(i.low), high: back(i.high) };
  }
  const out = { ...i, mean: i.mean + shift, low: i.low + shift, high: i.high + shift };
  if (!q.relative && isBinary([A, B]) && Number.isFinite(out.low)) {
    // A difference of accuracies lies in [-1, 1].
    out.low = Math.max(-1, out.low);
    out.high = Math.min(1, out.high);
    const pa = mean(pairedValues([A], ([x]) => x).map(mean));
    const pb = mean(pairedValues([B], ([x]) => x).map(mean));
    if (nearBoundary(pa, E) || nearBoundary(pb, E)) {
      // Newcombe's hybrid score interval from the two Wilson intervals (ignores the pairing: wider).
      const z = normalQuantile(1 - (1 - level) / 2);
      const [la, ua] = wilson(pa, E, z), [lb, ub] = wilson(pb, E, z);
      const d = pa - pb;
      out.low = Math.min(out.low, d - Math.sqrt((pa - la) ** 2 + (ub - pb) ** 2));
      out.high = Math.max(out.high, d + Math.sqrt((ua - pa) ** 2 + (pb - lb) ** 2));
    }
  }
  return out;
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
  const at = o.budget ? ` ${o.budget}` : "";
  if (!Number.isFinite(d.low) || !Number.isFinite(d.high)) {
    return `On ${o.quantity}, ${a} and ${b} cannot be compared yet${at}: a fine-tune with a ` +
      `single seed has no measure of fine-tune luck (difference ${
        o.format(d.mean)
      }, ${d.seeds} seed).`;
  }
  const ci = `${o.format(d.mean)}, 95% CI ${o.format(d.low)} to ${o.format(d.high)}`;
  if (d.low <= 0 && d.high >= 0) {
    return `On ${o.quantity}, ${a} and ${b} cannot be told apart${at} (difference ${ci}).`;
  }
  const aBetter = (d.mean > 0) === o.higherIsBetter;
  const [w, l] = aBetter ? [a, b] : [b, a];
  return `On ${o.quantity}, ${w} is ahead of ${l}${at} (difference ${a} - ${b} ${ci}).`;
}
