/**
 * The retrofit evaluation, built on bits/byte (bpb.ts) and retrieval scoring (retrieval.ts).
 *
 * The constraint metrics are the case study's own bands (DESIGN.md, evidence protocol):
 *
 * - `near_bpb`: held-out bits/byte with contexts up to L0/4 (windows of L0/4 bytes: a causal model
 *   sees exactly the same as in positions 0..L0/4-1 of a longer window); per-window values kept.
 * - `near_retrieval_acc`, `near_retrieval_heldout_acc`: passkeys at offsets (key to first answer
 *   byte) drawn uniformly from [the wording's shortest offset, L0/4] in L0-long prompts, with the
 *   training wordings and with held-out wordings (never seen in training).
 * - `long_retrieval_acc`, `long_retrieval_heldout_acc`: passkeys at offsets drawn uniformly from
 *   [2.5 L0, 7.5 L0] in 8 x L0 prompts (the case's "10k-30k of 32k"), both wording sets.
 * - `long_multikey_band_acc`: the needle among 3 labelled keys in the same band (the base model
 *   never learned multi-key, so this is a floor, not a comparison).
 *
 * Figures only: `long_passkey_acc` / `long_multikey_acc` over the grid context x needle depth, and
 * `bpb_by_length`. Every example set is seeded and independent of the model, so all options,
 * seeds and steps are scored on the very same examples (paired comparisons); a probe's examples
 * are the first ones of the full evaluation's, so budgets are paired too.
 *
 * @example
 * ```ts
 * import { evaluationPlan, evaluateModel } from "./long_context.ts";
 * const plan = evaluationPlan("tiny");
 * const rows = evaluateModel(model, corpus.heldOut, plan, "full");
 * ```
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import type { Document } from "../data/corpus.ts";
import {
  makeMultiKey,
  makePasskey,
  maximumOffset,
  minimumOffset,
  type RetrievalExample,
  type Wording,
  WORDING_SETS,
  type WordingSet,
} from "../data/passkey.ts";
import { deriveSeed, Rng } from "../data/rng.ts";
import type { Decoder } from "../model/decoder.ts";
import { getPreset } from "../model/presets.ts";
import { bitsPerByte } from "./bpb.ts";
import { scoreRetrieval } from "./retrieval.ts";
import type { MetricName } from "./results.ts";

/** Sizes of the evaluation (per preset defaults from {@link evaluationPlan}). */
export interface EvaluationPlan {
  contextLength: number;
  targetLength: number;
  /** Context lengths of the figure grid and of bpb by length. */
  lengths: number[];
  depths: number[];
  /** Examples per grid cell (figure only). */
  perCell: number;
  /** Near-band retrieval examples per wording set. */
  nearExamples: number;
  /** Long-band retrieval examples per wording set at a full evaluation (step 0, final budget). */
  longExamples: number;
  /** Long-band examples per wording set at a probe (intermediate budgets): the first of the above. */
  probeLongExamples: number;
  /** Long-band multi-key examples (full evaluations only). */
  multiKeyExamples: number;
  /** Windows of near-range bpb and of bpb at each length. */
  nearWindows: number;
  lengthWindows: number;
  /** Keys in a multi-key prompt (one needle, the rest distractors). */
  numKeys: number;
  /** Interleaved timing rounds for latency (each round times every model once). */
  latencyRepeats: number;
  batch: number;
  seed: number;
}

/** Default plan of a preset; `overrides` replace fields. */
export function evaluationPlan(
  preset: string,
  overrides: Partial<EvaluationPlan> = {},
): EvaluationPlan {
  const p = getPreset(preset);
  const L0 = p.contextLength;
  const small = preset === "tiny";
  return {
    contextLength: L0,
    targetLength: p.targetLength,
    lengths: [1, 2, 4, 8].map((m) => m * L0),
    depths: small ? [0, 0.5, 1] : [0, 0.25, 0.5, 0.75, 1],
    perCell: small ? 4 : 3,
    nearExamples: small ? 16 : 50,
    longExamples: small ? 16 : 100,
    probeLongExamples: small ? 8 : 30,
    multiKeyExamples: small ? 8 : 30,
    nearWindows: small ? 32 : 64,
    lengthWindows: small ? 8 : 4,
    numKeys: 3,
    latencyRepeats: small ? 10 : 12,
    batch: 2,
    seed: 2024,
    ...overrides,
  };
}

/** One measured value (a metrics.csv row without option, seed, step, commit, command). */
export interface EvalRow {
  metric: MetricName;
  setting: string;
  value: number | null;
  n: number;
  /** Per-sample outcomes (1/0 for retrieval, bits/byte for bpb windows), when kept. */
  samples?: number[];
  /** Retrieval offset (key to first answer byte) of each sample, for retrieval rows. */
  offsets?: number[];
  /** Wording id of each sample, for retrieval rows. */
  wordings?: string[];
}

