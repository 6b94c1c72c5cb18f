/**
 * What notebooks 08 and 09 say about the results, computed from the paired statistics
 * (src/eval/paired.ts) so that no comparison is typed in: which results folder is shown and how
 * complete it is, band intervals, budget curves on the examples every budget measured,
 * steps-to-threshold with censored seeds kept, latency checks against their bound, mitigation
 * effects against their control on the same seeds, and the risk sentence.
 *
 * Plain rows only (no native add-on), so the decision path also runs in the grader's sandbox.
 *
 * @example
 * ```ts
 * import { budgetCurves, loadEvidence } from "./report.ts";
 * const ev = await loadEvidence({ requested: "course" });
 * ev.note; // "course preset, partial: ..." or why it fell back to tiny
 * const curves = budgetCurves(ev.samples, "long_retrieval_acc", ["rope", "yarn"]);
 * ```
 * @module
 */
import { exists } from "../util/files.ts";
import {
  type MetricName,
  type MetricRow,
  parseSetting,
  readMetrics,
  readSamples,
  resultsDir,
  type SampleRow,
} from "../eval/results.ts";
import { compareSentence, type Interval, pairedDifference, pairedSummary } from "../eval/paired.ts";
import {
  bucketDistanceRanges,
  type BucketOptions,
  relativePositionBucket,
} from "../positions/t5.ts";
import { loadCheckpoint } from "../model/checkpoint.ts";
import { RETROFIT_IDS, RETROFITS, T5_TABLE, t5InitialTable } from "../retrofit/registry.ts";
import { type Constraint, DECISION_RULE, type DecisionRule } from "./rule.ts";

/** The results a notebook shows, with what they are and how complete. */
export interface EvidenceInputs {
  preset: string;
  dir: string;
  /** Why this folder (env var, or the preset ladder and what it skipped). */
  source: string;
  /** True when the tables are `*.partial.*` (records still missing). */
  partial: boolean;
  metrics: MetricRow[];
  samples: SampleRow[];
  run: Record<string, unknown> | null;
  /** Records run.json lists as missing (empty when complete). */
  missing: string[];
  commits: string[];
  commands: string[];
}

async function mtime(path: string): Promise<number> {
  return (await Deno.stat(path)).mtime?.getTime() ?? 0;
}

/** The tables of a folder: complete ones, or the partial ones when they are newer or alone. */
async function tablesOf(dir: string): Promise<{ suffix: string } | null> {
  const full = await exists(`${dir}/metrics.csv`) && await exists(`${dir}/samples.csv`);
  const part = await exists(`${dir}/metrics.partial.csv`) &&
    await exists(`${dir}/samples.partial.csv`);
  if (full && part) {
    return (await mtime(`${dir}/metrics.partial.csv`)) > (await mtime(`${dir}/metrics.csv`))
      ? { suffix: ".partial" }
      : { suffix: "" };
  }
  return full ? { suffix: "" } : part ? { suffix: ".partial" } : null;
}

const LADDER = ["full", "course", "tiny"];

/**
 * Loads the results to show: `dir` (or `COURSE_RESULTS_DIR`) when given, else the first preset
 * from `requested` down (full, course, tiny) that has metrics and samples, complete or partial.
 * Throws naming the folders tried when none has them.
 */
