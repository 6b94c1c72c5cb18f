/**
 * The ablations of issue #13 read from their results folder (`deno task ablate`, default
 * `assets/results/<preset>_ablations/`), as paired statistics (src/eval/paired.ts) and sentences
 * generated from them, for notebook 10:
 *
 * - PI at s = 2, 4, 8 (`pi_s2`, `pi_s4`, `pi`): the near-range cost (near bits/byte relative to
 *   the base model, paired on the same windows) at step 0 and after the fine-tune, and whether it
 *   grows with s (paired differences between consecutive s);
 * - `yarn_matched` against `yarn` (HF's betas) on the bands;
 * - `ntk_dynamic` (dynamic NTK, no training; HF's factor s) against static `ntk` at step 0 and the
 *   base model;
 * - in `<dir>/ntk_ft_dynamic/`, the fine-tuned `ntk` model as it is (its `base` row) against the
 *   same weights with dynamic NTK switched on.
 *
 * Nothing is typed in: a missing option or folder gives no row, and the caller says "pending".
 *
 * @example
 * ```ts
 * import { piScaleCurve } from "./ablations.ts";
 * piScaleCurve(samples).map((p) => [p.s, p.when, p.nearCost.mean]);
 * ```
 * @module
 */
import { compareSentence, type Interval, pairedDifference } from "../eval/paired.ts";
import type { MetricName, MetricRow, SampleRow } from "../eval/results.ts";

/**
 * The PI ablation's points: option id and its factor s (the `pi` option is s = 8 at 8 x L0; `rope`,
 * fine-tuned the same way with no interpolation, is s = 1: the control for what the fine-tune at
 * 8 x L0 costs by itself).
 */
export const PI_SCALES: readonly { option: string; s: number }[] = [
  { option: "rope", s: 1 },
  { option: "pi_s2", s: 2 },
  { option: "pi_s4", s: 4 },
  { option: "pi", s: 8 },
];

/** One point of the PI curve: near bits/byte relative to the base model, with its interval. */
export interface PiPoint {
  option: string;
  s: number;
  when: "step 0" | "fine-tuned";
  /** near bpb / base near bpb - 1, paired on the same windows. */
  nearCost: Interval;
}

/** One paired comparison with its generated sentence. */
export interface AblationLine {
  label: string;
  interval: Interval;
  sentence: string;
}

const has = (samples: readonly SampleRow[], option: string, metric: MetricName, step?: number) =>
  samples.some((r) =>
    r.option === option && r.metric === metric && (step === undefined || r.step === step)
  );

/** True when `option` has fine-tuned rows (any step > 0) of `metric`. */
const hasTuned = (samples: readonly SampleRow[], option: string, metric: MetricName) =>
  samples.some((r) => r.option === option && r.metric === metric && r.step > 0);

const fmtPct = (x: number) => `${x >= 0 ? "+" : ""}${(100 * x).toFixed(1)}%`;
/** A signed number with `digits` decimals (`+0.12`), for difference sentences. */
export const fmt = (digits: number) => (x: number) => `${x >= 0 ? "+" : ""}${x.toFixed(digits)}`;

/** Near-range cost of PI at each measured s, at step 0 and at the final budget. */
export function piScaleCurve(samples: readonly SampleRow[]): PiPoint[] {
  if (!has(samples, "base", "near_bpb", 0)) return [];
  const out: PiPoint[] = [];
  for (const { option, s } of PI_SCALES) {
    if (option !== "rope" && has(samples, option, "near_bpb", 0)) {
      const q = { metric: "near_bpb" as const, step: 0, a: option, b: "base", relative: true };
      out.push({ option, s, when: "step 0", nearCost: pairedDifference(samples, q) });
    }
    if (hasTuned(samples, option, "near_bpb")) {
      const q = {
        metric: "near_bpb" as const,
        step: "final" as const,
        a: option,
        b: "base",
        bStep: 0,
        relative: true,
      };
      out.push({ option, s, when: "fine-tuned", nearCost: pairedDifference(samples, q) });
    }
  }
  return out;
}

/**
 * Does PI's near-range cost grow with s? Paired differences of near bits/byte between consecutive
 * measured factors, at step 0 and fine-tuned, each as a hedged sentence.
 */
export function piTrend(samples: readonly SampleRow[]): AblationLine[] {
  const tuned = (o: string) => hasTuned(samples, o, "near_bpb");
  const out: AblationLine[] = [];
  for (const when of ["step 0", "fine-tuned"] as const) {
    // s = 1 (rope) exists only fine-tuned: at step 0 it is the base model itself.
    const present = PI_SCALES.filter((p) =>
      when === "step 0"
        ? p.option !== "rope" && has(samples, p.option, "near_bpb", 0)
        : tuned(p.option)
    );
    for (let i = 1; i < present.length; i++) {
      const [lo, hi] = [present[i - 1], present[i]];
      const step = when === "step 0" ? 0 : "final" as const;
      const interval = pairedDifference(samples, {
        metric: "near_bpb",
        step,
        a: hi.option,
        b: lo.option,
      });
      out.push({
        label: `s = ${hi.s} - s = ${lo.s} (${when})`,
        interval,
        sentence: compareSentence(piName(hi.s), piName(lo.s), interval, {
          quantity: `near-range bits/byte (${when})`,
          higherIsBetter: false,
          format: fmt(3),
        }),
      });
    }
  }
  return out;
}

