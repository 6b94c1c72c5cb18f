/**
 * The decision on the evidence: constraint values with two-way intervals (paired.ts)
 * fed to the rule (rule.ts), and the paired comparisons a reader needs next to it: the winner
 * against the runner-up and every option against the `rope` control, each as a difference with
 * its interval and a sentence that says "cannot be told apart" when the interval holds 0.
 *
 * @example
 * ```ts
 * import { decideFromResults } from "./evidence.ts";
 * const d = decideFromResults(metrics, samples, { preset: "course" });
 * d.sentence; d.margin?.sentence; d.comparisons.map((c) => c.sentence);
 * ```
 * @module
 */
import type { MetricName, MetricRow, SampleRow } from "../eval/results.ts";
import { compareSentence, type Interval, pairedDifference, pairedSummary } from "../eval/paired.ts";
import { RETROFITS } from "../retrofit/registry.ts";
import {
  type Constraint,
  decide,
  type DecideOptions,
  type Decision,
  DECISION_RULE,
  type DecisionRule,
  formatValue,
} from "./rule.ts";

/** One paired comparison on one constraint. */
export interface Comparison {
  a: string;
  b: string;
  constraint: string;
  metric: MetricName;
  /** a - b (or a / b - 1 for constraints relative to the base), final budgets. */
  interval: Interval;
  sentence: string;
}

/** A decision with its paired margin and comparisons. */
export interface EvidenceDecision extends Decision {
  /** Winner minus runner-up on the ranking constraint (null with a single option). */
  margin: Comparison | null;
  /** Every option against the `rope` control, on every constraint that has samples. */
  comparisons: Comparison[];
}

type Summary = Parameters<typeof decide>[0] extends infer T ? T extends readonly (infer R)[] ? R
  : never
  : never;

function hasSamples(samples: readonly SampleRow[], metric: string): boolean {
  return samples.some((r) => r.metric === metric);
}

/**
 * Summary rows for the rule: per option and constraint metric at the option's final budget, the
 * mean and its two-way 95% interval (seeds and examples, paired.ts); for constraints relative to the base, the paired
 * `option / base - 1`. Metrics without samples (new parameters) are exact counts.
 */
export function constraintSummaries(
  metrics: readonly MetricRow[],
  samples: readonly SampleRow[],
  rule: DecisionRule = DECISION_RULE,
): Summary[] {
  const out: Summary[] = [];
  for (const c of rule.constraints) {
    const metric = c.metric as MetricName;
    if (hasSamples(samples, metric)) {
      const q = { metric, step: "final" as const };
      for (const [option, s] of pairedSummary(samples, q)) {
        const row: Summary = {
          option,
          metric,
          mean: s.mean,
          ci_low: s.low,
          ci_high: s.high,
          seeds: s.seeds,
        };
        if (c.relativeToBase && option !== "base") {
          const d = pairedDifference(samples, { ...q, a: option, b: "base", relative: true });
          row.rel = { mean: d.mean, low: d.low, high: d.high };
        }
        out.push(row);
      }
      continue;
    }
    const options = [...new Set(metrics.filter((r) => r.metric === metric).map((r) => r.option))];
    for (const option of options) {
      const rows = metrics.filter((r) => r.option === option && r.metric === metric);
      const last = Math.max(...rows.map((r) => r.step));
      const vals = rows.filter((r) => r.step === last && r.value !== null).map((r) => r.value!);
      const mean = vals.length ? vals.reduce((a, b) => a + b, 0) / vals.length : null;
      out.push({ option, metric, mean, ci_low: null, ci_high: null, seeds: vals.length });
    }
  }
  return out;
}

function title(option: string): string {
  const [id, variant] = option.split("+");
  const t = (RETROFITS as Record<string, { title: string }>)[id]?.title ?? id;
  return variant ? `${t} + ${variant.replace("_", " ")}` : t;
}

