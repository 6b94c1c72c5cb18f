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

/** Bits per byte of `model` on seeded windows of `docs` (every target position counted). */
export function bitsPerByte(model: Decoder, docs: readonly Document[], o: BpbOptions): BpbResult {
  const batch = o.batch ?? 4;
  const rng = new Rng(o.seed ?? 1234);
  const byPosition = new Float64Array(o.seqLen);
  const byWindow: number[] = [];
  let total = 0;
  let rows = 0;
  while (rows < o.windows) {
    const b = Math.min(batch, o.windows - rows);
    const data = new Int32Array(b * (o.seqLen + 1));
    for (let i = 0; i < b; i++) data.set(sampleWindow(docs, o.seqLen + 1, rng), i * (o.seqLen + 1));
    const nll = tf.tidy(() => {
      const tokens = tf.tensor2d(data, [b, o.seqLen + 1], "int32");
      const logits = model.forward(tokens.slice([0, 0], [b, o.seqLen]));
      const targets = tokens.slice([0, 1], [b, o.seqLen]);
      const logp = tf.logSoftmax(logits);
      return tf.neg(tf.sum(tf.mul(logp, tf.oneHot(targets, model.config.vocabSize)), -1));
    });
    const v = nll.dataSync();
    nll.dispose();
    for (let i = 0; i < b; i++) {
      let window = 0;
      for (let t = 0; t < o.seqLen; t++) {
        const bits = v[i * o.seqLen + t] / Math.LN2;
        byPosition[t] += bits;
        window += bits;
      }
      total += window;
      byWindow.push(window / o.seqLen);
    }
    rows += b;
  }
  for (let t = 0; t < o.seqLen; t++) byPosition[t] /= rows;
  return {
    bitsPerByte: total / (rows * o.seqLen),
    byPosition,
    byWindow,
    bytes: rows * o.seqLen,
  };
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