const piName = (s: number) => s === 1 ? "`rope` (s = 1, no interpolation)" : `PI at s = ${s}`;

/** The verdict on "does the near-range cost grow with s", from {@link piTrend}'s intervals. */
export function piTrendVerdict(lines: readonly AblationLine[], when: "step 0" | "fine-tuned") {
  const ls = lines.filter((l) => l.label.endsWith(`(${when})`));
  const steps = ls.map((l) => l.label.replace(` (${when})`, ""));
  if (ls.length < 2) return "not enough factors measured to tell";
  if (ls.some((l) => !Number.isFinite(l.interval.low))) {
    return "cannot be told yet: a fine-tune with one seed has no interval";
  }
  const up = ls.filter((l) => l.interval.low > 0), down = ls.filter((l) => l.interval.high < 0);
  if (up.length === ls.length) return "grows with s at every step measured";
  if (down.length) {
    return `does not grow monotonically with s (falls at ${
      down.map((_, i) => steps[ls.indexOf(down[i])]).join(", ")
    })`;
  }
  if (!up.length) return "cannot be told apart between any two factors";
  return `grows at ${up.map((l) => steps[ls.indexOf(l)]).join(", ")}, and the other steps ` +
    "cannot be told apart";
}

/** The three bands the ablations compare on, with their direction and print precision. */
export const BANDS: readonly {
  metric: MetricName;
  label: string;
  higherIsBetter: boolean;
  digits: number;
}[] = [
  { metric: "near_bpb", label: "near-range bits/byte", higherIsBetter: false, digits: 3 },
  { metric: "near_retrieval_acc", label: "near-range retrieval", higherIsBetter: true, digits: 2 },
  { metric: "long_retrieval_acc", label: "long-range retrieval", higherIsBetter: true, digits: 2 },
];

/** `a` against `b` on the bands, at a step (0) or each one's final budget. */
export function bandLines(
  samples: readonly SampleRow[],
  a: string,
  b: string,
  step: 0 | "final",
  names: { a?: string; b?: string } = {},
): AblationLine[] {
  const out: AblationLine[] = [];
  for (const m of BANDS) {
    const at = step === 0 ? 0 : undefined;
    if (!has(samples, a, m.metric, at) || !has(samples, b, m.metric, at)) continue;
    if (step === "final" && !samples.some((r) => r.option === a && r.step > 0)) continue;
    const interval = pairedDifference(samples, { metric: m.metric, step, a, b });
    const when = step === 0 ? "step 0" : "final budget";
    out.push({
      label: `${a} - ${b} · ${m.label} (${when})`,
      interval,
      sentence: compareSentence(`\`${names.a ?? a}\``, `\`${names.b ?? b}\``, interval, {
        quantity: `${m.label} (${when})`,
        higherIsBetter: m.higherIsBetter,
        format: fmt(m.digits),
      }),
    });
  }
  return out;
}

/** Everything notebook 10 shows of the ablations; empty lists where a part has not run. */
export interface AblationFindings {
  pi: PiPoint[];
  piTrend: AblationLine[];
  yarnMatched: AblationLine[];
  /** Dynamic NTK with no training on long-range retrieval: vs static ntk, the base, fine-tuned. */
  dynamicZero: AblationLine[];
  /**
   * The check that dynamic NTK is the base model within L0 (its factor is 1 there, by
   * construction): null when not measured, else the largest difference found on the near rows.
   */
  dynamicIdentity: number | null;
  dynamicOnFinetuned: AblationLine[];
}

/** The dynamic-NTK ablation(s). */
const DYNAMIC_IDS = ["ntk_dynamic"];

/** Largest |dynamic - base| over the step-0 near-range samples (null when absent). */
function identityWithin(samples: readonly SampleRow[]): number | null {
  const near = (o: string) =>
    samples.filter((r) => r.option === o && r.step === 0 && r.metric.startsWith("near_"));
  const [d, b] = [DYNAMIC_IDS.flatMap(near), near("base")];
  if (!d.length || !b.length) return null;
  const key = (r: SampleRow) => `${r.metric}|${r.setting}|${r.sample}`;
  const base = new Map(b.map((r) => [key(r), r.value]));
  let worst = 0;
  for (const r of d) {
    const v = base.get(key(r));
    if (v === undefined || v === null || r.value === null) return NaN;
    worst = Math.max(worst, Math.abs(r.value - v));
  }
  return worst;
}

