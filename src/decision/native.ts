/**
 * Case-study question (ii), measured directly (issue #13): does a bias family *extrapolate*, or
 * does *swapping it into a RoPE model* cost? ALiBi and T5 pretrained natively at L0 with the RoPE
 * base's recipe (`assets/checkpoints/<preset>/native_<family>/`), evaluated at 8 x L0 with no
 * fine-tune by the same plan as the main experiment (`deno task retrofit --task base --base ...
 * --out <ablations>/native_<family>`), so every example pairs with the main run's:
 *
 * - native against the RoPE base (both untouched): quality at L0 and retrieval at 8 x L0;
 * - native against the swapped-in option at step 0 (the cost of the swap alone) and at its final
 *   budget (the swap after the course's fine-tune).
 *
 * Two questions, kept apart: does the family extrapolate in *length* (keeps retrieving at short
 * offsets inside 8 x L0 prompts and keeps its bits/byte past L0: {@link lengthVerdict}), and how
 * far does it *reach* (the long band, offsets 2.5-7.5 L0: {@link nativeVerdict})? One pretraining
 * seed per family: the intervals cover the examples (and the fine-tune seeds of the swapped
 * option), not pretraining luck; every sentence says so.
 *
 * @example
 * ```ts
 * const all = withNative(mainSamples, { alibi: nativeAlibiSamples });
 * nativeFindings(all, 0.5).map((f) => f.verdict);
 * ```
 * @module
 */
import {
  compareSentence,
  type Interval,
  normalQuantile,
  pairedDifference,
  pairedSummary,
  wilson,
} from "../eval/paired.ts";
import type { SampleRow } from "../eval/results.ts";
import { type AblationLine, BANDS, fmt } from "./ablations.ts";

/** The bias families pretrained natively. */
export const NATIVE_FAMILIES = ["alibi", "t5"] as const;
/** One of {@link NATIVE_FAMILIES}. */
export type NativeFamily = typeof NATIVE_FAMILIES[number];

/** The option label a native model's rows carry once merged: `native_<family>`. */
export const nativeId = (family: NativeFamily) => `native_${family}`;

/**
 * The main experiment's samples plus each native model's `base` rows (its only rows: step 0,
 * seed 0) relabelled `native_<family>`. A native folder whose examples differ from the main run's
 * (another plan) is refused: the comparisons below pair example by example.
 */
export function withNative(
  main: readonly SampleRow[],
  native: Partial<Record<NativeFamily, readonly SampleRow[]>>,
): SampleRow[] {
  // The offset and wording make the key the example itself: another plan seed keeps the settings
  // and counts but moves the keys.
  const key = (r: SampleRow) => `${r.metric}|${r.setting}|${r.sample}|${r.offset}|${r.wording}`;
  const mainKeys = new Set(main.filter((r) => r.option === "base").map(key));
  const out = [...main];
  for (const family of NATIVE_FAMILIES) {
    const rows = (native[family] ?? []).filter((r) => r.option === "base");
    if (!rows.length) continue;
    const missing = rows.filter((r) => !mainKeys.has(key(r)));
    const distinct = new Set(rows.map(key)).size;
    if (missing.length || rows.length !== mainKeys.size || distinct !== rows.length) {
      throw new RangeError(
        `native ${family}: its examples differ from the main run's (${missing.length} unknown, ` +
          `${rows.length} rows, ${distinct} distinct, vs ${mainKeys.size}); evaluate it with the ` +
          "same preset and plan",
      );
    }
    out.push(...rows.map((r) => ({ ...r, option: nativeId(family) })));
  }
  return out;
}

/** What notebook 10 shows for one family. */
export interface NativeFinding {
  family: NativeFamily;
  /** The native model's own level on each band (examples only: one evaluation). */
  levels: { metric: string; label: string; interval: Interval }[];
  /** Paired comparisons: against the RoPE base, the swap at step 0, the swap fine-tuned. */
  lines: AblationLine[];
  /** The generated answer to "how far does it reach with no fine-tune?" (the long band). */
  verdict: string;
  /** The generated answer to "does it extrapolate in length?" ({@link lengthVerdict}), if read. */
  length?: string;
}

const hasCell = (s: readonly SampleRow[], option: string, metric: string, tuned: boolean) =>
  s.some((r) => r.option === option && r.metric === metric && (tuned ? r.step > 0 : r.step === 0));

/** native_<family> at step 0 against `b` at `bStep` on every band both have. */
function linesAgainst(
  samples: readonly SampleRow[],
  family: NativeFamily,
  b: string,
  bStep: 0 | "final",
  bName: string,
): AblationLine[] {
  const a = nativeId(family);
  return BANDS.filter((m) =>
    hasCell(samples, a, m.metric, false) && hasCell(samples, b, m.metric, bStep === "final")
  ).map((m) => {
    const interval = pairedDifference(samples, { metric: m.metric, step: 0, a, b, bStep });
    return {
      label: `${a} - ${bName} · ${m.label}`,
      interval,
      sentence: compareSentence(`native ${family}`, bName, interval, {
        quantity: `${m.label} (native: one pretraining seed, interval over examples${
          bStep === "final" ? " and the swap's fine-tune seeds" : ""
        })`,
        higherIsBetter: m.higherIsBetter,
        format: fmt(m.digits),
      }),
    };
  });
}

