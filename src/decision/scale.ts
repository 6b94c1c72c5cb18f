/**
 * What to expect at the `full` preset (4,096 -> 32,768), extrapolated from the committed bench
 * CSVs: the fused attention's measured time and wasm heap per length (`assets/bench/attention.csv`)
 * and, when present, training tokens/s per length (`assets/bench/train.csv`). Every number comes
 * from those files and the preset sizes; the stated assumptions are the only constants.
 *
 * @example
 * ```ts
 * import { fullScaleEstimate, readBenchCsv } from "./scale.ts";
 * const att = await readBenchCsv("../assets/bench/attention.csv");
 * const est = fullScaleEstimate({ attention: att, train: null, preset: getPreset("full") });
 * est.trainStepSeconds; // seconds per 32,768-token training step on the measured CPU
 * ```
 * @module
 */
import { parseCsv } from "../eval/results.ts";
import type { Preset } from "../model/presets.ts";

/** A bench CSV as records of strings. */
export type BenchRow = Record<string, string>;

/** Reads a bench CSV (null when the file does not exist). */
export async function readBenchCsv(path: string): Promise<BenchRow[] | null> {
  let text: string;
  try {
    text = await Deno.readTextFile(path);
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) return null;
    throw e;
  }
  const [header, ...rows] = parseCsv(text).filter((r) => r.length > 1);
  return rows.map((r) => Object.fromEntries(header.map((h, i) => [h, r[i] ?? ""])));
}

/** A power law y = c * x^k fitted in log-log space (least squares). */
export interface PowerLaw {
  k: number;
  c: number;
  at(x: number): number;
}

/**
 * Fits y = c x^k to points (x > 0, y > 0).
 *
 * @example
 * ```ts
 * fitPowerLaw([[1, 2], [2, 8]]).k; // 2
 * ```
 */
export function fitPowerLaw(points: readonly (readonly [number, number])[]): PowerLaw {
  const ok = points.filter(([x, y]) => x > 0 && y > 0);
  if (ok.length < 2) throw new RangeError(`points must hold >= 2 positive pairs; got ${ok.length}`);
  const lx = ok.map(([x]) => Math.log(x)), ly = ok.map(([, y]) => Math.log(y));
  const mx = lx.reduce((a, b) => a + b) / ok.length, my = ly.reduce((a, b) => a + b) / ok.length;
  let sxy = 0, sxx = 0;
  for (let i = 0; i < ok.length; i++) sxy += (lx[i] - mx) * (ly[i] - my), sxx += (lx[i] - mx) ** 2;
  const k = sxx > 0 ? sxy / sxx : 0;
  const c = Math.exp(my - k * mx);
  return { k, c, at: (x: number) => c * x ** k };
}

/** The fused attention's measured points for one mode and head dim (ok rows only). */
export function attentionPoints(
  rows: readonly BenchRow[],
  o: { mode: string; d: number; impl?: string; backend?: string },
): { n: number; heads: number; ms: number; heapMiB: number }[] {
  return rows
    .filter((r) =>
      r.impl === (o.impl ?? "fused") && r.backend === (o.backend ?? "wasm") &&
      r.mode === o.mode && Number(r.d) === o.d && r.status === "ok"
    )
    .map((r) => ({
      n: Number(r.n),
      heads: Number(r.heads),
      ms: Number(r.ms),
      heapMiB: Number(r.wasmHeapMiB),
    }))
    .sort((a, b) => a.n - b.n);
}

/** Least-squares line y = intercept + slope x. */
export function linearFit(points: readonly (readonly [number, number])[]): {
  intercept: number;
  slope: number;
} {
  const n = points.length;
  if (n < 2) throw new RangeError(`points must hold >= 2 pairs; got ${n}`);
  const mx = points.reduce((s, [x]) => s + x, 0) / n,
    my = points.reduce((s, [, y]) => s + y, 0) / n;
  let sxy = 0, sxx = 0;
  for (const [x, y] of points) sxy += (x - mx) * (y - my), sxx += (x - mx) ** 2;
  const slope = sxx > 0 ? sxy / sxx : 0;
  return { intercept: my - slope * mx, slope };
}

/** The estimate for one preset. */
export interface ScaleEstimate {
  mode: string;
  headDim: number;
  /** Exponent of the fused attention's time in N (from the largest measured lengths). */
  attentionExponent: number;
  /** Largest measured N (the extrapolation starts there). */
  measuredMaxN: number;
  /** Forward attention seconds at the preset's target length, all heads and layers. */
  attentionForwardSeconds: number;
  /** One training step at the target length (batch 1): attention + the rest, seconds. */
  trainStepSeconds: number;
  /** Where the non-attention part came from. */
  restSource: string;
  /** FLOPs of one training step (attention + 6 x params x tokens). */
  trainStepFlops: number;
  /** Memory of one training step: weights + AdamW state + grads, activations, attention heap. */
  memoryGiB: { weightsAndOptimizer: number; activations: number; attention: number; total: number };
  assumptions: string[];
}

