/**
 * The pretraining data mixture: rows of natural text and rows of retrieval tasks (passkey and
 * multi-key) whose key sits at a uniform depth, so retrieval offsets cover 1..L0. Filler comes
 * from training documents only. Each batch is a pure function of (seed, step).
 *
 * @example
 * ```ts
 * import { mixtureBatch } from "./mixture.ts";
 * const { tokens, weights } = mixtureBatch(corpus.train, { batch: 8, seqLen: 256, seed: 1 }, 0);
 * ```
 * @module
 */
import type { Document } from "../data/corpus.ts";
import { sampleWindow } from "../data/batches.ts";
import {
  exampleSequence,
  makeMultiKey,
  makePasskey,
  WORDING_SETS,
  type WordingSet,
} from "../data/passkey.ts";
import { deriveSeed, Rng } from "../data/rng.ts";

const COPY_ALPHABET = new TextEncoder().encode("abcdefghijklmnopqrstuvwxyz0123456789");
const DIGITS = new TextEncoder().encode("0123456789");

/** Mixture parameters. */
export interface MixtureOptions {
  batch: number;
  seqLen: number;
  seed: number;
  /** Fraction of rows that are retrieval tasks (default 0.5). */
  taskFraction?: number;
  /** Of the task rows, the fraction that are multi-key (default 0.3). */
  multiKeyFraction?: number;
  /** Loss weight of the 5 answer bytes relative to 1 for every other byte (default 4). */
  answerWeight?: number;
  /**
   * Fraction of rows that are copy tasks (default 0): a text window into which three random
   * strings of 8-23 letters and digits are each written twice (weighted like answers), so the
   * repeats can only be predicted by looking back. Dense copying practice is what makes induction-style retrieval heads form quickly.
   */
  copyFraction?: number;
  /**
   * When set, each copy row instead holds ONE random string of 6-17 bytes written twice, the
   * second copy 1 string-length to `copyMaxDistance` bytes after the first (uniform). A short
   * maximum is the first step of the retrieval curriculum: copying at short range forms the
   * induction-style heads within a few hundred steps, after which longer ranges follow quickly.
   */
  copyMaxDistance?: number;
  /**
   * One-string copy rows use digits only, 5-8 of them (default false: letters and digits, 6-17).
   * Filler is digit-free, so a digit string is a passkey without its template: the same
   * look-back, practised densely.
   */
  copyDigits?: boolean;
  /**
   * Which passkey wordings task rows draw from (default "canonical", the one template of the
   * original base; "training" draws each row's wording uniformly from TRAINING_WORDINGS).
   */
  wordingSet?: WordingSet;
}

/** One batch: tokens [batch, seqLen + 1] and target weights [batch, seqLen], row-major. */
export interface MixtureBatch {
  tokens: Int32Array;
  weights: Float32Array;
  taskRows: number;
}