const ci = (i: Interval, d = 2) =>
  `${i.mean.toFixed(d)} [${i.low.toFixed(d)}, ${i.high.toFixed(d)}]`;

/**
 * The verdict on extrapolation from the native model's own long-range retrieval against the
 * bound, hedged by its interval, and conditioned on whether it learned retrieval at L0 at all
 * (a model that never learned it says nothing about extrapolating it).
 */
export function nativeVerdict(
  family: NativeFamily,
  near: Interval | undefined,
  long: Interval | undefined,
  threshold: number,
): string {
  if (!near || !long) return `native ${family}: not measured yet (pending).`;
  const name = `Native ${family} (no fine-tune; one pretraining seed, interval over examples)`;
  if (near.high < threshold) {
    return `${name} did not learn retrieval even within L0 (near-range ${ci(near)}): ` +
      "this recipe gives no evidence either way on its reach, a finding in itself.";
  }
  if (near.low < threshold) {
    return `${name}: retrieval within L0 is itself uncertain (near-range ${ci(near)} against ` +
      `${threshold}), so its long-range retrieval (${ci(long)}) is no verdict on its reach.`;
  }
  const at = `long-band retrieval (keys 2.5-7.5 L0 back in 8 x L0 prompts) ${ci(long)} against ` +
    `the bound ${threshold}`;
  if (long.low >= threshold) return `${name} reaches the long band: ${at}.`;
  if (long.high < threshold) {
    return `${name} does not reach the long band: ${at}, although it retrieves within L0 ` +
      `(near-range ${ci(near)}).`;
  }
  return `${name}: ${at}; the interval straddles the bound, so its reach is uncertain.`;
}

/** The findings for every family whose native rows are in `samples` (see {@link withNative}). */
export function nativeFindings(samples: readonly SampleRow[], threshold: number): NativeFinding[] {
  return NATIVE_FAMILIES.filter((f) => samples.some((r) => r.option === nativeId(f))).map(
    (family) => {
      const id = nativeId(family);
      const levels = BANDS.flatMap((m) => {
        const i = pairedSummary(samples, { metric: m.metric, step: 0 }).get(id);
        return i ? [{ metric: m.metric, label: m.label, interval: i }] : [];
      });
      const level = (metric: string) => levels.find((l) => l.metric === metric)?.interval;
      return {
        family,
        levels,
        lines: [
          ...linesAgainst(samples, family, "base", 0, "the RoPE base"),
          ...linesAgainst(samples, family, family, 0, `${family} swapped in (step 0)`),
          ...linesAgainst(samples, family, family, "final", `${family} swapped in (fine-tuned)`),
        ],
        verdict: nativeVerdict(
          family,
          level("near_retrieval_acc"),
          level("long_retrieval_acc"),
          threshold,
        ),
      };
    },
  );
}

/**
 * The models of question (ii) side by side on the three bands (estimate [95% CI]): the RoPE base,
 * and per measured family the native model, the swap at step 0 and the swap fine-tuned (over its
 * seeds). Empty cells where a band or model is missing.
 */
export function nativeLevelRows(samples: readonly SampleRow[]): Record<string, string>[] {
  const at0 = new Map(
    BANDS.map((m) => [m.metric, pairedSummary(samples, { metric: m.metric, step: 0 })]),
  );
  const fin = new Map(
    BANDS.map((m) => [m.metric, pairedSummary(samples, { metric: m.metric, step: "final" })]),
  );
  const row = (model: string, option: string, tuned: boolean) => {
    const out: Record<string, string> = { model };
    for (const m of BANDS) {
      const i = (tuned ? fin : at0).get(m.metric)!.get(option);
      const ok = i && (tuned ? i.step > 0 : i.step === 0);
      out[m.label] = ok ? `${ci(i, m.digits)}${tuned ? ` (${i.seeds} seeds)` : ""}` : "";
    }
    return out;
  };
  const families = NATIVE_FAMILIES.filter((f) => samples.some((r) => r.option === nativeId(f)));
  return [
    row("RoPE base (no fine-tune)", "base", false),
    ...families.flatMap((f) => [
      row(`native ${f} (no fine-tune)`, nativeId(f), false),
      row(`${f} swapped in, step 0`, f, false),
      row(`${f} swapped in, fine-tuned`, f, true),
    ]),
  ];
}

/**
 * A `position,bits_per_byte` CSV (src/eval/base_report.ts) averaged over bins of `bin` positions:
 * the curve of bits/byte by position, readable at 8 x L0.
 */
