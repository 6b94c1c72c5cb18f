/**
 * Retrieval scoring. An example is correct when greedy decoding after the prompt yields exactly
 * the 5 answer bytes. Greedy decoding gets the answer right exactly when, with the correct prefix
 * fed in, the argmax at every answer position is the next answer byte: so one teacher-forced
 * forward pass over prompt + answer scores greedy decoding exactly (and 5x cheaper).
 *
 * @example
 * ```ts
 * import { passkeyAccuracyByOffset } from "./retrieval.ts";
 * const rows = passkeyAccuracyByOffset(model, corpus.heldOut, {
 *   length: 256, offsets: [64, 128, 250], perOffset: 20, seed: 1 });
 * ```
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import type { Document } from "../data/corpus.ts";
import {
  exampleSequence,
  makeMultiKey,
  makePasskey,
  type RetrievalExample,
} from "../data/passkey.ts";
import { deriveSeed, Rng } from "../data/rng.ts";
import { decode } from "../data/tokenizer.ts";
import type { Decoder } from "../model/decoder.ts";

/** Score of one example. */
export interface RetrievalScore {
  correct: boolean;
  /** Argmax bytes at the answer positions (teacher-forced), decoded. */
  predicted: string;
}

/** Scores examples of equal length in batches (see the module note on greedy decoding). */
export function scoreRetrieval(
  model: Decoder,
  examples: readonly RetrievalExample[],
  batch = 2,
): RetrievalScore[] {
  const out: RetrievalScore[] = [];
  for (let s = 0; s < examples.length; s += batch) {
    const group = examples.slice(s, s + batch);
    const len = group[0].prompt.length + group[0].answer.length;
    if (group.some((e) => e.prompt.length + e.answer.length !== len)) {
      throw new RangeError("examples in one call must all have the same length");
    }
    const data = new Int32Array(group.length * len);
    group.forEach((e, i) => data.set(exampleSequence(e), i * len));
    const n = group[0].answer.length;
    const argmax = tf.tidy(() => {
      const tokens = tf.tensor2d(data, [group.length, len], "int32");
      // Positions len-n-1 .. len-2 predict the n answer bytes.
      const logits = model.forward(tokens.slice([0, 0], [group.length, len - 1]));
      return tf.argMax(logits.slice([0, len - n - 1, 0], [group.length, n, -1]), -1);
    });
    const a = argmax.dataSync();
    argmax.dispose();
    group.forEach((e, i) => {
      const pred = Array.from(a.subarray(i * n, (i + 1) * n));
      out.push({ correct: pred.every((p, j) => p === e.answer[j]), predicted: decode(pred) });
    });
  }
  return out;
}

/** One row of an accuracy-by-offset table. */
export interface OffsetAccuracy {
  kind: RetrievalExample["kind"];
  length: number;
  offset: number;
  correct: number;
  total: number;
  accuracy: number;
}

/** Accuracy at each retrieval offset (distance from key to answer) for sequences of `length`. */
export function passkeyAccuracyByOffset(
  model: Decoder,
  filler: readonly Document[],
  o: {
    length: number;
    offsets: number[];
    perOffset: number;
    seed: number;
    kind?: RetrievalExample["kind"];
    numKeys?: number;
    batch?: number;
  },
): OffsetAccuracy[] {
  const kind = o.kind ?? "passkey";
  return o.offsets.map((offset) => {
    const rng = new Rng(deriveSeed(o.seed, o.length, offset));
    const examples = Array.from(
      { length: o.perOffset },
      () =>
        kind === "passkey"
          ? makePasskey({ filler, length: o.length, offset, rng })
          : makeMultiKey({ filler, length: o.length, offset, rng, numKeys: o.numKeys ?? 4 }),
    );
    const scores = scoreRetrieval(model, examples, o.batch);
    const correct = scores.filter((s) => s.correct).length;
    return {
      kind,
      length: o.length,
      offset,
      correct,
      total: scores.length,
      accuracy: correct / scores.length,
    };
  });
}

/** Greedy decoding of `n` bytes after `prompt` (no cache: for samples and demos). */
export function greedyDecode(model: Decoder, prompt: Uint8Array, n: number): Uint8Array {
  const seq = Array.from(prompt);
  for (let i = 0; i < n; i++) {
    const next = tf.tidy(() => {
      const logits = model.forward(tf.tensor2d(seq, [1, seq.length], "int32"));
      return tf.argMax(logits.slice([0, seq.length - 1, 0], [1, 1, -1]), -1);
    });
    seq.push(next.dataSync()[0]);
    next.dispose();
  }
  return Uint8Array.from(seq.slice(prompt.length));
}
