/**
 * Bits per byte on held-out text (the byte tokenizer makes bits per token = bits per byte), and
 * the unigram baseline it must beat: the cross-entropy of held-out bytes under the training
 * byte frequencies.
 *
 * @example
 * ```ts
 * import { bitsPerByte, unigramBitsPerByte } from "./bpb.ts";
 * const { bitsPerByte: bpb } = bitsPerByte(model, corpus.heldOut, { seqLen: 256, windows: 64 });
 * const base = unigramBitsPerByte(corpus.train, corpus.heldOut); // about 4.4
 * ```
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import type { Document } from "../data/corpus.ts";
import { sampleWindow } from "../data/batches.ts";
import { Rng } from "../data/rng.ts";
import type { Decoder } from "../model/decoder.ts";

/** Held-out evaluation settings. */
export interface BpbOptions {
  seqLen: number;
  /** Number of windows (seeded, length-weighted over documents). */
  windows: number;
  batch?: number;
  seed?: number;
}

/** Result: mean bits per byte, the mean at each position, and the mean of each window. */
export interface BpbResult {
  bitsPerByte: number;
  byPosition: Float64Array;
  /** Bits/byte of each window, in sampling order (what a bootstrap over windows resamples). */
  byWindow: number[];
  bytes: number;
}

/**
 * The windows of {@link bitsPerByte}, in sampling order, grouped as it evaluates them: groups of
 * `batch` rows of `seqLen + 1` bytes (the last group may be smaller).
 */
export function bpbGroups(
  docs: readonly Document[],
  o: BpbOptions,
): Array<{ data: Int32Array; rows: number }> {
  const batch = o.batch ?? 4;
  const rng = new Rng(o.seed ?? 1234);
  const groups: Array<{ data: Int32Array; rows: number }> = [];
  for (let rows = 0; rows < o.windows; rows += batch) {
    const b = Math.min(batch, o.windows - rows);
    const data = new Int32Array(b * (o.seqLen + 1));
    for (let i = 0; i < b; i++) data.set(sampleWindow(docs, o.seqLen + 1, rng), i * (o.seqLen + 1));
    groups.push({ data, rows: b });
  }
  return groups;
}

/** Next-byte negative log-likelihood (nats) at each of the `seqLen` targets of `rows` windows. */
export function windowNll(
  model: Decoder,
  data: Int32Array,
  rows: number,
  seqLen: number,
): Float32Array {
  const nll = tf.tidy(() => {
    const tokens = tf.tensor2d(data, [rows, seqLen + 1], "int32");
    const logits = model.forward(tokens.slice([0, 0], [rows, seqLen]));
    const targets = tokens.slice([0, 1], [rows, seqLen]);
    const logp = tf.logSoftmax(logits);
    return tf.neg(tf.sum(tf.mul(logp, tf.oneHot(targets, model.config.vocabSize)), -1));
  });
  const v = new Float32Array(nll.dataSync());
  nll.dispose();
  return v;
}

/** Bits/byte from the groups' nll arrays, in group order (shared by the serial and pooled paths). */
export function bpbFromNll(nlls: readonly Float32Array[], seqLen: number): BpbResult {
  const byPosition = new Float64Array(seqLen);
  const byWindow: number[] = [];
  let total = 0;
  let rows = 0;
  for (const v of nlls) {
    const b = v.length / seqLen;
    for (let i = 0; i < b; i++) {
      let window = 0;
      for (let t = 0; t < seqLen; t++) {
        const bits = v[i * seqLen + t] / Math.LN2;
        byPosition[t] += bits;
        window += bits;
      }
      total += window;
      byWindow.push(window / seqLen);
    }
    rows += b;
  }
  for (let t = 0; t < seqLen; t++) byPosition[t] /= rows;
  return { bitsPerByte: total / (rows * seqLen), byPosition, byWindow, bytes: rows * seqLen };
}

/** Bits per byte of `model` on seeded windows of `docs` (every target position counted). */
export function bitsPerByte(model: Decoder, docs: readonly Document[], o: BpbOptions): BpbResult {
  const nlls = bpbGroups(docs, o).map((g) => windowNll(model, g.data, g.rows, o.seqLen));
  return bpbFromNll(nlls, o.seqLen);
}

/** Cross-entropy (bits/byte) of `evalDocs` under the add-one-smoothed byte unigram of `fitDocs`. */
export function unigramBitsPerByte(
  fitDocs: readonly Document[],
  evalDocs: readonly Document[],
): number {
  const counts = new Float64Array(256).fill(1);
  let n = 256;
  for (const d of fitDocs) for (const x of d.bytes) counts[x]++, n++;
  let bits = 0, m = 0;
  for (const d of evalDocs) for (const x of d.bytes) bits -= Math.log2(counts[x] / n), m++;
  return bits / m;
}
