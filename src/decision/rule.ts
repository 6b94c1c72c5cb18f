/**
 * The case study's decision rule as data, and the function that applies it to measured results.
 *
 * A retrofit is acceptable when it meets five constraints ({@link DECISION_RULE}): near-range
 * quality kept (bits/byte regression vs the base model), near-range retrieval kept (passkeys at
 * short offsets), long-range retrieval reached (passkey accuracy over the long grid), few new
 * learned parameters, and little extra latency at the target length. Among the options that meet
 * all five, the recommendation is the one with the highest long-range retrieval; ties are broken
 * by the {@link TIE_BREAK} chain. When none meets them all,
 * the closest one is named with the constraints it fails. The sentence, the key risk and its
 * mitigation are built from the measured values only: no option name or number is typed in.
 *
 * @example
 * ```ts
 * import { loadMetrics } from "../eval/results_frame.ts";
 * import { decide } from "./rule.ts";
 * const d = decide(await loadMetrics("tiny"), { preset: "tiny" });
 * d.recommended; // e.g. "yarn"
 * d.sentence; // "Recommendation (tiny preset): YaRN (`yarn`) ..."
 * ```
 * @module
 */
import type pl from "nodejs-polars";
import { summarizeRows, type SummaryRow } from "../eval/results.ts";
import type { MitigationVariantId } from "../retrofit/mitigations.ts";
import { OPTION_ORDER, optionRank, RETROFITS } from "../retrofit/registry.ts";

/** Constraint ids, in the order tables list them. */
export const CONSTRAINT_IDS = [
  "near_regression",
  "near_retrieval",
  "long_retrieval",
  "new_params",
  "latency",
] as const;

/** One constraint id. */
export type ConstraintId = typeof CONSTRAINT_IDS[number];

/** How a measured value is printed. */
export type ValueFormat = "percent" | "fraction" | "count" | "ratio";

/** One constraint of the rule: a metric, a bound and why. */
export interface Constraint {
  id: ConstraintId;
  /** Short name used in tables and sentences. */
  label: string;
  /** The metrics.csv metric it reads (pooled over settings, mean over seeds). */
  metric: string;
  /** `max`: value must be <= threshold; `min`: value must be >= threshold. */
  kind: "max" | "min";
  threshold: number;
  /** When true the value is `option mean / base mean - 1` (relative change vs the base model). */
  relativeToBase: boolean;
  /** One unit of margin: margin = signed distance to the threshold / scale (> 0 = inside). */
  scale: number;
  format: ValueFormat;
  /** What the measured quantity is, for sentences ("near-range bits/byte"). */
  quantity: string;
  rationale: string;
  /** What goes wrong in deployment when the margin is small. */
  risk: string;
  /** How to reduce the risk, and the fine-tune variant that measures it (src/decision/mitigation.ts). */
  mitigation: { text: string; variant: MitigationVariantId | null };
}

export type { MitigationVariantId } from "../retrofit/mitigations.ts";

/** The rule: constraints plus the ranking metric among the options that pass. */
export interface DecisionRule {
  constraints: readonly Constraint[];
  /** Constraint whose value ranks the passing options (higher is better for `min`). */
  rankBy: ConstraintId;
}