/** The largest step any option has for `metric`: the budget a comparison is made at. */
export function finalBudget(samples: readonly SampleRow[], metric: string): number {
  let last = 0;
  for (const r of samples) if (r.metric === metric && r.step > last) last = r.step;
  return last;
}

/**
 * The paired comparison of `a` and `b` on constraint `c`, both at the final budget (an option
 * whose fine-tunes have not landed is not compared: it throws naming what is missing).
 */
export function compareOn(
  samples: readonly SampleRow[],
  c: Constraint,
  a: string,
  b: string,
): Comparison {
  const metric = c.metric as MetricName;
  const step = finalBudget(samples, metric);
  // Latency is timed on conversions (step 0) by design: it has no budget.
  const at = metric === "latency_ratio" ? "final" as const : step;
  const interval = pairedDifference(samples, { metric, step: at, a, b });
  // A constraint relative to the base is compared in its own units (bits/byte), not in percent.
  const unit = c.relativeToBase ? " bits/byte" : c.format === "ratio" ? "x" : "";
  const fmt = (x: number) => `${x >= 0 ? "+" : ""}${x.toFixed(3)}${unit}`;
  const sentence = compareSentence(`${title(a)} (\`${a}\`)`, `${title(b)} (\`${b}\`)`, interval, {
    quantity: c.label,
    higherIsBetter: c.kind === "min",
    format: fmt,
    budget: "at the final budget",
  });
  return { a, b, constraint: c.id, metric, interval, sentence };
}

/** True when every option has samples of `metric` at the final budget (fine-tunes landed). */
function atFinal(
  samples: readonly SampleRow[],
  metric: string,
  options: readonly string[],
): boolean {
  const step = finalBudget(samples, metric);
  return options.every((o) =>
    samples.some((r) => r.option === o && r.metric === metric && r.step === step)
  );
}

/**
 * Applies the rule to the results and adds the paired margin (winner vs runner-up on the ranking
 * constraint; "cannot be told apart" when its interval holds 0) and every option against `rope`.
 */
export function decideFromResults(
  metrics: readonly MetricRow[],
  samples: readonly SampleRow[],
  opts: DecideOptions = {},
): EvidenceDecision {
  const rule = opts.rule ?? DECISION_RULE;
  const d = decide(constraintSummaries(metrics, samples, rule), opts);
  const rank = rule.constraints.find((c) => c.id === rule.rankBy)!;
  const [first, second] = d.ranking;
  let margin: Comparison | null = null;
  let sentence = d.sentence;
  if (
    second && hasSamples(samples, rank.metric) && atFinal(samples, rank.metric, [first, second])
  ) {
    margin = compareOn(samples, rank, first, second);
    const i = margin.interval;
    const f = (x: number) => formatValue(x, rank.format === "percent" ? "percent" : "fraction");
    const text = `${f(i.mean)} (95% CI ${f(i.low)} to ${f(i.high)}, ${i.seeds} seeds x ` +
      `${i.examples} examples)`;
    sentence += !Number.isFinite(i.low)
      ? ` Its difference from the runner-up \`${second}\` on ${rank.label} has no interval yet ` +
        `(fewer than 2 common seeds).`
      : i.low <= 0 && i.high >= 0
      ? ` It and the runner-up \`${second}\` cannot be told apart on ${rank.label} at this ` +
        `budget: paired difference ${text}.`
      : ` Paired difference from the runner-up \`${second}\` on ${rank.label}: ${text}.`;
  }
  const comparisons: Comparison[] = [];
  for (const option of d.ranking.filter((o) => o !== "rope")) {
    for (const c of rule.constraints) {
      if (!hasSamples(samples, c.metric)) continue;
      if (c.metric !== "latency_ratio" && !atFinal(samples, c.metric, [option, "rope"])) continue;
      comparisons.push(compareOn(samples, c, option, "rope"));
    }
  }
  return { ...d, sentence, margin, comparisons };
}