export function binnedPositions(csv: string, bin: number): { x: number; y: number }[] {
  if (!(Number.isInteger(bin) && bin >= 1)) {
    throw new RangeError(`bin must be an integer >= 1; got ${bin}`);
  }
  const lines = csv.trim().split("\n");
  if (lines[0] !== "position,bits_per_byte") {
    throw new RangeError(`expected the header "position,bits_per_byte"; got "${lines[0]}"`);
  }
  const ys = lines.slice(1).map((l) => Number(l.split(",")[1]));
  const out: { x: number; y: number }[] = [];
  for (let a = 0; a < ys.length; a += bin) {
    const part = ys.slice(a, a + bin);
    out.push({ x: a + (part.length - 1) / 2, y: part.reduce((t, y) => t + y, 0) / part.length });
  }
  return out;
}

/** One passkey_by_offset.csv row (src/eval/base_report.ts). */
export interface OffsetRow {
  kind: string;
  length: number;
  offset: number;
  correct: number;
  total: number;
}

/** The rows of a passkey_by_offset.csv text. */
export function parseOffsetRows(csv: string): OffsetRow[] {
  const [header, ...rows] = csv.trim().split("\n").map((l) => l.split(","));
  const col = (name: string) => {
    const i = header.indexOf(name);
    if (i < 0) throw new RangeError(`passkey CSV lacks the column "${name}"`);
    return i;
  };
  const [k, l, o, c, t] = ["kind", "length", "offset", "correct", "total"].map(col);
  return rows.map((r) => ({
    kind: r[k],
    length: Number(r[l]),
    offset: Number(r[o]),
    correct: Number(r[c]),
    total: Number(r[t]),
  }));
}

/** Wilson's 95% score interval for k successes in n (paired.ts's, as an Interval). */
function wilson95(k: number, n: number): Interval {
  const [low, high] = wilson(k / n, n, normalQuantile(0.975));
  return { mean: k / n, low, high, seeds: 1, examples: n };
}

/**
 * Does the family extrapolate in length, with no fine-tune? Two measurements of its base report at
 * 8 x L0: passkey retrieval at offsets up to L0 inside 8 x L0 prompts (what it learned, asked at
 * positions it never saw; Wilson interval over the prompts) and bits/byte past L0 against before
 * L0 on the same windows (`maxRise`: the largest relative rise still called flat; a description,
 * the windows give no interval).
 */
export function lengthVerdict(
  family: NativeFamily,
  rows: readonly OffsetRow[],
  bpb: { belowL0: number; beyondL0: number },
  L0: number,
  threshold: number,
  maxRise: number,
): { retrieval: Interval; rise: number; verdict: string } {
  const short = rows.filter((r) => r.kind === "passkey" && r.length === 8 * L0 && r.offset <= L0);
  const k = short.reduce((t, r) => t + r.correct, 0), n = short.reduce((t, r) => t + r.total, 0);
  const retrieval = n ? wilson95(k, n) : { mean: NaN, low: NaN, high: NaN, seeds: 1, examples: 0 };
  const rise = bpb.beyondL0 / bpb.belowL0 - 1;
  const name = `Native ${family} (no fine-tune; one pretraining seed)`;
  const keeps = n > 0 && retrieval.low >= threshold, loses = n > 0 && retrieval.high < threshold;
  const flat = rise <= maxRise;
  const what = `retrieval at offsets up to L0 inside 8 x L0 prompts ${k}/${n} ` +
    `(${ci(retrieval)}), bits/byte past L0 ${fmtRise(rise)} against before L0 on the same windows`;
  const verdict = keeps && flat
    ? `${name} extrapolates in length: ${what}.`
    : loses && !flat
    ? `${name} does not extrapolate in length: ${what}.`
    : `${name} extrapolates in length only in part: ${what}.`;
  return { retrieval, rise, verdict };
}

const fmtRise = (x: number) => `${x >= 0 ? "+" : ""}${(100 * x).toFixed(1)}%`;

/**
 * Accuracy of `option` (step 0) on `metric` by offset bin: where in the band its successes lie
 * (a rise with distance means keys near the prompt's start, not retrieval by the cue).
 */
export function accuracyByOffset(
  samples: readonly SampleRow[],
  option: string,
  metric: string,
  bins: number,
): { from: number; to: number; k: number; n: number }[] {
  const rows = samples.filter((r) =>
    r.option === option && r.metric === metric && r.step === 0 && r.offset !== null
  );
  if (!rows.length) return [];
  const lo = Math.min(...rows.map((r) => r.offset!)), hi = Math.max(...rows.map((r) => r.offset!));
  const width = (hi - lo + 1) / bins;
  return Array.from({ length: bins }, (_, b) => {
    const from = Math.ceil(lo + b * width), to = Math.ceil(lo + (b + 1) * width) - 1;
    const inBin = rows.filter((r) => r.offset! >= from && r.offset! <= to);
    return { from, to, k: inBin.filter((r) => r.value === 1).length, n: inBin.length };
  });
}