/** The course's rule. Thresholds are stated once, here, with their reasons. */
export const DECISION_RULE: DecisionRule = {
  rankBy: "long_retrieval",
  constraints: [
    {
      id: "near_regression",
      label: "near-range regression",
      metric: "near_bpb",
      kind: "max",
      threshold: 0.02,
      relativeToBase: true,
      scale: 0.02,
      format: "percent",
      quantity: "near-range bits/byte vs the base model",
      rationale: "Most traffic stays at short offsets (the case study's ~1,000 of 4,096): a " +
        "retrofit may cost at most 2% more bits/byte there (2% more code length for the same " +
        "text): the long range must not be bought with a visible loss where most use happens.",
      risk: "near-range quality drifts: the fine-tune at 8 x L0 re-fits the model to long " +
        "windows (and interpolation squeezes the angles it learned at L0)",
      mitigation: {
        text: "replay short (L0) sequences in the fine-tune at the same token budget (the last " +
          "quarter of the steps at L0), so the model re-practises the near range it must keep",
        variant: "short_replay",
      },
    },
    {
      id: "near_retrieval",
      label: "near-range retrieval",
      metric: "near_retrieval_acc",
      kind: "min",
      threshold: 0.9,
      relativeToBase: false,
      scale: 0.1,
      format: "fraction",
      quantity: "near-range passkey accuracy",
      rationale: "Near-range *tasks*, not only near-range text, must survive: a passkey at most " +
        "L0/4 before its answer (offsets spread over the band, training wordings), which the " +
        "base model finds (>= 90% within L0, its model card), must still be found at least 90% " +
        "of the time after the retrofit.",
      risk: "near-range retrieval decays: the fine-tune at 8 x L0 only ever asks for keys far " +
        "back, and the conversion moves the angles (or the bias) that short look-backs relied on",
      mitigation: {
        text: "replay short (L0) sequences in the fine-tune at the same token budget (the last " +
          "quarter of the steps at L0), so the model re-practises the near range it must keep",
        variant: "short_replay",
      },
    },
    {
      id: "long_retrieval",
      label: "long-range retrieval",
      metric: "long_retrieval_acc",
      kind: "min",
      threshold: 0.5,
      relativeToBase: false,
      scale: 0.5,
      format: "fraction",
      quantity: "long-range passkey accuracy",
      rationale: "The retrofit exists to use context up to 8 x L0: a passkey 2.5-7.5 x L0 " +
        "before its answer (the case's 10k-30k of 32k) must be found at least half of the " +
        "time (a 5-digit key is never guessed).",
      risk: "long-range retrieval fails on prompts unlike the fine-tune's (other depths, longer " +
        "documents, several keys)",
      mitigation: {
        text:
          "add dense look-back practice (copy-task rows) to the fine-tune mixture at the same " +
          "budget, so retrieval heads form within the short fine-tune",
        variant: "copy_rows",
      },
    },
    {
      id: "new_params",
      label: "new learned parameters",
      metric: "new_params",
      kind: "max",
      threshold: 4096,
      relativeToBase: false,
      scale: 4096,
      format: "count",
      quantity: "new learned parameters",
      rationale: "A retrofit must not add a module that needs its own training data: at most " +
        "4,096 scalars (a 32-bucket table for 128 heads), learnable within the short fine-tune.",
      risk: "the new table's rarely seen entries (large distances) stay near their initial values",
      mitigation: {
        text: "initialise the new parameters from a prior that already behaves (T5 table from " +
          "ALiBi slopes) and check the far buckets' gradient counts",
        variant: null,
      },
    },
    {
      id: "latency",
      label: "latency change",
      metric: "latency_ratio",
      kind: "max",
      threshold: 1.1,
      relativeToBase: false,
      scale: 0.1,
      format: "ratio",
      quantity: "forward time per token vs the base model at the target length",
      rationale: "Serving cost at 8 x L0 may grow by at most 10% over the base model's at the " +
        "same length: the positional change must fit inside the fused attention kernel.",
      risk: "serving at 8 x L0 costs more than budgeted (a bias materialised outside the fused " +
        "kernel grows with N^2)",
      mitigation: {
        text: "compute the bias inside the fused attention (never materialise [H, N, N]) and " +
          "re-measure with `deno task bench attention`",
        variant: null,
      },
    },
  ],
};

/**
 * Tie-break chain after the ranking metric, in order: smaller near-range regression, higher
 * near-range retrieval, fewer new parameters, lower latency (each only where the rule has that
 * constraint), then the registry order ({@link OPTION_ORDER}: rope, pi, ntk, yarn, alibi, t5).
 */
export const TIE_BREAK: readonly ConstraintId[] = [
  "near_regression",
  "near_retrieval",
  "new_params",
  "latency",
];

/** The check of one option against one constraint. */
export interface ConstraintCheck {
  option: string;
  constraint: ConstraintId;
  label: string;
  metric: string;
  kind: "max" | "min";
  threshold: number;
  value: number;
  ciLow: number | null;
  ciHigh: number | null;
  pass: boolean;
  /** Signed distance to the threshold in units of `scale` (> 0 inside, < 0 failing). */
  margin: number;
  /** The 95% CI contains the threshold: the verdict could flip with more seeds. */
  uncertain: boolean;
  seeds: number;
}

/** One option's verdict. */
export interface OptionVerdict {
  option: string;
  title: string;
  checks: ConstraintCheck[];
  passesAll: boolean;
  failing: ConstraintId[];
  /** Sum of the failing margins' magnitudes (0 when all pass). */
  shortfall: number;
}

/** The key risk of the recommended option and what mitigates it. */
export interface KeyRisk {
  constraint: ConstraintId;
  check: ConstraintCheck;
  risk: string;
  mitigation: string;
  variant: MitigationVariantId | null;
  sentence: string;
}