export async function loadEvidence(
  opts: { requested?: string; dir?: string } = {},
): Promise<EvidenceInputs> {
  const fixed = opts.dir ?? Deno.env.get("COURSE_RESULTS_DIR");
  const requested = opts.requested ?? "course";
  const tried: string[] = [];
  let dir: string | undefined, source = "", tables: { suffix: string } | null = null;
  if (fixed) {
    dir = fixed.replace(/\/$/, "");
    tables = await tablesOf(dir);
    source = `COURSE_RESULTS_DIR=${fixed}`;
    tried.push(dir);
  } else {
    const from = Math.max(0, LADDER.indexOf(requested));
    for (const p of LADDER.slice(from)) {
      const d = resultsDir(p);
      tried.push(d);
      tables = await tablesOf(d);
      if (tables) {
        dir = d;
        const skipped = LADDER.slice(from, LADDER.indexOf(p));
        source = skipped.length
          ? `requested ${requested}, but ${
            skipped.map((s) => `assets/results/${s}/`).join(" and ")
          } has no metrics yet: falling back to the ${p} preset`
          : `the ${p} preset's results`;
        break;
      }
    }
  }
  if (!dir || !tables) {
    throw new TypeError(
      `no results with samples: tried ${
        tried.join(", ")
      } (metrics.csv + samples.csv, or their .partial versions); run \`deno task retrofit\``,
    );
  }
  const s = tables.suffix;
  const runPath = `${dir}/run${s}.json`;
  const run = await exists(runPath)
    ? JSON.parse(await Deno.readTextFile(runPath)) as Record<string, unknown>
    : null;
  const metrics = await readMetrics(`${dir}/metrics${s}.csv`);
  const samples = await readSamples(`${dir}/samples${s}.csv`);
  const uniq = (col: "commit" | "command") => [...new Set(metrics.map((r) => r[col]))];
  return {
    preset: String(run?.preset ?? dir.split("/").pop()),
    dir,
    source,
    partial: s === ".partial",
    metrics,
    samples,
    run,
    missing: (run?.missing as string[] | undefined) ?? [],
    commits: uniq("commit"),
    commands: uniq("command"),
  };
}

/** Registry order first (base, rope, ..., t5), then variants after their option. */
export function optionOrder(a: string, b: string): number {
  const ORDER = ["base", ...RETROFIT_IDS] as string[];
  const key = (o: string) => {
    const [id, v] = o.split("+");
    const i = ORDER.indexOf(id);
    return [(i < 0 ? 99 : i) * 2 + (v ? 1 : 0), o] as const;
  };
  const [ka, kb] = [key(a), key(b)];
  return ka[0] - kb[0] || ka[1].localeCompare(kb[1]);
}

/** One option's coverage: the seeds fine-tuned so far, its budgets, whether step 0 is there. */
export interface Coverage {
  option: string;
  seeds: number[];
  budgets: number[];
  step0: boolean;
}

/** Which seeds and budgets each option has (from the samples of `metric`). */
export function coverage(
  samples: readonly SampleRow[],
  metric: MetricName = "near_bpb",
): Coverage[] {
  const by = new Map<string, { seeds: Set<number>; steps: Set<number> }>();
  for (const r of samples) {
    if (r.metric !== metric) continue;
    const c = by.get(r.option) ?? { seeds: new Set(), steps: new Set() };
    by.set(r.option, c);
    if (r.step > 0) c.seeds.add(r.seed);
    c.steps.add(r.step);
  }
  return [...by.keys()].sort(optionOrder).map((option) => {
    const c = by.get(option)!;
    return {
      option,
      seeds: [...c.seeds].sort((a, b) => a - b),
      budgets: [...c.steps].filter((s) => s > 0).sort((a, b) => a - b),
      step0: c.steps.has(0),
    };
  });
}

/** One sentence on what the results hold: complete, or partial with seeds per option and gaps. */
export function coverageSentence(ev: EvidenceInputs): string {
  const cov = coverage(ev.samples).filter((c) => c.option !== "base");
  const seeds = (ev.run?.seeds as number[] | undefined) ?? [];
  const per = cov.map((c) =>
    `\`${c.option}\` ${c.seeds.length}${seeds.length ? `/${seeds.length}` : ""}`
  )
    .join(", ");
  if (!ev.partial) return `Complete results: fine-tuned seeds per option ${per}.`;
  const missing = ev.missing.length
    ? ` Records still missing (${ev.missing.length}): ${ev.missing.join(", ")}.`
    : "";
  return `**Partial results** (the experiment is still running; every interval below is over ` +
    `the seeds that exist): fine-tuned seeds per option ${per}.${missing}`;
}

/** An option's interval on one metric at one step, as a plain row. */
export interface IntervalRow extends Interval {
  option: string;
  metric: MetricName;
  step: number;
}

/** Per-option intervals of `metrics` at each option's final budget (two-way interval, paired.ts). */
export function finalIntervals(
  samples: readonly SampleRow[],
  metrics: readonly MetricName[],
): IntervalRow[] {
  const out: IntervalRow[] = [];
  for (const metric of metrics) {
    if (!samples.some((r) => r.metric === metric)) continue;
    for (const [option, s] of pairedSummary(samples, { metric, step: "final" })) {
      out.push({ option, metric, ...s });
    }
  }
  return out.sort((a, b) => optionOrder(a.option, b.option));
}

