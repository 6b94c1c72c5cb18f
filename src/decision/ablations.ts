/**
 * The ablations of issue #13 read from their results folder (`deno task ablate`, default
 * `assets/results/<preset>_ablations/`), as paired statistics (src/eval/paired.ts) and sentences
 * generated from them, for notebook 10:
 *
 * - PI at s = 2, 4, 8 (`pi_s2`, `pi_s4`, `pi`): the near-range cost (near bits/byte relative to
 *   the base model, paired on the same windows) at step 0 and after the fine-tune, and whether it
 *   grows with s (paired differences between consecutive s);
 * - `yarn_matched` against `yarn` (HF's betas) on the bands;
 * - `ntk_dynamic` (dynamic NTK, no training) against static `ntk` at step 0 and the base model;
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
import type { MetricName, SampleRow } from "../eval/results.ts";

/** The PI ablation's points: option id and its factor s (the `pi` option is s = 8 at 8 x L0). */
export const PI_SCALES: readonly { option: string; s: number }[] = [
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

const fmtPct = (x: number) => `${x >= 0 ? "+" : ""}${(100 * x).toFixed(1)}%`;
const fmt = (digits: number) => (x: number) => `${x >= 0 ? "+" : ""}${x.toFixed(digits)}`;

/** Near-range cost of PI at each measured s, at step 0 and at the final budget. */
export function piScaleCurve(samples: readonly SampleRow[]): PiPoint[] {
  if (!has(samples, "base", "near_bpb", 0)) return [];
  const out: PiPoint[] = [];
  for (const { option, s } of PI_SCALES) {
    if (has(samples, option, "near_bpb", 0)) {
      const q = { metric: "near_bpb" as const, step: 0, a: option, b: "base", relative: true };
      out.push({ option, s, when: "step 0", nearCost: pairedDifference(samples, q) });
    }
    if (samples.some((r) => r.option === option && r.metric === "near_bpb" && r.step > 0)) {
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
  const present = PI_SCALES.filter((p) => has(samples, p.option, "near_bpb", 0));
  const out: AblationLine[] = [];
  for (let i = 1; i < present.length; i++) {
    const [lo, hi] = [present[i - 1], present[i]];
    for (const when of ["step 0", "fine-tuned"] as const) {
      const tuned = (o: string) =>
        samples.some((r) => r.option === o && r.metric === "near_bpb" && r.step > 0);
      if (when === "fine-tuned" && !(tuned(lo.option) && tuned(hi.option))) continue;
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
        sentence: compareSentence(`PI at s = ${hi.s}`, `PI at s = ${lo.s}`, interval, {
          quantity: `near-range bits/byte (${when})`,
          higherIsBetter: false,
          format: fmt(3),
        }),
      });
    }
  }
  return out;
}

/** The verdict on "does the near-range cost grow with s", from {@link piTrend}'s intervals. */
export function piTrendVerdict(lines: readonly AblationLine[], when: "step 0" | "fine-tuned") {
  const ls = lines.filter((l) => l.label.endsWith(`(${when})`));
  if (ls.length < 2) return `not enough PI factors measured ${when} to tell`;
  if (ls.every((l) => l.interval.low > 0)) return `grows with s at every step measured (${when})`;
  if (ls.some((l) => l.interval.high < 0)) return `does not grow monotonically with s (${when})`;
  return `grows where the intervals exclude 0 and cannot be told apart elsewhere (${when})`;
}

const BANDS: { metric: MetricName; label: string; higherIsBetter: boolean; digits: number }[] = [
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
  dynamicZero: AblationLine[];
  dynamicOnFinetuned: AblationLine[];
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
    dynamicZero: [
      ...bandLines(samples, "ntk_dynamic", "ntk", 0),
      ...bandLines(samples, "ntk_dynamic", "base", 0),
    ],
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
  return `${fmtPct(i.mean)} [${fmtPct(i.low)}, ${fmtPct(i.high)}]`;
}