/** What {@link decide} returns. */
export interface Decision {
  verdicts: OptionVerdict[];
  /** Options in decision order (recommended first). */
  ranking: string[];
  recommended: string;
  /** True when the recommended option passes every constraint. */
  passesAll: boolean;
  /** Other options equal to the recommended one on the ranking value (ties). */
  tiedWith: string[];
  /** The criterion that separated the recommended option from the first tied one, if any. */
  tieBrokenBy: string | null;
  sentence: string;
  risk: KeyRisk;
  rule: DecisionRule;
}

/** Options of {@link decide}. */
export interface DecideOptions {
  rule?: DecisionRule;
  /** Candidate options (default: every option in the table except `base`). */
  options?: readonly string[];
  /** Preset named in the sentence. */
  preset?: string;
  /** Bootstrap resamples when given a raw metrics table (default 2000). */
  resamples?: number;
}

type SummaryLike =
  & Pick<SummaryRow, "option" | "metric" | "mean" | "ci_low" | "ci_high" | "seeds">
  & {
    /** For constraints relative to the base: the paired `option / base - 1` and its interval. */
    rel?: { mean: number; low: number; high: number };
  };

const EPS = 1e-9;

/** Turns a metrics table or a summary (DataFrame or rows) into pooled summary rows. */
export function summaryRowsOf(
  table: pl.DataFrame | readonly SummaryLike[],
  resamples = 2000,
): SummaryLike[] {
  if (Array.isArray(table)) return table as SummaryLike[];
  const df = table as pl.DataFrame;
  if (typeof df?.toRecords !== "function" || !Array.isArray(df.columns)) {
    throw new TypeError("results must be a polars DataFrame or an array of summary rows");
  }
  const cols = df.columns;
  if (cols.includes("value") && cols.includes("seed")) return summarizeRows(df, { resamples });
  for (const c of ["option", "metric", "mean", "ci_low", "ci_high"]) {
    if (!cols.includes(c)) {
      throw new TypeError(
        `results must be a metrics table (option,seed,...,value) or a summary (option,metric,` +
          `mean,ci_low,ci_high,...); missing column "${c}"`,
      );
    }
  }
  const rows = df.toRecords() as unknown as SummaryLike[];
  // A summary kept by setting has several rows per option x metric: pool them as summarize does.
  const pooled = new Map<string, SummaryLike[]>();
  for (const r of rows) {
    const k = `${r.option}\u0000${r.metric}`;
    pooled.set(k, [...(pooled.get(k) ?? []), r]);
  }
  return [...pooled.values()].map((l) =>
    l.length === 1 ? l[0] : {
      option: l[0].option,
      metric: l[0].metric,
      mean: avg(l.map((r) => r.mean)),
      ci_low: avg(l.map((r) => r.ci_low)),
      ci_high: avg(l.map((r) => r.ci_high)),
      seeds: Math.min(...l.map((r) => Number(r.seeds ?? 0))),
    }
  );
}

function avg(xs: (number | null)[]): number | null {
  return xs.some((x) => x === null) ? null : xs.reduce((s, x) => s! + x!, 0)! / xs.length;
}

function validateRule(rule: DecisionRule): void {
  const ids = rule.constraints.map((c) => c.id);
  if (!ids.length) throw new RangeError("rule.constraints must not be empty");
  for (const c of rule.constraints) {
    if (!Number.isFinite(c.threshold)) {
      throw new RangeError(`threshold of ${c.id} must be a finite number; got ${c.threshold}`);
    }
    if (!(c.scale > 0)) throw new RangeError(`scale of ${c.id} must be > 0; got ${c.scale}`);
  }
  if (!ids.includes(rule.rankBy)) {
    throw new RangeError(`rule.rankBy must be one of ${ids.join(", ")}; got "${rule.rankBy}"`);
  }
}

/**
 * Applies the rule to summarised results (the `summarize` output, its rows, or the raw metrics
 * DataFrame, which is summarised first) and returns per-option checks, the recommendation, its
 * sentence and the key risk with its mitigation. Throws TypeError naming what is missing when an
 * option or metric the rule needs is absent.
 *
 * @example
 * ```ts
 * const d = decide(summarize(await loadMetrics("tiny")), { preset: "tiny" });
 * console.log(d.sentence, d.risk.sentence);
 * ```
 */