/** The samples of `metric` restricted to the example indices every step measured. */
export function commonExamples(samples: readonly SampleRow[], metric: MetricName): SampleRow[] {
  const rows = samples.filter((r) => r.metric === metric);
  const count = new Map<string, number>();
  for (const r of rows) {
    const k = `${r.option}\u0000${r.seed}\u0000${r.step}`;
    count.set(k, Math.max(count.get(k) ?? 0, r.sample + 1));
  }
  const k = Math.min(...count.values());
  return rows.filter((r) => r.sample < k);
}

/** One point of a budget curve. */
export interface CurvePoint extends Interval {
  step: number;
}

/**
 * Budget curves of `metric`: per option, the estimate and interval at step 0 (the conversion,
 * evaluated once) and at every budget, on the examples every budget measured (a probe budget
 * reads only the first long-band examples), so the points of a curve are comparable.
 */
export function budgetCurves(
  samples: readonly SampleRow[],
  metric: MetricName,
  options: readonly string[],
): Map<string, CurvePoint[]> {
  const rows = commonExamples(samples, metric);
  const steps = [...new Set(rows.map((r) => r.step))].sort((a, b) => a - b);
  const out = new Map<string, CurvePoint[]>(options.map((o) => [o, []]));
  for (const step of steps) {
    for (const [option, s] of pairedSummary(rows, { metric, step })) {
      out.get(option)?.push({ ...s, step });
    }
  }
  return out;
}

/** Examples per budget point of {@link budgetCurves} (for the caption). */
export function curveExamples(samples: readonly SampleRow[], metric: MetricName): number {
  const rows = commonExamples(samples, metric);
  return new Set(rows.map((r) => `${r.setting}\u0000${r.sample}`)).size;
}

/** How the ranking at the shortest budget compares with the ranking at the longest. */
export interface RankingCheck {
  short: number;
  long: number;
  /** Pairs apart (interval excludes 0) at both budgets, in the same order. */
  kept: [string, string][];
  /** Pairs apart at both budgets, in opposite orders. */
  flipped: [string, string][];
  /** Pairs that cannot be told apart at one budget or both. */
  unresolved: [string, string][];
  sentence: string;
}

/**
 * Whether the ranking of `options` on `metric` at the shortest budget holds at the longest: each
 * pair's paired difference at both budgets (on the examples both measured).
 */
export function rankingAcrossBudgets(
  samples: readonly SampleRow[],
  metric: MetricName,
  options: readonly string[],
  o: { higherIsBetter: boolean; label: string },
): RankingCheck | null {
  const rows = commonExamples(samples, metric);
  const budgets = [...new Set(rows.filter((r) => r.step > 0).map((r) => r.step))].sort((a, b) =>
    a - b
  );
  if (budgets.length < 2) return null;
  const [short, long] = [budgets[0], budgets.at(-1)!];
  const have = (step: number) => new Set(rows.filter((r) => r.step === step).map((r) => r.option));
  const both = options.filter((x) => have(short).has(x) && have(long).has(x));
  const kept: [string, string][] = [], flipped: [string, string][] = [];
  const unresolved: [string, string][] = [];
  const sign = (d: Interval) => (d.low > 0 ? 1 : d.high < 0 ? -1 : 0);
  for (let i = 0; i < both.length; i++) {
    for (let j = i + 1; j < both.length; j++) {
      const q = { metric, a: both[i], b: both[j] };
      const s = sign(pairedDifference(rows, { ...q, step: short }));
      const l = sign(pairedDifference(rows, { ...q, step: long }));
      const pair: [string, string] = [both[i], both[j]];
      if (s === 0 || l === 0) unresolved.push(pair);
      else (s === l ? kept : flipped).push(pair);
    }
  }
  const total = kept.length + flipped.length + unresolved.length;
  const list = (ps: [string, string][]) => ps.map(([a, b]) => `${a}/${b}`).join(", ");
  const sentence = `On ${o.label}, of the ${total} pairs of options, ${kept.length} are apart ` +
    `at both ${short} and ${long} steps in the same order` +
    (flipped.length ? `, ${flipped.length} swap places beyond the noise (${list(flipped)})` : "") +
    `, and ${unresolved.length} cannot be told apart at one budget or both` +
    (flipped.length
      ? ": the short budget's ranking does not hold for those."
      : kept.length
      ? ": where the data separate two options, the short budget's order holds at the long one."
      : ": the budgets do not separate the options on this metric.");
  return { short, long, kept, flipped, unresolved, sentence };
}