/** Backward of the fused attention relative to its forward (recompute + two matmuls). */
const BACKWARD_OVER_FORWARD = 2.5;
/** Floats kept per token per layer for backward: x, norms, q, k, v, attn out, o, gated MLP. */
const savedFloatsPerToken = (p: Preset) => 9 * p.dModel + 3 * p.mlpHidden;
const paramsOf = (p: Preset) =>
  p.vocabSize * p.dModel * 2 + p.numLayers * (4 * p.dModel * p.dModel + 3 * p.dModel * p.mlpHidden);

/**
 * Our rows of the training bench that the extrapolation reads: one worker (a core's rate: the
 * per-token cost it scales; `-1w` rows, or the old CSV's unsuffixed ones) and, when any clean row
 * exists, only rows without a contamination note.
 */
export function ourTrainRows(rows: readonly BenchRow[]): BenchRow[] {
  const ours = rows.filter((r) =>
    (r.impl ?? "").startsWith("tfjs") && !/-(\d+)w$/.test(r.impl ?? "") ||
    /^tfjs.*-1w$/.test(r.impl ?? "")
  );
  const clean = ours.filter((r) => !(r.note ?? "").includes("contaminated"));
  return clean.length ? clean : ours;
}

/**
 * Extrapolates a training step of `preset` at its target length from the bench CSVs.
 *
 * @example
 * ```ts
 * fullScaleEstimate({ attention: rows, train: null, preset: getPreset("full") }).memoryGiB.total;
 * ```
 */
export function fullScaleEstimate(o: {
  attention: readonly BenchRow[];
  train: readonly BenchRow[] | null;
  preset: Preset;
  mode?: string;
  /** The preset the training bench measured (its sizes scale the non-attention part). */
  trainPreset?: Preset;
}): ScaleEstimate {
  const p = o.preset, mode = o.mode ?? "none";
  const dims = [...new Set(attentionPoints(o.attention, { mode, d: p.headDim }).map((x) => x.n))];
  const d = dims.length ? p.headDim : Math.max(
    ...o.attention.filter((r) => r.impl === "fused" && r.status === "ok").map((r) => Number(r.d)),
  );
  const pts = attentionPoints(o.attention, { mode, d });
  if (pts.length < 2) {
    throw new RangeError(`attention bench must hold >= 2 fused ok rows for mode ${mode}`);
  }
  const top = pts.slice(-3);
  const law = fitPowerLaw(top.map((x) => [x.n, x.ms / x.heads] as const));
  const N = p.targetLength;
  // Per head at the bench's head dim; scale linearly in the head dim when it differs.
  const perHeadMs = law.at(N) * (p.headDim / d);
  const fwd = (perHeadMs * p.numHeads * p.numLayers) / 1000;
  const params = paramsOf(p);
  let rest = NaN;
  let restSource = "assets/bench/train.csv absent: attention only (a lower bound)";
  const trainRows = ourTrainRows(o.train ?? []);
  const tp = o.trainPreset;
  if (tp && trainRows.length) {
    // Seconds per token = a + b T (attention grows with T); a is the non-attention part, scaled
    // from the benched model to this one by the parameter ratio.
    const pts = trainRows.map((r) => [Number(r.seq_len), 1 / Number(r.tokens_per_s)] as const)
      .filter(([t, s]) => t > 0 && Number.isFinite(s) && s > 0);
    const a = pts.length >= 2 ? linearFit(pts).intercept : pts[0]?.[1] ?? NaN;
    const perToken = a > 0 ? a : Math.min(...pts.map(([, s]) => s));
    rest = N * perToken * (params / paramsOf(tp));
    restSource =
      `assets/bench/train.csv (${tp.name} model, ${pts.length} lengths: seconds/token = ` +
      `a + b T, a scaled by the parameter ratio)`;
  }
  const attTrain = fwd * (1 + BACKWARD_OVER_FORWARD);
  const heapAt = fitPowerLaw(top.map((x) => [x.n, x.heapMiB / x.heads] as const));
  const gib = (bytes: number) => bytes / 2 ** 30;
  const weights = gib(params * 4 * 4); // weights, grads, AdamW m and v
  const activations = gib(N * p.numLayers * savedFloatsPerToken(p) * 4);
  const attention = gib(heapAt.at(N) * p.numHeads * (p.headDim / d) * 2 ** 20);
  return {
    mode,
    headDim: d,
    attentionExponent: law.k,
    measuredMaxN: top.at(-1)!.n,
    attentionForwardSeconds: fwd,
    trainStepSeconds: attTrain + (Number.isFinite(rest) ? rest : 0),
    restSource,
    trainStepFlops: p.numLayers * p.numHeads * 2 * N * N * p.headDim * (1 + BACKWARD_OVER_FORWARD) +
      6 * params * N,
    memoryGiB: {
      weightsAndOptimizer: weights,
      activations,
      attention,
      total: weights + activations + attention,
    },
    assumptions: [
      `attention time per head follows the power law fitted to the ${top.length} longest measured lengths`,
      `the attention backward costs ${BACKWARD_OVER_FORWARD}x its forward (recompute + two matmuls)`,
      `time grows linearly with the head dim (${d} measured, ${p.headDim} needed)`,
      `activations: ${savedFloatsPerToken(p)} float32 per token per layer kept for backward`,
      "weights, gradients and both AdamW moments in float32",
    ],
  };
}
