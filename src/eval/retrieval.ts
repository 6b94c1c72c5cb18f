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

/** The batches of {@link scoreRetrieval}: groups of `batch` examples, each one token array. */
export function retrievalGroups(
  examples: readonly RetrievalExample[],
  batch = 2,
): Array<{ data: Int32Array; rows: number; len: number; n: number }> {
  const groups = [];
  for (let s = 0; s < examples.length; s += batch) {
    const group = examples.slice(s, s + batch);
    const len = group[0].prompt.length + group[0].answer.length;
    if (group.some((e) => e.prompt.length + e.answer.length !== len)) {
      throw new RangeError("examples in one call must all have the same length");
    }
    const data = new Int32Array(group.length * len);
    group.forEach((e, i) => data.set(exampleSequence(e), i * len));
    groups.push({ data, rows: group.length, len, n: group[0].answer.length });
  }
  return groups;
}

/** Teacher-forced argmax at the last `n` positions of `rows` sequences of `len` tokens. */
export function answerArgmax(
  model: Decoder,
  data: Int32Array,
  rows: number,
  len: number,
  n: number,
): Int32Array {
  const argmax = tf.tidy(() => {
    const tokens = tf.tensor2d(data, [rows, len], "int32");
    // Positions len-n-1 .. len-2 predict the n answer bytes.
    const logits = model.forward(tokens.slice([0, 0], [rows, len - 1]));
    return tf.argMax(logits.slice([0, len - n - 1, 0], [rows, n, -1]), -1);
  });
  const a = new Int32Array(argmax.dataSync());
  argmax.dispose();
  return a;
}

/** Scores from the groups' argmax arrays, in example order (serial and pooled paths alike). */
export function scoresFromArgmax(
  examples: readonly RetrievalExample[],
  argmaxes: readonly Int32Array[],
): RetrievalScore[] {
  const out: RetrievalScore[] = [];
  let e = 0;
  for (const a of argmaxes) {
    const n = examples[e].answer.length;
    for (let i = 0; i < a.length / n; i++, e++) {
      const pred = Array.from(a.subarray(i * n, (i + 1) * n));
      const ex = examples[e];
      out.push({ correct: pred.every((p, j) => p === ex.answer[j]), predicted: decode(pred) });
    }
  }
  return out;
}

/** Scores examples of equal length in batches (see the module note on greedy decoding). */
export function scoreRetrieval(
  model: Decoder,
  examples: readonly RetrievalExample[],
  batch = 2,
): RetrievalScore[] {
  const groups = retrievalGroups(examples, batch);
  return scoresFromArgmax(
    examples,
    groups.map((g) => answerArgmax(model, g.data, g.rows, g.len, g.n)),
  );
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