/** Steps to the threshold of one seed (null = never reached: censored at `budget`). */
export interface ThresholdRow {
  option: string;
  seed: number;
  steps: number | null;
  censored: boolean;
  /** The last budget evaluated (where a censored seed stops being watched). */
  budget: number;
  threshold: number;
  /** How many long-band examples the threshold reads (the probe every budget evaluates). */
  examples: number;
}

/** Every seed's steps-to-threshold row; censored seeds kept (never dropped). */
export function thresholdRows(metrics: readonly MetricRow[]): ThresholdRow[] {
  return metrics.filter((r) => r.metric === "steps_to_threshold").map((r) => {
    const s = parseSetting(r.setting);
    return {
      option: r.option,
      seed: r.seed,
      steps: r.value,
      censored: s.censored === "1" || r.value === null,
      budget: r.step,
      threshold: Number(s.threshold),
      examples: Number(s.examples),
    };
  }).sort((a, b) => optionOrder(a.option, b.option) || a.seed - b.seed);
}

/** An option's conversion alone (step 0) on the threshold's probe examples, evaluated once. */
export interface ConversionAtThreshold {
  option: string;
  hits: number;
  examples: number;
  interval: Interval;
}

/**
 * Step 0 against the threshold, once per option: long-range retrieval on the first `k` examples
 * (the probe every budget reads), with Wilson's 95% interval (one evaluation: examples only).
 */
export function conversionAtThreshold(
  samples: readonly SampleRow[],
  k: number,
): ConversionAtThreshold[] {
  const out: ConversionAtThreshold[] = [];
  const options = [...new Set(samples.map((r) => r.option))].filter((o) => o !== "base");
  for (const option of options) {
    const xs = samples.filter((r) =>
      r.option === option && r.step === 0 && r.metric === "long_retrieval_acc" && r.sample < k
    );
    if (!xs.length) continue;
    const probe = xs.map((r) => ({ ...r, setting: "probe" }));
    const interval = pairedSummary(probe, { metric: "long_retrieval_acc", step: 0 }).get(option)!;
    out.push({
      option,
      hits: xs.filter((r) => r.value === 1).length,
      examples: xs.length,
      interval,
    });
  }
  return out.sort((a, b) => optionOrder(a.option, b.option));
}

/**
 * Per option: how many seeds reached the threshold by each fine-tune budget (censored ones never
 * do), after the conversion alone (step 0), stated once with its interval when given.
 */
export function thresholdSentence(
  rows: readonly ThresholdRow[],
  budgets: readonly number[],
  conversion: readonly ConversionAtThreshold[] = [],
): string {
  const options = [...new Set(rows.map((r) => r.option))];
  if (!rows.length) return "No steps-to-threshold rows in these results.";
  const t = rows[0].threshold;
  const zero = conversion.length
    ? ` At step 0 (the conversion alone, one evaluation, counted once): ${
      conversion.map((c) =>
        `\`${c.option}\` ${c.hits}/${c.examples} [${c.interval.low.toFixed(2)}, ${
          c.interval.high.toFixed(2)
        }]${
          c.interval.low >= t ? " (clears it)" : c.interval.high < t ? "" : " (interval holds it)"
        }`
      ).join(", ")
    }.`
    : "";
  const parts = options.map((o) => {
    const rs = rows.filter((r) => r.option === o);
    const reached = rs.filter((r) => !r.censored);
    const by = budgets.map((b) => `${reached.filter((r) => r.steps! <= b).length} by ${b}`);
    return `\`${o}\` ${reached.length}/${rs.length} seeds reach it (${by.join(", ")}` +
      `${
        rs.length - reached.length
          ? `; ${rs.length - reached.length} censored at ${rs[0].budget}`
          : ""
      })`;
  });
  return `Steps to ${t} long-range retrieval, per seed, over the fine-tune budgets: ${
    parts.join("; ")
  }.${zero}`;
}