export function decide(
  table: pl.DataFrame | readonly SummaryLike[],
  opts: DecideOptions = {},
): Decision {
  const rule = opts.rule ?? DECISION_RULE;
  validateRule(rule);
  const rows = summaryRowsOf(table, opts.resamples);
  const options = candidateOptions(rows, opts.options);
  const verdicts = options.map((option) => verdictOf(option, rows, rule));
  const { ranked, tied, tieBrokenBy } = rankVerdicts(verdicts, rule);
  const best = ranked[0];
  const risk = keyRisk(best, rule);
  return {
    verdicts,
    ranking: ranked.map((v) => v.option),
    recommended: best.option,
    passesAll: best.passesAll,
    tiedWith: tied.map((v) => v.option),
    tieBrokenBy,
    sentence: recommendationSentence(best, verdicts, rule, tied, tieBrokenBy, opts.preset),
    risk,
    rule,
  };
}

/** The summary row of `option` x `metric`, if any. */
function rowOf(rows: readonly SummaryLike[], option: string, metric: string) {
  return rows.find((r) => r.option === option && r.metric === metric);
}

/** The options to decide among (`chosen`, or all present), refusing none or absent ones. */
function candidateOptions(rows: readonly SummaryLike[], chosen?: readonly string[]): string[] {
  const present = [...new Set(rows.map((r) => r.option))];
  // Candidates: every option but the base and mitigation variants (`option+variant`).
  const options = chosen ? [...chosen] : present.filter((o) => o !== "base" && !o.includes("+"));
  if (!options.length) {
    throw new TypeError(
      `results hold no candidate option (found: ${present.join(", ") || "none"}); expected ` +
        `retrofit ids such as ${OPTION_ORDER.slice(1).join(", ")}`,
    );
  }
  const missing = options.filter((o) => !present.includes(o));
  if (missing.length) {
    throw new TypeError(
      `options ${missing.join(", ")} have no rows in the results (found: ${present.join(", ")})`,
    );
  }
  return options;
}

/** One option checked against every constraint of the rule. */
function verdictOf(
  option: string,
  rows: readonly SummaryLike[],
  rule: DecisionRule,
): OptionVerdict {
  const checks = rule.constraints.map((c) => checkOf(option, c, rows, rule));
  const failing = checks.filter((k) => !k.pass).map((k) => k.constraint);
  return {
    option,
    title: title(option),
    checks,
    passesAll: failing.length === 0,
    failing,
    shortfall: checks.filter((k) => !k.pass).reduce((s, k) => s - k.margin, 0),
  };
}

/** The value and 95% CI a constraint judges: as measured, or relative to the base model. */
function judgedValue(
  r: SummaryLike,
  c: Constraint,
  rows: readonly SummaryLike[],
): { value: number; lo: number | null; hi: number | null } {
  const value = Number(r.mean);
  const lo = r.ci_low === null ? null : Number(r.ci_low);
  const hi = r.ci_high === null ? null : Number(r.ci_high);
  if (!c.relativeToBase) return { value, lo, hi };
  if (r.rel) return { value: r.rel.mean, lo: r.rel.low, hi: r.rel.high };
  const b = rowOf(rows, "base", c.metric);
  if (!b || b.mean === null || !(Number(b.mean) > 0)) {
    throw new TypeError(
      `results have no positive base ${c.metric} (the ${c.label} constraint compares each ` +
        `option with option "base")`,
    );
  }
  const bm = Number(b.mean);
  return {
    value: value / bm - 1,
    lo: lo === null ? null : lo / bm - 1,
    hi: hi === null ? null : hi / bm - 1,
  };
}

/** The check of `option` against constraint `c`; throws naming the metric when it is missing. */
function checkOf(
  option: string,
  c: Constraint,
  rows: readonly SummaryLike[],
  rule: DecisionRule,
): ConstraintCheck {
  const r = rowOf(rows, option, c.metric);
  if (!r || r.mean === null || r.mean === undefined || !Number.isFinite(Number(r.mean))) {
    const needed = rule.constraints.map((x) => x.metric);
    throw new TypeError(
      `option ${option} has no ${c.metric} value (needed by the ${c.label} constraint); the ` +
        `rule needs metrics ${[...new Set(needed)].join(", ")} for every option`,
    );
  }
  const { value, lo, hi } = judgedValue(r, c, rows);
  const signed = c.kind === "max" ? c.threshold - value : value - c.threshold;
  const pass = signed >= -EPS * Math.max(1, Math.abs(c.threshold));
  return {
    option,
    constraint: c.id,
    label: c.label,
    metric: c.metric,
    kind: c.kind,
    threshold: c.threshold,
    value,
    ciLow: lo,
    ciHigh: hi,
    pass,
    margin: pass ? Math.max(0, signed / c.scale) : signed / c.scale,
    uncertain: lo !== null && hi !== null && lo <= c.threshold && c.threshold <= hi && hi > lo,
    seeds: Number(r.seeds ?? 0),
  };
}