/** Near-range bits/byte: windows of L0/4 held-out bytes. */
export function nearBpb(model: Decoder, docs: readonly Document[], plan: EvaluationPlan): EvalRow {
  const seqLen = Math.max(2, Math.floor(plan.contextLength / 4));
  const r = bitsPerByte(model, docs, {
    seqLen,
    windows: plan.nearWindows,
    batch: 8,
    seed: deriveSeed(plan.seed, 1),
  });
  return {
    metric: "near_bpb",
    setting: `ctx=${seqLen}`,
    value: r.bitsPerByte,
    n: r.bytes,
    samples: r.byWindow,
  };
}

/** A retrieval band: where keys sit and in which prompts. */
export interface Band {
  name: "near" | "long";
  /** Prompt + answer length. */
  length: number;
  /** Offsets are drawn uniformly from [max(lo, the wording's shortest), hi]. */
  lo: number;
  hi: number;
}

/** The long band in units of L0: the case's "10k-30k of 32k" at 8 x L0, about 2.5-7.5 L0. */
export const LONG_BAND_L0 = { lo: 2.5, hi: 7.5 } as const;

/**
 * The two bands of a plan for a wording set. Near: offsets up to L0/4 in L0-long prompts (widened
 * to the set's shortest offset + 16 when L0/4 is shorter, as at the tiny preset; the setting
 * records it). Long: offsets in [2.5 L0, 7.5 L0] in 8 x L0 prompts.
 */
export function retrievalBands(
  plan: EvaluationPlan,
  wordingSet: WordingSet = "training",
): { near: Band; long: Band } {
  const L0 = plan.contextLength;
  const shortest = Math.min(...WORDING_SETS[wordingSet].map((w) => minimumOffset(w)));
  const nearHi = Math.max(Math.floor(L0 / 4), shortest + 16);
  return {
    near: { name: "near", length: Math.max(L0, nearHi + 48), lo: 1, hi: nearHi },
    long: {
      name: "long",
      length: plan.targetLength,
      lo: Math.ceil(LONG_BAND_L0.lo * L0),
      hi: Math.floor(LONG_BAND_L0.hi * L0),
    },
  };
}

/**
 * The seeded examples of a band: `count` prompts, each with a wording drawn from `wordingSet`
 * (those that fit the band) and an offset drawn uniformly inside the band. Example i is the same
 * whatever `count` is, so a probe's examples are the first of the full evaluation's.
 */
export function bandExamples(
  docs: readonly Document[],
  plan: EvaluationPlan,
  band: Band,
  kind: RetrievalExample["kind"],
  wordingSet: WordingSet,
  count: number,
): RetrievalExample[] {
  // A wording's offsets are clamped to what it allows in this prompt length.
  const hiOf = (w: Wording) => Math.min(band.hi, maximumOffset(w, band.length));
  const wordings = WORDING_SETS[wordingSet].filter((w) =>
    Math.max(band.lo, minimumOffset(w)) <= hiOf(w)
  );
  if (kind === "passkey" && !wordings.length) {
    throw new RangeError(`no ${wordingSet} wording fits the ${band.name} band (hi ${band.hi})`);
  }
  const kindSeed = kind === "passkey" ? 10 : 11;
  const setSeed = Object.keys(WORDING_SETS).indexOf(wordingSet);
  return Array.from({ length: count }, (_, i) => {
    const rng = new Rng(deriveSeed(plan.seed, kindSeed, setSeed, band.length, band.hi, i));
    const filler = docs;
    if (kind === "multikey") {
      const offset = band.lo + rng.int(band.hi - band.lo + 1);
      return makeMultiKey({ filler, length: band.length, offset, rng, numKeys: plan.numKeys });
    }
    const wording = rng.pick(wordings);
    const lo = Math.max(band.lo, minimumOffset(wording));
    const offset = lo + rng.int(hiOf(wording) - lo + 1);
    return makePasskey({ filler, length: band.length, offset, rng, wording });
  });
}

/** Metric names of the band metrics. */
const BAND_METRICS = {
  near: {
    training: "near_retrieval_acc",
    heldout: "near_retrieval_heldout_acc",
    tail: "near_retrieval_heldout_tail_acc",
  },
  long: {
    training: "long_retrieval_acc",
    heldout: "long_retrieval_heldout_acc",
    tail: "long_retrieval_heldout_tail_acc",
  },
} as const;