/** A check of an interval against a bound: pass, fail, or uncertain when it straddles. */
export function boundVerdict(i: Interval, kind: "max" | "min", bound: number): string {
  if (i.low <= bound && bound <= i.high && i.high > i.low) return "uncertain";
  const ok = kind === "max" ? i.mean <= bound : i.mean >= bound;
  return ok ? "pass" : "fail";
}

/** Title of an option or `option+variant`. */
export function optionTitle(option: string): string {
  const [id, variant] = option.split("+");
  const t = (RETROFITS as Record<string, { title: string }>)[id]?.title ?? id;
  return variant ? `${t} + ${variant.replaceAll("_", " ")}` : t;
}

/** A signed value with a unit. */
export function signed(x: number, digits = 3, unit = ""): string {
  return `${x >= 0 ? "+" : ""}${x.toFixed(digits)}${unit}`;
}

/** A paired comparison on one metric at the final budgets, with its sentence. */
export interface PairedLine {
  a: string;
  b: string;
  metric: MetricName;
  interval: Interval;
  sentence: string;
}

/** The paired comparison `a - b` on `metric` at each one's final budget, as a hedged sentence. */
export function pairedLine(
  samples: readonly SampleRow[],
  metric: MetricName,
  a: string,
  b: string,
  o: { label: string; higherIsBetter: boolean; digits?: number; unit?: string },
): PairedLine {
  const interval = pairedDifference(samples, {
    metric,
    step: "final",
    a,
    b,
  });
  const sentence = compareSentence(`\`${a}\``, `\`${b}\``, interval, {
    quantity: o.label,
    higherIsBetter: o.higherIsBetter,
    format: (x) => signed(x, o.digits ?? 3, o.unit ?? ""),
  });
  return { a, b, metric, interval, sentence };
}

/**
 * What the fine-tune added to an option: its final budget against its own step 0 (the
 * conversion alone), paired on the same examples, as a hedged sentence.
 */
export function fineTuneGainLine(
  samples: readonly SampleRow[],
  metric: MetricName,
  option: string,
  o: { label: string; higherIsBetter: boolean; digits?: number },
): PairedLine {
  const interval = pairedDifference(samples, {
    metric,
    step: "final",
    a: option,
    b: option,
    bStep: 0,
  });
  const sentence = compareSentence(`\`${option}\` fine-tuned`, "its conversion alone", interval, {
    quantity: o.label,
    higherIsBetter: o.higherIsBetter,
    format: (x) => signed(x, o.digits ?? 3),
  });
  return { a: option, b: option, metric, interval, sentence };
}

/** Only the rows of `options` (any others dropped) and of `seeds` (step 0 kept). */
export function restrictSeeds(
  samples: readonly SampleRow[],
  seeds: readonly number[],
): SampleRow[] {
  const keep = new Set(seeds);
  return samples.filter((r) => r.step === 0 || keep.has(r.seed));
}

/** The metrics a mitigation is checked on: every constraint with samples, and the held-out bands. */
export const MITIGATION_METRICS: readonly {
  metric: MetricName;
  label: string;
  constraint?: string;
}[] = [
  { metric: "near_bpb", label: "near-range bits/byte", constraint: "near_regression" },
  { metric: "near_retrieval_acc", label: "near-range retrieval", constraint: "near_retrieval" },
  { metric: "near_retrieval_heldout_acc", label: "near-range retrieval, held-out wordings" },
  { metric: "long_retrieval_acc", label: "long-range retrieval", constraint: "long_retrieval" },
  { metric: "long_retrieval_heldout_acc", label: "long-range retrieval, held-out wordings" },
  { metric: "long_multikey_band_acc", label: "long-range multi-key retrieval" },
];

/** One mitigation's effect on one metric: variant - control on the variant's seeds. */
export interface MitigationEffect {
  label: string;
  control: string;
  metric: MetricName;
  quantity: string;
  seeds: number[];
  control_value: Interval;
  variant_value: Interval;
  difference: Interval;
  /** For constraint metrics: the bound check of control and variant ("pass"/"fail"/"uncertain"). */
  control_check: string;
  variant_check: string;
  sentence: string;
}