/** How good `v` is on constraint `id`, higher is better (`max` constraints flipped). */
function goodness(v: OptionVerdict, id: ConstraintId): number {
  const k = v.checks.find((x) => x.constraint === id);
  if (!k) return 0;
  return k.kind === "min" ? k.value : -k.value;
}

/**
 * The verdicts in decision order: passing before failing, failing by fewer failures then less
 * shortfall, then by the rank constraint and the {@link TIE_BREAK} chain, then registry order.
 * Also the options tied with the first on the rank value and what broke the tie.
 */
function rankVerdicts(
  verdicts: readonly OptionVerdict[],
  rule: DecisionRule,
): { ranked: OptionVerdict[]; tied: OptionVerdict[]; tieBrokenBy: string | null } {
  const chain = [rule.rankBy, ...TIE_BREAK.filter((t) => t !== rule.rankBy)].filter((id) =>
    rule.constraints.some((c) => c.id === id)
  );
  const compare = (a: OptionVerdict, b: OptionVerdict): number => {
    if (a.passesAll !== b.passesAll) return a.passesAll ? -1 : 1;
    if (!a.passesAll) {
      if (a.failing.length !== b.failing.length) return a.failing.length - b.failing.length;
      if (Math.abs(a.shortfall - b.shortfall) > EPS) return a.shortfall - b.shortfall;
    }
    for (const id of chain) {
      const d = goodness(b, id) - goodness(a, id);
      if (Math.abs(d) > EPS) return d;
    }
    return optionRank(a.option) - optionRank(b.option);
  };
  const ranked = [...verdicts].sort(compare);
  const best = ranked[0];
  const tied = ranked.slice(1).filter((v) =>
    v.passesAll === best.passesAll &&
    (best.passesAll ||
      (v.failing.length === best.failing.length &&
        Math.abs(v.shortfall - best.shortfall) <= EPS)) &&
    Math.abs(goodness(v, rule.rankBy) - goodness(best, rule.rankBy)) <= EPS
  );
  return { ranked, tied, tieBrokenBy: tied.length ? tieBreaker(best, tied[0], chain, rule) : null };
}

/** The first criterion after the rank value that separates `best` from `other`. */
function tieBreaker(
  best: OptionVerdict,
  other: OptionVerdict,
  chain: readonly ConstraintId[],
  rule: DecisionRule,
): string {
  for (const id of chain.slice(1)) {
    if (Math.abs(goodness(best, id) - goodness(other, id)) > EPS) {
      return rule.constraints.find((c) => c.id === id)!.label;
    }
  }
  return "registry order";
}

function keyRisk(v: OptionVerdict, rule: DecisionRule): KeyRisk {
  // Failing: the worst failure. Passing: the least margin (ties: the rule's order).
  const check = [...v.checks].sort((a, b) => a.margin - b.margin)[0];
  const c = rule.constraints.find((x) => x.id === check.constraint)!;
  const where = check.pass
    ? `the constraint with the least margin is ${c.label}: ${formatCheck(check, c)}, ` +
      `${formatMargin(check)} of the allowed range left`
    : `it fails ${c.label}: ${formatCheck(check, c)}`;
  return {
    constraint: c.id,
    check,
    risk: c.risk,
    mitigation: c.mitigation.text,
    variant: c.mitigation.variant,
    sentence: `Key risk for ${v.title} (\`${v.option}\`): ${where}. Risk: ${c.risk}. ` +
      `Mitigation: ${c.mitigation.text}.`,
  };
}

function formatMargin(k: ConstraintCheck): string {
  return `${(Math.min(1, k.margin) * 100).toFixed(0)}%`;
}

/** A constraint's value printed in its unit ("+0.4%", "0.83", "64", "1.03x"). */
export function formatValue(x: number, format: ValueFormat): string {
  switch (format) {
    case "percent":
      return `${x >= 0 ? "+" : ""}${(x * 100).toFixed(1)}%`;
    case "fraction":
      return x.toFixed(2);
    case "count":
      return Math.round(x).toLocaleString("en-US");
    case "ratio":
      return `${x.toFixed(2)}x`;
  }
}