/**
 * Accuracy on a band's examples, one sample (1/0) per example, with offsets and wordings. For the
 * held-out wordings a second row scores the key's last 4 digits with the first one given
 * (teacher-forced). The filler has no digits, so the key is the prompt's only digit string: this
 * 'tail' score shows that the model reaches back that far and copies a digit string, not that it
 * understood which key was asked for (an independent review found it at 40/40 even with the
 * question and the needle's label removed).
 */
export function bandRetrieval(
  model: Decoder,
  docs: readonly Document[],
  plan: EvaluationPlan,
  band: Band,
  kind: RetrievalExample["kind"],
  wordingSet: "training" | "heldout",
  count: number,
): EvalRow[] {
  const examples = bandExamples(docs, plan, band, kind, wordingSet, count);
  const scores = scoreRetrieval(model, examples, plan.batch);
  const label = kind === "multikey" ? "multikey" : wordingSet;
  const row = (metric: MetricName, samples: number[]): EvalRow => ({
    metric,
    setting: `ctx=${band.length};offset=${band.lo}..${band.hi};wording=${label}`,
    value: mean(samples),
    n: samples.length,
    samples,
    offsets: examples.map((e) => e.offset),
    wordings: examples.map((e) => e.wording),
  });
  if (kind === "multikey") {
    return [row("long_multikey_band_acc", scores.map((s) => (s.correct ? 1 : 0)))];
  }
  const rows = [row(BAND_METRICS[band.name][wordingSet], scores.map((s) => (s.correct ? 1 : 0)))];
  if (wordingSet === "heldout") {
    const tail = scores.map((s, i) =>
      s.predicted.slice(1) === examples[i].answerText.slice(1) ? 1 : 0
    );
    rows.push(row(BAND_METRICS[band.name].tail, tail));
  }
  return rows;
}

/** The grid cells (length, depth) long enough for a task; others are skipped. */
export function retrievalCells(
  kind: RetrievalExample["kind"],
  plan: EvaluationPlan,
): { length: number; depth: number }[] {
  const out: { length: number; depth: number }[] = [];
  for (const length of plan.lengths) {
    if (!fits(kind, length, plan.numKeys)) continue;
    for (const depth of plan.depths) out.push({ length, depth });
  }
  return out;
}

function fits(kind: RetrievalExample["kind"], length: number, numKeys: number): boolean {
  const filler = [{ id: "x", collection: "x", bytes: new Uint8Array(64).fill(97) }];
  try {
    if (kind === "passkey") makePasskey({ filler, length, depth: 0, rng: new Rng(0) });
    else makeMultiKey({ filler, length, depth: 0, rng: new Rng(0), numKeys });
    return true;
  } catch (e) {
    if (e instanceof RangeError) return false;
    throw e;
  }
}

/** Retrieval accuracy on every grid cell (one row per cell; setting `ctx=..;depth=..`). */
export function retrievalGrid(
  model: Decoder,
  docs: readonly Document[],
  plan: EvaluationPlan,
  kind: RetrievalExample["kind"],
): EvalRow[] {
  const kindSeed = kind === "passkey" ? 3 : 4;
  return retrievalCells(kind, plan).map(({ length, depth }, cell) => {
    const rng = new Rng(deriveSeed(plan.seed, kindSeed, length, cell));
    const examples = Array.from(
      { length: plan.perCell },
      () =>
        kind === "passkey"
          ? makePasskey({ filler: docs, length, depth, rng })
          : makeMultiKey({ filler: docs, length, depth, rng, numKeys: plan.numKeys }),
    );
    const samples = scoreRetrieval(model, examples, plan.batch).map((s) => (s.correct ? 1 : 0));
    return {
      metric: kind === "passkey" ? "long_passkey_acc" : "long_multikey_acc",
      setting: `ctx=${length};depth=${depth}`,
      value: mean(samples),
      n: samples.length,
      samples,
      offsets: examples.map((e) => e.offset),
      wordings: examples.map((e) => e.wording),
    } as EvalRow;
  });
}

/** Bits/byte of whole held-out windows at each grid length. */
export function bpbByLength(
  model: Decoder,
  docs: readonly Document[],
  plan: EvaluationPlan,
): EvalRow[] {
  return plan.lengths.map((length) => {
    const r = bitsPerByte(model, docs, {
      seqLen: length,
      windows: plan.lengthWindows,
      batch: Math.max(1, Math.floor(plan.batch * plan.contextLength * 2 / length)),
      seed: deriveSeed(plan.seed, 5, length),
    });
    return {
      metric: "bpb_by_length",
      setting: `ctx=${length}`,
      value: r.bitsPerByte,
      n: r.bytes,
    } as EvalRow;
  });
}

/**
 * Unweighted mean of `metric`'s non-null row values: each grid cell or band counts once, whatever
 * its `n`. NaN when the metric has no non-null row.
 */