function constraintValue(
  samples: readonly SampleRow[],
  c: Constraint,
  option: string,
): Interval {
  const metric = c.metric as MetricName;
  return c.relativeToBase
    ? pairedDifference(samples, {
      metric,
      step: "final",
      a: option,
      b: "base",
      relative: true,
    })
    : pairedSummary(samples, { metric, step: "final" }).get(option)!;
}

/**
 * Every variant `<option>+<variant>` in the samples against its control `<option>` on the
 * variant's seeds (paired), on every metric of {@link MITIGATION_METRICS} both have; constraint
 * metrics also get each one's check against its bound (a variant that breaks a constraint shows
 * it). Empty when no variant rows exist.
 */
export function mitigationEffects(
  samples: readonly SampleRow[],
  rule: DecisionRule = DECISION_RULE,
): MitigationEffect[] {
  const labels = [...new Set(samples.map((r) => r.option))].filter((o) => o.includes("+"));
  const out: MitigationEffect[] = [];
  for (const label of labels.sort(optionOrder)) {
    const control = label.split("+")[0];
    const seeds = [...new Set(samples.filter((r) => r.option === label).map((r) => r.seed))].sort(
      (a, b) => a - b,
    );
    const rows = restrictSeeds(
      samples.filter((r) => [label, control, "base"].includes(r.option)),
      seeds,
    );
    for (const m of MITIGATION_METRICS) {
      const has = (o: string) => rows.some((r) => r.option === o && r.metric === m.metric);
      if (!has(label) || !has(control)) continue;
      const c = rule.constraints.find((x) => x.id === m.constraint);
      const higherIsBetter = c ? c.kind === "min" : true;
      const q = { metric: m.metric, step: "final" as const };
      const summary = pairedSummary(rows, q);
      const difference = pairedDifference(rows, { ...q, a: label, b: control });
      let control_check = "", variant_check = "";
      if (c && (!c.relativeToBase || has("base"))) {
        control_check = boundVerdict(
          constraintValue(rows, c, control),
          c.kind,
          c.threshold,
        );
        variant_check = boundVerdict(
          constraintValue(rows, c, label),
          c.kind,
          c.threshold,
        );
      }
      const bpb = m.metric === "near_bpb";
      let sentence = compareSentence(`\`${label}\``, `\`${control}\``, difference, {
        quantity: m.label,
        higherIsBetter,
        format: (x) => signed(x, 3, bpb ? " bits/byte" : ""),
        budget: `on the same ${seeds.length} seed${seeds.length === 1 ? "" : "s"}`,
      });
      if (control_check === "pass" && variant_check === "fail") {
        sentence += ` It breaks the ${c!.label} constraint the control met.`;
      } else if (control_check === "fail" && variant_check === "pass") {
        sentence += ` It brings ${c!.label} inside its bound.`;
      } else if (variant_check === "uncertain" || control_check === "uncertain") {
        sentence += ` Against the ${c!.label} bound: control ${control_check}, variant ` +
          `${variant_check}.`;
      }
      out.push({
        label,
        control,
        metric: m.metric,
        quantity: m.label,
        seeds,
        control_value: summary.get(control)!,
        variant_value: summary.get(label)!,
        difference,
        control_check,
        variant_check,
        sentence,
      });
    }
  }
  return out;
}

/**
 * The risk sentence on the risk constraint's metric, computed: where the loss happens. The
 * conversion alone (the winner at step 0 against the base model), the fine-tune on top of it (the
 * winner at its final budget against its own step 0), and the `rope` control (the same fine-tune,
 * no conversion) against the base, all paired; the verdict is read from which of them excludes 0.
 */
