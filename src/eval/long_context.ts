/**
 * The retrofit evaluation, built on bits/byte (bpb.ts) and retrieval scoring (retrieval.ts):
 *
 * - `near_bpb`: held-out bits/byte with contexts up to L0/4 (windows of L0/4 bytes: a causal model
 *   sees exactly the same as in positions 0..L0/4-1 of a longer window).
 * - `near_passkey_acc`: passkey in L0-long prompts with the key at the nearest offsets the task
 *   allows, up to max(L0/4, the shortest possible offset).
 * - `long_passkey_acc`, `long_multikey_acc`: accuracy over a grid context length (L0 .. 8 x L0,
 *   those long enough for the task) x needle depth (0 = start, 1 = just before the question).
 * - `bpb_by_length`: held-out bits/byte of whole windows of each length.
 * - `latency_ratio`: forward time per token at 8 x L0 over the base model's, timed interleaved
 *   (base, option, base, option, ...) in one process on the same backend and kernel path.
 *
 * Every example set is seeded and independent of the model, so all options, seeds and steps are
 * scored on the very same examples (paired comparisons).
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
import { makeMultiKey, makePasskey, type RetrievalExample } from "../data/passkey.ts";
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
  /** Context lengths of the retrieval grid and of bpb by length. */
  lengths: number[];
  depths: number[];
  /** Examples per grid cell (passkey and multi-key). */
  perCell: number;
  /** Examples of near-range passkey. */
  nearExamples: number;
  /** Windows of near-range bpb and of bpb at each length. */
  nearWindows: number;
  lengthWindows: number;
  /** Keys in a multi-key prompt (one needle, the rest distractors). */
  numKeys: number;
  /** Timing repeats per model for latency. */
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
    perCell: small ? 8 : 3,
    nearExamples: small ? 16 : 24,
    nearWindows: small ? 32 : 48,
    lengthWindows: small ? 8 : 4,
    numKeys: 3,
    latencyRepeats: small ? 15 : 3,
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
  /** Per-sample outcomes (1/0 for retrieval, bits for bpb windows), when kept. */
  samples?: number[];
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
  return { metric: "near_bpb", setting: `ctx=${seqLen}`, value: r.bitsPerByte, n: r.bytes };
}

/** Shortest retrieval offset the passkey task allows (needle tail + question). */
export function minimumPasskeyOffset(): number {
  const ex = makePasskey({
    filler: [{ id: "x", collection: "x", bytes: new Uint8Array(64).fill(97) }],
    length: 200,
    depth: 1,
    rng: new Rng(0),
  });
  return ex.offset;
}

/** Near-range passkey: L0-long prompts (or the shortest that fit), offsets up to max(L0/4, min). */
export function nearPasskey(
  model: Decoder,
  docs: readonly Document[],
  plan: EvaluationPlan,
): EvalRow {
  const minOffset = minimumPasskeyOffset();
  const maxOffset = Math.max(minOffset, Math.floor(plan.contextLength / 4));
  const length = Math.max(plan.contextLength, minOffset + 40);
  const rng = new Rng(deriveSeed(plan.seed, 2));
  const examples = Array.from(
    { length: plan.nearExamples },
    () =>
      makePasskey({
        filler: docs,
        length,
        offset: minOffset + rng.int(maxOffset - minOffset + 1),
        rng,
      }),
  );
  const scores = scoreRetrieval(model, examples, plan.batch);
  const samples = scores.map((s) => (s.correct ? 1 : 0));
  return {
    metric: "near_passkey_acc",
    setting: `ctx=${length};offset<=${maxOffset}`,
    value: mean(samples),
    n: samples.length,
    samples,
  };
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

/** Mean of `long_passkey_acc` over the grid (what the steps-to-threshold rule reads). */
export function gridMean(rows: readonly EvalRow[], metric: MetricName): number {
  const xs = rows.filter((r) => r.metric === metric && r.value !== null).map((r) => r.value!);
  return xs.length ? mean(xs) : NaN;
}

/**
 * Which metrics an evaluation computes: `probe` (during fine-tuning: near bpb and the long passkey
 * grid, enough for steps-to-threshold) or `full` (also near passkey, multi-key, bpb by length).
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
  const note = (what: string) =>
    log(`  eval ${what} (${((performance.now() - t0) / 1000).toFixed(1)} s)`);
  rows.push(nearBpb(model, docs, plan));
  note(`near_bpb ${rows[0].value!.toFixed(3)}`);
  rows.push(...retrievalGrid(model, docs, plan, "passkey"));
  note(`long_passkey ${gridMean(rows, "long_passkey_acc").toFixed(3)}`);
  if (depth === "full") {
    rows.push(nearPasskey(model, docs, plan));
    note(`near_passkey ${rows.at(-1)!.value!.toFixed(3)}`);
    rows.push(...retrievalGrid(model, docs, plan, "multikey"));
    note(`long_multikey ${gridMean(rows, "long_multikey_acc").toFixed(3)}`);
    rows.push(...bpbByLength(model, docs, plan));
    note(
      `bpb_by_length ${
        rows.filter((r) => r.metric === "bpb_by_length").map((r) => r.value!.toFixed(2)).join(" ")
      }`,
    );
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
 * Per-token forward latency of each model at `length` relative to `base`, measured interleaved
 * (one warm-up each, then `repeats` rounds of base, m1, m2, ...), median over rounds.
 *
 * @example
 * ```ts
 * const { ratios, baseSecondsPerToken } = latencyRatios(base, [pi, t5], 512, 5);
 * ```
 */
export function latencyRatios(
  base: Decoder,
  models: readonly Decoder[],
  length: number,
  repeats: number,
): { ratios: number[]; baseSecondsPerToken: number; secondsPerToken: number[] } {
  if (!Number.isInteger(repeats) || repeats < 1) {
    throw new RangeError(`repeats must be an integer >= 1; got ${repeats}`);
  }
  const rng = new Rng(7);
  const data = Int32Array.from({ length }, () => 32 + rng.int(90));
  const tokens = tf.tensor2d(data, [1, length], "int32");
  const all = [base, ...models];
  for (const m of all) timeForward(m, tokens); // warm-up: kernels, caches
  const times = all.map(() => [] as number[]);
  for (let r = 0; r < repeats; r++) all.forEach((m, i) => times[i].push(timeForward(m, tokens)));
  tokens.dispose();
  const med = times.map((t) => median(t) / length);
  return {
    ratios: med.slice(1).map((x) => x / med[0]),
    baseSecondsPerToken: med[0],
    secondsPerToken: med.slice(1),
  };
}

function mean(xs: readonly number[]): number {
  return xs.reduce((a, b) => a + b, 0) / xs.length;
}

function median(xs: readonly number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}