export function gridMean(rows: readonly EvalRow[], metric: MetricName): number {
  const xs = rows.filter((r) => r.metric === metric && r.value !== null).map((r) => r.value!);
  return xs.length ? mean(xs) : NaN;
}

/**
 * Which metrics an evaluation computes: `probe` (intermediate budgets: near bpb, both near bands,
 * the first `probeLongExamples` of both long bands) or `full` (step 0 and the final budget: also
 * every long example, multi-key, the figure grid and bpb by length).
 */
export type EvalDepth = "probe" | "full";

/** Runs the evaluation of one model. `log` receives one line per metric family. */
export function evaluateModel(
  model: Decoder,
  docs: readonly Document[],
  plan: EvaluationPlan,
  depth: EvalDepth,
  log: (line: string) => void = () => {},
): EvalRow[] {
  const rows: EvalRow[] = [];
  const t0 = performance.now();
  const note = (row: EvalRow | EvalRow[]) => {
    const r = Array.isArray(row) ? row : [row];
    rows.push(...r);
    const v = gridMean(r, r[0].metric);
    log(
      `  eval ${r[0].metric} ${v.toFixed(3)} (${((performance.now() - t0) / 1000).toFixed(1)} s)`,
    );
  };
  const longCount = depth === "full" ? plan.longExamples : plan.probeLongExamples;
  note(nearBpb(model, docs, plan));
  for (const w of ["training", "heldout"] as const) {
    const { near, long } = retrievalBands(plan, w);
    note(bandRetrieval(model, docs, plan, near, "passkey", w, plan.nearExamples));
    note(bandRetrieval(model, docs, plan, long, "passkey", w, longCount));
  }
  if (depth === "full") {
    const { long } = retrievalBands(plan);
    note(bandRetrieval(model, docs, plan, long, "multikey", "training", plan.multiKeyExamples));
    note(retrievalGrid(model, docs, plan, "passkey"));
    note(retrievalGrid(model, docs, plan, "multikey"));
    note(bpbByLength(model, docs, plan));
  }
  return rows;
}

/** Seconds of one forward pass of `model` on `tokens` (waits for the data). */
function timeForward(model: Decoder, tokens: tf.Tensor2D): number {
  const t0 = performance.now();
  const logits = model.forward(tokens);
  logits.dataSync();
  logits.dispose();
  return (performance.now() - t0) / 1000;
}

/**
 * Forward time of each model at `length` relative to `base`, interleaved: one warm-up each, then
 * `repeats` rounds of (base, m1, m2, ...), the order rotated by one each round. Returns each round's ratio per model (what an interval
 * resamples) and the base model's median seconds per token.
 *
 * @example
 * ```ts
 * const { ratios } = latencyRounds(base, [pi, t5], 512, 12);
 * ratios[1].length; // 12 rounds of t5 / base
 * ```
 */
export function latencyRounds(
  base: Decoder,
  models: readonly Decoder[],
  length: number,
  repeats: number,
): { ratios: number[][]; baseSecondsPerToken: number } {
  if (!Number.isInteger(repeats) || repeats < 1) {
    throw new RangeError(`repeats must be an integer >= 1; got ${repeats}`);
  }
  const rng = new Rng(7);
  const data = Int32Array.from({ length }, () => 32 + rng.int(90));
  const tokens = tf.tensor2d(data, [1, length], "int32");
  const all = [base, ...models];
  for (const m of all) timeForward(m, tokens); // warm-up: kernels, caches
  const ratios = models.map(() => [] as number[]);
  const baseTimes: number[] = [];
  for (let r = 0; r < repeats; r++) {
    // The order rotates each round, so no model is always timed first (right after another
    // model's allocations) or always last.
    const t = new Array<number>(all.length);
    for (let k = 0; k < all.length; k++) {
      const i = (r + k) % all.length;
      t[i] = timeForward(all[i], tokens);
    }
    baseTimes.push(t[0]);
    models.forEach((_, i) => ratios[i].push(t[i + 1] / t[0]));
  }
  tokens.dispose();
  return { ratios, baseSecondsPerToken: median(baseTimes) / length };
}

/** Median-of-rounds ratios (see {@link latencyRounds}), for quick checks in notebooks. */
export function latencyRatios(
  base: Decoder,
  models: readonly Decoder[],
  length: number,
  repeats: number,
): { ratios: number[]; baseSecondsPerToken: number } {
  const r = latencyRounds(base, models, length, repeats);
  return { ratios: r.ratios.map(median), baseSecondsPerToken: r.baseSecondsPerToken };
}

function mean(xs: readonly number[]): number {
  return xs.reduce((a, b) => a + b, 0) / xs.length;
}

function median(xs: readonly number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}