/** "0.83 (95% CI 0.78-0.88; needs >= 0.50)" for one check. */
export function formatCheck(k: ConstraintCheck, c: Constraint): string {
  const ci = k.ciLow !== null && k.ciHigh !== null && k.ciHigh > k.ciLow
    ? ` (95% CI ${formatValue(k.ciLow, c.format)} to ${formatValue(k.ciHigh, c.format)})`
    : "";
  const bound = `${c.kind === "max" ? "<=" : ">="} ${formatValue(c.threshold, c.format)}`;
  return `${c.quantity} ${formatValue(k.value, c.format)}${ci}, ${
    k.pass ? "within" : "outside"
  } the bound ${bound}`;
}

function title(option: string): string {
  return (RETROFITS as Record<string, { title: string }>)[option]?.title ?? option;
}

function recommendationSentence(
  best: OptionVerdict,
  all: OptionVerdict[],
  rule: DecisionRule,
  tied: OptionVerdict[],
  tieBrokenBy: string | null,
  preset?: string,
): string {
  const at = preset ? ` (${preset} preset)` : "";
  const n = rule.constraints.length;
  const cOf = (id: ConstraintId) => rule.constraints.find((c) => c.id === id)!;
  const rankC = cOf(rule.rankBy);
  const name = `${best.title} (\`${best.option}\`)`;
  const passing = all.filter((v) => v.passesAll);
  const tie = tied.length
    ? ` It ties with ${tied.map((v) => `\`${v.option}\``).join(", ")} on ${rankC.label}; ` +
      `${tieBrokenBy} decides.`
    : "";
  const rest = best.checks.map((k) => formatCheck(k, cOf(k.constraint))).join("; ");
  const shaky = best.checks.filter((k) => k.uncertain).map((k) => cOf(k.constraint).label);
  const caveat = shaky.length
    ? ` Uncertain: the 95% CI of ${
      shaky.join(" and ")
    } contains its bound, so more seeds or examples could ` +
      `flip that verdict.`
    : "";
  // Verdicts are on point estimates: name the others that fail only by checks that could flip.
  const couldPass = all.filter((v) =>
    v !== best && !v.passesAll && v.checks.filter((k) => !k.pass).every((k) => k.uncertain)
  );
  const others = couldPass.length
    ? ` Also within reach: ${
      couldPass.map((v) => `\`${v.option}\``).join(", ")
    } fail only checks whose 95% CI contains the bound.`
    : "";
  if (best.passesAll) {
    const among = passing.length === 1
      ? `It is the only one of ${all.length} options that passes all ${n} constraints`
      : `Of the ${passing.length} options (of ${all.length}) that pass all ${n} constraints it ` +
        `has the ${rankC.kind === "min" ? "highest" : "lowest"} ${rankC.label}`;
    return `Recommendation${at}: ${name}. ${among}: ${rest}.${tie}${caveat}${others}`;
  }
  const fails = best.checks.filter((k) => !k.pass);
  const failText = fails.map((k) => cOf(k.constraint).label).join(" and ");
  return `No option passes all ${n} constraints${at}. The closest is ${name}, which fails ` +
    `${failText}${fails.length < n ? " only" : ""}: ${rest}.${tie}${caveat}${others}`;
}

/**
 * The decision table as plain rows: one per option x constraint, with value, CI, threshold,
 * pass and margin (for showTable).
 *
 * @example
 * ```ts
 * showTable(decisionTable(decide(df)));
 * ```
 */
export function decisionTable(d: Decision): Record<string, string | number | boolean>[] {
  const cOf = (id: ConstraintId) => d.rule.constraints.find((c) => c.id === id)!;
  return d.ranking.flatMap((o) => {
    const v = d.verdicts.find((x) => x.option === o)!;
    return v.checks.map((k) => {
      const c = cOf(k.constraint);
      return {
        rank: d.ranking.indexOf(o) + 1,
        option: o,
        constraint: c.label,
        value: formatValue(k.value, c.format),
        ci: k.ciLow === null || k.ciHigh === null
          ? ""
          : `${formatValue(k.ciLow, c.format)} to ${formatValue(k.ciHigh, c.format)}`,
        bound: `${c.kind === "max" ? "<=" : ">="} ${formatValue(c.threshold, c.format)}`,
        pass: k.pass,
        margin: Number(k.margin.toFixed(3)),
        uncertain: k.uncertain,
      };
    });
  });
}
