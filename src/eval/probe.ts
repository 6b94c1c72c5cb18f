/**
 * Probes of the shipped base model's attention, for the chapters on positions: its own queries and
 * keys, the score a head gives against offset under any RoPE scaling, and a head's attention map
 * under any retrofit at step 0. Everything loads whatever checkpoint is at
 * `assets/checkpoints/<preset>/model.safetensors`, so the figures follow the checkpoint when it is
 * replaced (re-execute the notebooks that use this module).
 *
 * @example
 * ```ts
 * const base = await loadBaseModel(presetFromEnv());
 * const qk = captureQK(base.config, base.weights, tokens, 3); // layer 3, pre- and post-rotary
 * const mean = meanQK(qk, 0); // head 0's mean query and key
 * const curve = scoreCurve(mean, invFreq, [0, 1, 2, 4, 8]);
 * ```
 * @module
 */
import { exists } from "../util/files.ts";
import * as tf from "@tensorflow/tfjs";
import { join } from "node:path";
import { type Document, loadCorpus } from "../data/corpus.ts";
import { sampleWindow } from "../data/batches.ts";
import { Rng } from "../data/rng.ts";
import { loadCheckpoint } from "../model/checkpoint.ts";
import { type ModelConfig, modelConfig } from "../model/config.ts";
import { Decoder, initWeights, type Weights } from "../model/decoder.ts";
import type { Preset } from "../model/presets.ts";
import { alibiSlopes } from "../positions/alibi.ts";
import { relativePositionBucket } from "../positions/t5.ts";
import { convert } from "../retrofit/registry.ts";

const ROOT = new URL("../..", import.meta.url).pathname;

/** Where the base model of a preset is shipped. */
export function baseCheckpointPath(presetName: string): string {
  return join(ROOT, "assets", "checkpoints", presetName, "model.safetensors");
}

/** The base model: config, weights, where they came from. */
export interface BaseModel {
  config: ModelConfig;
  weights: Weights;
  /** The checkpoint path, or a note that a seeded random model stands in. */
  source: string;
  shipped: boolean;
  metadata: Record<string, string>;
}

/**
 * Loads the shipped base checkpoint of `preset`; where none is shipped (the `tiny` preset of the
 * tests) a seeded, untrained model of the same shape stands in and `shipped` is false.
 */
export async function loadBaseModel(preset: Preset, seed = 0): Promise<BaseModel> {
  const path = baseCheckpointPath(preset.name);
  if (!(await exists(path))) {
    const config = modelConfig(preset);
    return {
      config,
      weights: initWeights(config, seed),
      source: `no checkpoint at ${path}: an untrained model (seed ${seed}) stands in`,
      shipped: false,
      metadata: {},
    };
  }
  const { config, weights, metadata } = await loadCheckpoint(path);
  return { config, weights, source: path, shipped: true, metadata };
}

/** One layer's queries and keys for one sequence, [H][T][headDim] flattened. */
export interface CapturedQK {
  heads: number;
  tokens: number;
  headDim: number;
  /** Before the rotation. */
  q: Float32Array;
  k: Float32Array;
  /** As the attention reads them (rotated and scaled for RoPE; equal to q, k otherwise). */
  qRotated: Float32Array;
  kRotated: Float32Array;
}

/** Runs `config`/`weights` on `tokens` (one sequence) and returns layer `layer`'s q and k. */
export function captureQK(
  config: ModelConfig,
  weights: Weights,
  tokens: ArrayLike<number>,
  layer: number,
): CapturedQK {
  if (!Number.isInteger(layer) || layer < 0 || layer >= config.numLayers) {
    throw new RangeError(`layer must be an integer in [0, ${config.numLayers - 1}]; got ${layer}`);
  }
  if (tokens.length < 1) throw new RangeError("tokens must hold at least one token");
  const model = Decoder.fromWeights(config, weights);
  let got: CapturedQK | undefined;
  try {
    const input = tf.tensor2d(Int32Array.from(tokens), [1, tokens.length], "int32");
    const logits = model.forward(input, {
      inspect: (i, t) => {
        if (i !== layer) return;
        got = {
          heads: config.numHeads,
          tokens: tokens.length,
          headDim: config.headDim,
          q: t.q.dataSync() as Float32Array,
          k: t.k.dataSync() as Float32Array,
          qRotated: t.qRotated.dataSync() as Float32Array,
          kRotated: t.kRotated.dataSync() as Float32Array,
        };
      },
    });
    logits.dispose();
    input.dispose();
  } finally {
    model.dispose();
  }
  return got!;
}