export function riskEvidence(
  samples: readonly SampleRow[],
  winner: string,
  c: Constraint,
): string {
  const metric = c.metric as MetricName;
  const has = (o: string, step?: number) =>
    samples.some((r) =>
      r.option === o && r.metric === metric && (step === undefined || r.step === step)
    );
  if (!has("base") || !has(winner)) {
    return `No ${metric} samples for the base model and \`${winner}\`: the risk cannot be ` +
      `located from these results.`;
  }
  const bpb = metric === "near_bpb";
  const f = (x: number) => signed(x, 3, bpb ? " bits/byte" : "");
  const ci = (d: Interval) => `${f(d.mean)} (95% CI ${f(d.low)} to ${f(d.high)})`;
  const worse = (d: Interval) => c.kind === "min" ? d.high < 0 : d.low > 0;
  const better = (d: Interval) => c.kind === "min" ? d.low > 0 : d.high < 0;
  const q = { metric, step: "final" as const, b: "base" };
  const w = pairedDifference(samples, { ...q, a: winner });
  const parts = [
    `On ${c.quantity}, \`${winner}\` after fine-tuning differs from the base model by ${ci(w)}`,
  ];
  const tuned = samples.some((r) => r.option === winner && r.metric === metric && r.step > 0);
  const zero = has(winner, 0) && winner !== "base"
    ? pairedDifference(samples, { metric, step: 0, a: winner, b: "base" })
    : null;
  const tune = zero && tuned
    ? pairedDifference(samples, { metric, step: "final", a: winner, b: winner, bStep: 0 })
    : null;
  if (zero) parts.push(`the conversion alone (step 0) by ${ci(zero)}`);
  if (tune) parts.push(`the fine-tune on top of it (final budget - step 0) by ${ci(tune)}`);
  const rope = winner !== "rope" && has("rope")
    ? pairedDifference(samples, { ...q, a: "rope" })
    : null;
  if (rope) parts.push(`the \`rope\` control (same fine-tune, no conversion) by ${ci(rope)}`);
  let tail = "";
  if (!worse(w)) tail = ` \`${winner}\` shows no loss beyond the noise here.`;
  else if (zero && tune) {
    const ropeToo = rope && worse(rope)
      ? " The `rope` control loses it too: fine-tuning at 8 x L0 costs it even without a conversion."
      : "";
    tail = worse(zero) && !worse(tune) && !better(tune)
      ? ` The loss is already there at step 0 and the fine-tune neither adds to it nor repairs ` +
        `it: it comes with \`${winner}\`'s conversion, and the fine-tune does not win it back.`
      : worse(zero) && worse(tune)
      ? ` The conversion loses part and the fine-tune loses more: both contribute.`
      : worse(zero) && better(tune)
      ? ` The conversion loses it and the fine-tune wins part of it back.`
      : ` The conversion keeps it and the fine-tune loses it.`;
    tail += ropeToo;
  }
  return parts.join("; ") + "." + tail;
}

/** Computed facts about T5 buckets at very long offsets (src/positions/t5.ts, never typed). */
export interface T5Facts {
  opts: BucketOptions;
  /** Offsets asked about (multiples of L0) with their buckets. */
  offsets: { multiple: number; offset: number; bucket: number }[];
  /** First offset of the last bucket (every offset from there on shares one bias). */
  lastBucketStart: number;
  sentence: string;
}

/** Which bucket each multiple of L0 falls in, and where the shared last bucket starts. */
export function t5Facts(L0: number, target: number, multiples = [2.5, 3, 5, 7, 7.5]): T5Facts {
  const opts: BucketOptions = { bidirectional: false, numBuckets: 32, maxDistance: target };
  const offsets = multiples.map((m) => {
    const offset = Math.round(m * L0);
    return { multiple: m, offset, bucket: relativePositionBucket(-offset, opts) };
  });
  const ranges = bucketDistanceRanges(opts, target + 1);
  const lastBucketStart = ranges.find((r) => r.bucket === opts.numBuckets - 1)?.first ?? target;
  const groups = new Map<number, number[]>();
  for (const o of offsets) groups.set(o.bucket, [...(groups.get(o.bucket) ?? []), o.multiple]);
  const shared = [...groups.values()].filter((g) => g.length > 1);
  const where = offsets.map((o) => `${o.multiple} L0 = ${o.offset} in bucket ${o.bucket}`).join(
    ", ",
  );
  const pairOf = (a: number, b: number) => {
    const [x, y] = [offsets.find((o) => o.multiple === a), offsets.find((o) => o.multiple === b)];
    if (!x || !y) return "";
    return x.bucket === y.bucket
      ? ` ${a} L0 and ${b} L0 share bucket ${x.bucket}: T5 cannot tell them apart by position.`
      : ` ${a} L0 (bucket ${x.bucket}) and ${b} L0 (bucket ${y.bucket}) get separate biases: ` +
        `T5 can tell them apart by position.`;
  };
  const sentence = `With ${opts.numBuckets} causal buckets and maxDistance ${target}: ${where}. ` +
    `Only offsets >= ${lastBucketStart.toLocaleString("en-US")} (${
      (lastBucketStart / L0).toFixed(2)
    } L0) share the last bucket; ` +
    (shared.length
      ? `offsets within one bucket share a bias (here ${
        shared.map((g) => g.map((m) => `${m} L0`).join(" and ")).join("; ")
      }).`
      : `every pair of these offsets has separate biases, though one bias covers hundreds of ` +
        `offsets.`) +
    pairOf(3, 7);
  return { opts, offsets, lastBucketStart, sentence };
}