/** Dynamic NTK at step 0 against fine-tuned options at their final budget, on long retrieval. */
function dynamicVsTuned(samples: readonly SampleRow[]): AblationLine[] {
  const out: AblationLine[] = [];
  for (const b of ["ntk", "yarn"]) {
    const tuned = hasTuned(samples, b, "long_retrieval_acc");
    if (!tuned || !has(samples, "ntk_dynamic", "long_retrieval_acc", 0)) continue;
    const interval = pairedDifference(samples, {
      metric: "long_retrieval_acc",
      step: 0,
      a: "ntk_dynamic",
      b,
      bStep: "final",
    });
    out.push({
      label: `ntk_dynamic (no training) - ${b} (fine-tuned) · long-range retrieval`,
      interval,
      sentence: compareSentence("`ntk_dynamic` with no training", `fine-tuned \`${b}\``, interval, {
        quantity: "long-range retrieval",
        higherIsBetter: true,
        format: fmt(2),
      }),
    });
  }
  return out;
}

/**
 * The findings from the ablation folder's samples and (when it ran) the samples of its
 * `ntk_ft_dynamic/` stage, where `base` is the fine-tuned ntk model as it is.
 */
export function ablationFindings(
  samples: readonly SampleRow[],
  ftDynamic: readonly SampleRow[] = [],
): AblationFindings {
  return {
    pi: piScaleCurve(samples),
    piTrend: piTrend(samples),
    yarnMatched: [
      ...bandLines(samples, "yarn_matched", "yarn", 0),
      ...bandLines(samples, "yarn_matched", "yarn", "final"),
    ],
    // Near-range rows are left out: within L0 dynamic NTK is the base by construction (checked
    // in dynamicIdentity), so "ahead of static ntk" there would be no finding.
    dynamicZero: [
      ...bandLines(samples, "ntk_dynamic", "ntk", 0),
      ...bandLines(samples, "ntk_dynamic", "base", 0),
    ].filter((l) => l.label.includes("long-range")).concat(dynamicVsTuned(samples)),
    dynamicIdentity: identityWithin(samples),
    dynamicOnFinetuned: bandLines(ftDynamic, "ntk_dynamic", "base", 0, {
      a: "fine-tuned ntk, dynamic",
      b: "fine-tuned ntk, static",
    }),
  };
}

/** A one-line summary of a PI point for tables. */
export function piCell(p: PiPoint): string {
  const i = p.nearCost;
  if (!Number.isFinite(i.low)) return `${fmtPct(i.mean)} (${i.seeds} seed: no interval)`;
  const seeds = p.when === "step 0" ? "one evaluation" : `${i.seeds} seeds`;
  return `${fmtPct(i.mean)} [${fmtPct(i.low)}, ${fmtPct(i.high)}] (${seeds})`;
}

/**
 * The ablation samples plus the main experiment's fine-tuned `rope` rows (the s = 1 control) on
 * the ablation's own seeds: the same base, plan and examples, so they pair (checked: the base rows
 * of both folders must agree).
 */
export function withRopeControl(
  ablation: readonly SampleRow[],
  main: readonly SampleRow[],
): SampleRow[] {
  const seeds = new Set(ablation.filter((r) => r.step > 0).map((r) => r.seed));
  const baseKey = (r: SampleRow) => `${r.metric}|${r.setting}|${r.sample}|${r.value}`;
  const ablBase = new Set(ablation.filter((r) => r.option === "base").map(baseKey));
  const mainBase = main.filter((r) => r.option === "base");
  if (!mainBase.length || mainBase.some((r) => !ablBase.has(baseKey(r)))) return [...ablation];
  const rope = main.filter((r) => r.option === "rope" && r.step > 0 && seeds.has(r.seed));
  return [...ablation.filter((r) => r.option !== "rope"), ...rope];
}

/**
 * Held-out bits/byte of whole windows at s x L0 (the length PI at s was built for) and at the
 * target length, for each PI factor, at step 0 and fine-tuned: means over seeds of the
 * `bpb_by_length` rows (4 windows per length, no per-window samples: no interval), with the base
 * model at the same lengths.
 */
export function piLengthRows(
  metrics: readonly MetricRow[],
  contextLength: number,
  targetLength: number,
): Record<string, string>[] {
  const at = (option: string, len: number, tuned: boolean) => {
    const rs = metrics.filter((r) =>
      r.option === option && r.metric === "bpb_by_length" && r.setting === `ctx=${len}` &&
      (tuned ? r.step > 0 : r.step === 0) && r.value !== null
    );
    const last = Math.max(...rs.map((r) => r.step));
    const fin = rs.filter((r) => r.step === last);
    return fin.length
      ? `${(fin.reduce((t, r) => t + r.value!, 0) / fin.length).toFixed(3)}${
        tuned ? ` (${fin.length} seeds)` : ""
      }`
      : "";
  };
  return PI_SCALES.filter(({ option }) => option !== "rope").flatMap(({ option, s }) =>
    [...new Set([s * contextLength, targetLength])].map((len) => ({
      option: `${option} (s = ${s})`,
      length: `${len} (${len / contextLength} x L0)`,
      "base model": at("base", len, false),
      "step 0": at(option, len, false),
      "fine-tuned": at(option, len, true),
    }))
  );
}