/** A head's mean query and mean key over the sequence (pre-rotary), in float64. */
export function meanQK(qk: CapturedQK, head: number): { q: Float64Array; k: Float64Array } {
  if (!Number.isInteger(head) || head < 0 || head >= qk.heads) {
    throw new RangeError(`head must be an integer in [0, ${qk.heads - 1}]; got ${head}`);
  }
  const d = qk.headDim;
  const q = new Float64Array(d), k = new Float64Array(d);
  const base = head * qk.tokens * d;
  for (let t = 0; t < qk.tokens; t++) {
    for (let j = 0; j < d; j++) {
      q[j] += qk.q[base + t * d + j] / qk.tokens;
      k[j] += qk.k[base + t * d + j] / qk.tokens;
    }
  }
  return { q, k };
}

/**
 * The logit q_m . k_n / sqrt(d) that a query q and key k get at each offset m - n when rotated
 * with `invFreq` ("rotate half" pairs (j, j + d/2)) and scaled by `attentionScale` on each side.
 */
export function scoreCurve(
  qk: { q: ArrayLike<number>; k: ArrayLike<number> },
  invFreq: ArrayLike<number>,
  offsets: readonly number[],
  attentionScale = 1,
): Float64Array {
  const half = invFreq.length, d = 2 * half;
  if (qk.q.length !== d || qk.k.length !== d) {
    throw new RangeError(`q and k must have length 2 x invFreq.length = ${d}`);
  }
  const re = new Float64Array(half), im = new Float64Array(half);
  for (let i = 0; i < half; i++) {
    // z_q conj(z_k) with z = x_i + i x_{i + d/2}
    re[i] = qk.q[i] * qk.k[i] + qk.q[i + half] * qk.k[i + half];
    im[i] = qk.q[i + half] * qk.k[i] - qk.q[i] * qk.k[i + half];
  }
  const c = (attentionScale * attentionScale) / Math.sqrt(d);
  return Float64Array.from(offsets, (off) => {
    let s = 0;
    for (let i = 0; i < half; i++) {
      const a = off * invFreq[i];
      s += re[i] * Math.cos(a) - im[i] * Math.sin(a);
    }
    return c * s;
  });
}

/** The additive positional bias of a model's head, as a function of (query, key) positions. */
export function positionalBias(
  config: ModelConfig,
  weights: Weights,
  head: number,
): (query: number, key: number) => number {
  const pos = config.positional;
  if (pos.type === "alibi") {
    const slope = alibiSlopes(config.numHeads)[head];
    return (i, j) => -slope * (i - j);
  }
  if (pos.type === "t5") {
    const table = weights.get("t5.relative_attention_bias");
    if (!table) throw new RangeError("a t5 model needs the tensor t5.relative_attention_bias");
    const opts = { bidirectional: false, numBuckets: pos.numBuckets, maxDistance: pos.maxDistance };
    return (i, j) => table.data[relativePositionBucket(j - i, opts) * config.numHeads + head];
  }
  return () => 0;
}

/** Options of {@link attentionMap}. */
export interface AttentionMapOptions {
  /** Query rows to keep, evenly spaced, the last query included (default 96). */
  rows?: number;
  /** Key columns: the keys are summed into this many equal blocks (default 96). */
  cols?: number;
  bias?: (query: number, key: number) => number;
  /** Distances [from, to] whose attention mass each kept row also reports (`farMass`). */
  far?: { from: number; to: number };
}

/**
 * A head's causal attention probabilities (softmax of q.k / sqrt(d) + bias) for a few query rows,
 * each row's keys pooled into `cols` blocks (so a row sums to 1). Also returns, per kept row, the
 * query position.
 */