/** The batch for `step`: the same (docs, options, step) always gives the same batch. */
export function mixtureBatch(
  docs: readonly Document[],
  o: MixtureOptions,
  step: number,
): MixtureBatch {
  const { batch, seqLen } = o;
  const taskFraction = o.taskFraction ?? 0.5;
  if (!(taskFraction >= 0 && taskFraction <= 1)) {
    throw new RangeError(`taskFraction must be in [0, 1]; got ${taskFraction}`);
  }
  const answerWeight = o.answerWeight ?? 4;
  const rng = new Rng(deriveSeed(o.seed, step));
  const tokens = new Int32Array(batch * (seqLen + 1));
  const weights = new Float32Array(batch * seqLen).fill(1);
  const copyFraction = o.copyFraction ?? 0;
  if (!(copyFraction >= 0 && copyFraction + taskFraction <= 1)) {
    throw new RangeError(
      `copyFraction must be in [0, 1 - taskFraction]; got ${copyFraction}`,
    );
  }
  if (
    o.copyMaxDistance !== undefined &&
    !(Number.isInteger(o.copyMaxDistance) && o.copyMaxDistance >= 17)
  ) {
    throw new RangeError(`copyMaxDistance must be an integer >= 17; got ${o.copyMaxDistance}`);
  }
  if (o.copyMaxDistance !== undefined && copyFraction > 0 && seqLen < 33) {
    // Two copies of the longest string (17 bytes) must fit in one row of seqLen + 1 bytes.
    throw new RangeError(`seqLen must be >= 33 for one-string copy rows; got ${seqLen}`);
  }
  const wordings = WORDING_SETS[o.wordingSet ?? "canonical"];
  if (!wordings) {
    throw new RangeError(
      `wordingSet must be one of ${Object.keys(WORDING_SETS).join(", ")}; got "${o.wordingSet}"`,
    );
  }
  let taskRows = 0;
  for (let b = 0; b < batch; b++) {
    let row: Uint8Array;
    // One draw picks the row kind: [0, copy) copy, [copy, copy + task) task, the rest text.
    const u = rng.next();
    if (u < copyFraction && o.copyMaxDistance !== undefined) {
      row = sampleWindow(docs, seqLen + 1, rng);
      const alphabet = o.copyDigits ? DIGITS : COPY_ALPHABET;
      const span = o.copyDigits ? 5 + rng.int(4) : 6 + rng.int(12);
      const maxDist = Math.min(o.copyMaxDistance, seqLen + 1 - span);
      const dist = span + rng.int(Math.max(1, maxDist - span + 1));
      const from = rng.int(seqLen + 1 - span - dist + 1);
      for (let i = 0; i < span; i++) {
        row[from + i] = row[from + dist + i] = alphabet[rng.int(alphabet.length)];
      }
      for (let i = from + dist; i < from + dist + span - 1; i++) {
        weights[b * seqLen + i] = answerWeight;
      }
      tokens.set(row, b * (seqLen + 1));
      continue;
    }
    if (u < copyFraction) {
      // Three random strings (letters and digits, 8-23 bytes) each written into the text twice:
      // after its first byte a second copy is predictable only by looking back at the first.
      row = sampleWindow(docs, seqLen + 1, rng);
      const slot = Math.floor((seqLen + 1) / 3);
      for (let k = 0; k < 3; k++) {
        const span = Math.min(8 + rng.int(16), Math.floor(slot / 2));
        const from = k * slot + rng.int(slot - 2 * span + 1);
        const to = from + span + rng.int(k * slot + slot - from - 2 * span + 1);
        for (let i = 0; i < span; i++) row[from + i] = row[to + i] = COPY_ALPHABET[rng.int(36)];
        // Target t predicts token t + 1: bytes to+1 .. to+span-1 are the copyable ones.
        for (let i = to; i < to + span - 1; i++) weights[b * seqLen + i] = answerWeight;
      }
      tokens.set(row, b * (seqLen + 1));
      continue;
    }
    if (u < copyFraction + taskFraction) {
      taskRows++;
      const opts = { filler: docs, length: seqLen + 1, depth: rng.next(), rng };
      const multi = rng.next() < (o.multiKeyFraction ?? 0.3);
      const numKeys = 2 + rng.int(3);
      let ex;
      try {
        // A single-wording set draws nothing extra, so canonical batches match earlier runs.
        const wording = wordings.length === 1 ? wordings[0] : rng.pick(wordings);
        ex = multi ? makeMultiKey({ ...opts, numKeys }) : makePasskey({ ...opts, wording });
      } catch (e) {
        // A window too short for the task (e.g. the tiny preset): natural text instead.
        if (!(e instanceof RangeError)) throw e;
        tokens.set(sampleWindow(docs, seqLen + 1, rng), b * (seqLen + 1));
        taskRows--;
        continue;
      }
      row = exampleSequence(ex);
      // The answer is the last 5 tokens: targets seqLen-5 .. seqLen-1 of this row.
      for (let i = seqLen - ex.answer.length; i < seqLen; i++) {
        weights[b * seqLen + i] = answerWeight;
      }
    } else {
      row = sampleWindow(docs, seqLen + 1, rng);
    }
    tokens.set(row, b * (seqLen + 1));
  }
  return { tokens, weights, taskRows };
}