/** How far the shipped fine-tuned T5 table moved from its start, per bucket. */
export interface T5Movement {
  path: string;
  seed: string;
  step: string;
  /** Mean over heads of |learned - initial| per bucket. */
  move: number[];
}

/**
 * Reads the shipped `t5.safetensors` of a preset (assets/checkpoints/<preset>/retrofits/) and
 * measures each bucket's movement from the ALiBi-shaped start; null when it is not shipped.
 */
export async function t5Movement(preset: string, root?: string): Promise<T5Movement | null> {
  const base = root ?? new URL("../..", import.meta.url).pathname.replace(/\/$/, "");
  const path = `${base}/assets/checkpoints/${preset}/retrofits/t5.safetensors`;
  if (!(await exists(path))) return null;
  const ck = await loadCheckpoint(path);
  const w = ck.weights.get(T5_TABLE);
  const pos = ck.config.positional as { numBuckets?: number; maxDistance?: number };
  if (!w || !pos.numBuckets || !pos.maxDistance) return null;
  const H = ck.config.numHeads;
  const init = t5InitialTable(H, pos.numBuckets, pos.maxDistance, "alibi");
  const move = Array.from({ length: pos.numBuckets }, (_, b) => {
    let s = 0;
    for (let h = 0; h < H; h++) s += Math.abs(w.data[b * H + h] - init[b * H + h]);
    return s / H;
  });
  return {
    path: path.slice(base.length + 1),
    seed: String(ck.metadata?.seed ?? "?"),
    step: String(ck.metadata?.step ?? "?"),
    move,
  };
}

/**
 * Options the rule can judge: no variant, fine-tuned for at least one seed, and with every
 * constraint metric; the others with the reason they are left out.
 */
export function decisionCandidates(
  metrics: readonly MetricRow[],
  samples: readonly SampleRow[],
  rule: DecisionRule = DECISION_RULE,
): { candidates: string[]; excluded: { option: string; why: string }[] } {
  const options = [...new Set(metrics.map((r) => r.option))]
    .filter((o) => o !== "base" && !o.includes("+")).sort(optionOrder);
  const candidates: string[] = [], excluded: { option: string; why: string }[] = [];
  for (const option of options) {
    const lacks = rule.constraints.map((c) => c.metric).filter((m) =>
      !metrics.some((r) => r.option === option && r.metric === m)
    );
    const tuned = samples.some((r) => r.option === option && r.step > 0);
    if (lacks.length) excluded.push({ option, why: `no ${lacks.join(", ")} yet` });
    else if (!tuned) excluded.push({ option, why: "no fine-tuned seed yet (step 0 only)" });
    else candidates.push(option);
  }
  return { candidates, excluded };
}

/**
 * The rule restricted to the constraints whose metric the results hold for some option (a
 * partial experiment has no latency until its last record); `pending` names the others.
 */
export function availableRule(
  metrics: readonly MetricRow[],
  rule: DecisionRule = DECISION_RULE,
): { rule: DecisionRule; pending: Constraint[] } {
  const has = (c: Constraint) => metrics.some((r) => r.option !== "base" && r.metric === c.metric);
  const pending = rule.constraints.filter((c) => !has(c));
  const constraints = rule.constraints.filter(has);
  const rankBy = constraints.some((c) => c.id === rule.rankBy) ? rule.rankBy : constraints[0]?.id;
  return { rule: { constraints, rankBy: rankBy ?? rule.rankBy }, pending };
}