export function attentionMap(
  qk: CapturedQK,
  head: number,
  opts: AttentionMapOptions = {},
): { map: number[][]; queries: number[]; blockSize: number; farMass: number[] } {
  const T = qk.tokens, d = qk.headDim;
  const rows = Math.min(opts.rows ?? 96, T), cols = Math.min(opts.cols ?? 96, T);
  if (!(rows >= 1 && cols >= 1)) throw new RangeError("rows and cols must be >= 1");
  const blockSize = Math.ceil(T / cols);
  const base = head * T * d;
  const queries = Array.from({ length: rows }, (_, r) => Math.round(((r + 1) / rows) * T) - 1);
  const farMass: number[] = [];
  const map = queries.map((i) => {
    const logits = new Float64Array(i + 1);
    let max = -Infinity;
    for (let j = 0; j <= i; j++) {
      let s = 0;
      for (let c = 0; c < d; c++) {
        s += qk.qRotated[base + i * d + c] * qk.kRotated[base + j * d + c];
      }
      logits[j] = s / Math.sqrt(d) + (opts.bias ? opts.bias(i, j) : 0);
      max = Math.max(max, logits[j]);
    }
    let total = 0;
    for (let j = 0; j <= i; j++) total += logits[j] = Math.exp(logits[j] - max);
    const row = new Array<number>(Math.ceil(T / blockSize)).fill(0);
    let far = 0;
    for (let j = 0; j <= i; j++) {
      row[Math.floor(j / blockSize)] += logits[j] / total;
      if (opts.far && i - j >= opts.far.from && i - j <= opts.far.to) far += logits[j] / total;
    }
    farMass.push(far);
    return row;
  });
  return { map, queries, blockSize, farMass };
}

/**
 * `length` tokens of held-out text (documents concatenated in manifest order), the same bytes on
 * every run: the probes read the base model on text it was not trained on.
 */
export async function heldOutTokens(length: number): Promise<Uint8Array> {
  if (!Number.isInteger(length) || length < 1) {
    throw new RangeError(`length must be an integer >= 1; got ${length}`);
  }
  const { heldOut } = await loadCorpus();
  const out = new Uint8Array(length);
  let at = 0;
  for (let d = 0; at < length; d = (d + 1) % heldOut.length) {
    const bytes = heldOut[d].bytes.subarray(0, length - at);
    out.set(bytes, at);
    at += bytes.length;
  }
  return out;
}

/** One retrofit's attention map at step 0 (converted, not fine-tuned). */
export interface RetrofitMap {
  id: string;
  map: number[][];
  queries: number[];
  blockSize: number;
  /** Mean attention mass on keys `farFrom`..`farTo` back, over the kept queries that reach them. */
  farMass: number;
}

/**
 * A head's attention map under each retrofit in `ids` at step 0: the base weights converted by
 * the retrofit registry, run on `tokens`, layer `layer`'s q/k read back, the head's probabilities
 * computed with its positional bias. `farFrom`/`farTo` delimit the distances of `farMass`.
 */
export function retrofitMaps(
  base: BaseModel,
  tokens: ArrayLike<number>,
  o: { ids: readonly string[]; layer: number; head: number; farFrom: number; farTo: number } & {
    rows?: number;
    cols?: number;
  },
): RetrofitMap[] {
  return o.ids.map((id) => {
    const conv = convert(id, base.config, base.weights, { targetLength: tokens.length });
    const qk = captureQK(conv.config, conv.weights, tokens, o.layer);
    const bias = positionalBias(conv.config, conv.weights, o.head);
    const far = { from: o.farFrom, to: o.farTo };
    const { map, queries, blockSize, farMass } = attentionMap(qk, o.head, { ...o, bias, far });
    // the mean over the queries that can reach the far range at all
    const reach = farMass.filter((_, r) => queries[r] >= o.farFrom);
    const mean = reach.length ? reach.reduce((s, v) => s + v, 0) / reach.length : 0;
    return { id, map, queries, blockSize, farMass: mean };
  });
}

/** What a scaling does to a score curve, against the curve of the trained rotation. */
export interface CurveStats {
  /** RMS change of the score over offsets up to `near` (what the fine-tune must re-learn). */
  nearChange: number;
  /** Share of offsets in [farFrom, farTo] whose score lies outside the range the trained
   * rotation produced for offsets below `trained` (logits the head never gave in training). */
  farOutside: number;
}

/**
 * Compares `curve` with `reference` (the trained rotation's curve) on the same `offsets`.
 * `logitScale` (YaRN's temperature, (0.1 ln s + 1)^2) is divided out before the far-range check:
 * multiplying every logit alike is deliberate and not a new score.
 *
 * @example
 * ```ts
 * curveStats(piCurve, ropeCurve, offsets, { near: 64, trained: 256, farFrom: 640, farTo: 1920 });
 * ```
 */
export function curveStats(
  curve: ArrayLike<number>,
  reference: ArrayLike<number>,
  offsets: readonly number[],
  o: { near: number; trained: number; farFrom: number; farTo: number; logitScale?: number },
): CurveStats {
  if (curve.length !== offsets.length || reference.length !== offsets.length) {
    throw new RangeError("curve, reference and offsets must have the same length");
  }
  let lo = Infinity, hi = -Infinity, sq = 0, nNear = 0, out = 0, nFar = 0;
  offsets.forEach((d, j) => {
    if (d < o.trained) [lo, hi] = [Math.min(lo, reference[j]), Math.max(hi, reference[j])];
  });
  offsets.forEach((d, j) => {
    if (d <= o.near) [sq, nNear] = [sq + (curve[j] - reference[j]) ** 2, nNear + 1];
    if (d >= o.farFrom && d <= o.farTo) {
      nFar++;
      const c = curve[j] / (o.logitScale ?? 1); // a uniform temperature is not a new score
      if (c < lo || c > hi) out++;
    }
  });
  return { nearChange: Math.sqrt(sq / Math.max(1, nNear)), farOutside: out / Math.max(1, nFar) };
}

/** A band of target positions [from, to) whose loss {@link bandBits} averages. */
export interface PositionBand {
  name: string;
  from: number;
  to: number;
}

/**
 * Bits per byte of `config`/`weights` on `windows` seeded windows of `docs` (`seqLen` targets
 * each), averaged over each band of target positions, window by window (so two models read on
 * the same seed can be compared pair by pair).
 *
 * @example
 * ```ts
 * const bands = [{ name: "near", from: 0, to: 256 }, { name: "far", from: 640, to: 1920 }];
 * bandBits(config, weights, heldOut, { seqLen: 2048, windows: 4, bands }); // [{ name, perWindow }]
 * ```
 */
export function bandBits(
  config: ModelConfig,
  weights: Weights,
  docs: readonly Document[],
  o: { seqLen: number; windows: number; bands: readonly PositionBand[]; seed?: number },
): { name: string; perWindow: number[] }[] {
  for (const b of o.bands) {
    if (!(b.from >= 0 && b.to > b.from && b.to <= o.seqLen)) {
      throw new RangeError(`band ${b.name} must lie in [0, ${o.seqLen}); got ${b.from}-${b.to}`);
    }
  }
  const rng = new Rng(o.seed ?? 1234);
  const model = Decoder.fromWeights(config, weights);
  const out = o.bands.map((b) => ({ name: b.name, perWindow: [] as number[] }));
  try {
    for (let w = 0; w < o.windows; w++) {
      const data = Int32Array.from(sampleWindow(docs, o.seqLen + 1, rng));
      const nll = tf.tidy(() => {
        const tokens = tf.tensor2d(data, [1, o.seqLen + 1], "int32");
        const logp = tf.logSoftmax(model.forward(tokens.slice([0, 0], [1, o.seqLen])));
        const targets = tf.oneHot(tokens.slice([0, 1], [1, o.seqLen]), config.vocabSize);
        return tf.neg(tf.sum(tf.mul(logp, targets), -1));
      });
      const v = nll.dataSync();
      nll.dispose();
      o.bands.forEach((b, j) => {
        let s = 0;
        for (let t = b.from; t < b.to; t++) s += v[t];
        out[j].perWindow.push(s / (b.to - b.from) / Math.LN2);
      });
    }
  } finally {
    model.dispose();
  }
  return out;
}

/**
 * The gradient of the mean next-token loss on `tokens` (one sequence: inputs and shifted targets)
 * with respect to a T5 model's bucket table, [numBuckets][numHeads] row-major: how much training
 * signal each bucket of each head gets from one sequence.
 */
export function t5TableGradient(
  config: ModelConfig,
  weights: Weights,
  tokens: ArrayLike<number>,
): Float32Array {
  if (config.positional.type !== "t5") throw new RangeError("the model must use t5 positions");
  const model = Decoder.fromWeights(config, weights);
  try {
    const table = model.params.get("t5.relative_attention_bias")!;
    const input = tf.tensor2d(Int32Array.from(tokens), [1, tokens.length], "int32");
    const { value, grads } = tf.variableGrads(() => model.loss(input), [table]);
    const g = Object.values(grads)[0].dataSync() as Float32Array;
    value.dispose();
    for (const t of Object.values(grads)) t.dispose();
    input.dispose();
    return g;
  } finally {
    model.dispose();
  }
}
