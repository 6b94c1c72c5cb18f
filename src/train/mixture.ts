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
  type Wording,
  WORDING_SETS,
  type WordingSet,
} from "../data/passkey.ts";
import { requireInRange, requireInteger } from "../util/validate.ts";
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
  /**
   * Draw copy rows only where a mixture without them would draw text (default false: copy rows
   * come first, as in pretraining). With it, adding copy rows changes nothing but some text rows,
   * which is what a controlled mitigation needs.
   */
  copyReplacesText?: boolean;
}

/** One batch: tokens [batch, seqLen + 1] and target weights [batch, seqLen], row-major. */
export interface MixtureBatch {
  tokens: Int32Array;
  weights: Float32Array;
  taskRows: number;
}

/** Checks `o` (errors name the option and its range); returns the resolved defaults. */
function resolveOptions(o: MixtureOptions) {
  const taskFraction = o.taskFraction ?? 0.5;
  requireInRange("taskFraction", taskFraction, 0, 1);
  const copyFraction = o.copyFraction ?? 0;
  if (!(copyFraction >= 0 && copyFraction + taskFraction <= 1)) {
    throw new RangeError(
      `copyFraction must be in [0, 1 - taskFraction]; got ${copyFraction}`,
    );
  }
  if (o.copyMaxDistance !== undefined) requireInteger("copyMaxDistance", o.copyMaxDistance, 17);
  if (o.copyMaxDistance !== undefined && copyFraction > 0 && o.seqLen < 33) {
    // Two copies of the longest string (17 bytes) must fit in one row of seqLen + 1 bytes.
    throw new RangeError(`seqLen must be >= 33 for one-string copy rows; got ${o.seqLen}`);
  }
  const wordings = WORDING_SETS[o.wordingSet ?? "canonical"];
  if (!wordings) {
    throw new RangeError(
      `wordingSet must be one of ${Object.keys(WORDING_SETS).join(", ")}; got "${o.wordingSet}"`,
    );
  }
  return { taskFraction, copyFraction, answerWeight: o.answerWeight ?? 4, wordings };
}

/** One row being filled: its bytes go to `tokens`, its loss weights start at `rowWeights`. */
interface Row {
  rowWeights: Float32Array;
  answerWeight: number;
}

/**
 * One-string copy row: a text window with ONE random string written twice, the second copy
 * 1 string-length to `copyMaxDistance` bytes after the first.
 */
function oneStringCopyRow(
  docs: readonly Document[],
  o: MixtureOptions,
  rng: Rng,
  { rowWeights, answerWeight }: Row,
): Uint8Array {
  const seqLen = o.seqLen;
  const row = sampleWindow(docs, seqLen + 1, rng);
  const alphabet = o.copyDigits ? DIGITS : COPY_ALPHABET;
  const span = o.copyDigits ? 5 + rng.int(4) : 6 + rng.int(12);
  const maxDist = Math.min(o.copyMaxDistance!, seqLen + 1 - span);
  const dist = span + rng.int(Math.max(1, maxDist - span + 1));
  const from = rng.int(seqLen + 1 - span - dist + 1);
  for (let i = 0; i < span; i++) {
    row[from + i] = row[from + dist + i] = alphabet[rng.int(alphabet.length)];
  }
  for (let i = from + dist; i < from + dist + span - 1; i++) rowWeights[i] = answerWeight;
  return row;
}

/**
 * Three random strings (letters and digits, 8-23 bytes) each written into the text twice: after
 * its first byte a second copy is predictable only by looking back at the first.
 */
function threeStringCopyRow(
  docs: readonly Document[],
  seqLen: number,
  rng: Rng,
  { rowWeights, answerWeight }: Row,
): Uint8Array {
  const row = sampleWindow(docs, seqLen + 1, rng);
  const slot = Math.floor((seqLen + 1) / 3);
  for (let k = 0; k < 3; k++) {
    const span = Math.min(8 + rng.int(16), Math.floor(slot / 2));
    const from = k * slot + rng.int(slot - 2 * span + 1);
    const to = from + span + rng.int(k * slot + slot - from - 2 * span + 1);
    for (let i = 0; i < span; i++) row[from + i] = row[to + i] = COPY_ALPHABET[rng.int(36)];
    // Target t predicts token t + 1: bytes to+1 .. to+span-1 are the copyable ones.
    for (let i = to; i < to + span - 1; i++) rowWeights[i] = answerWeight;
  }
  return row;
}

/**
 * A retrieval task row (passkey or multi-key, key at a uniform depth), or null when the window is
 * too short for the task (the caller then uses natural text).
 */
function taskRow(
  docs: readonly Document[],
  o: MixtureOptions,
  wordings: readonly Wording[],
  rng: Rng,
  { rowWeights, answerWeight }: Row,
): Uint8Array | null {
  const seqLen = o.seqLen;
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
    return null;
  }
  // The answer is the last 5 tokens: targets seqLen-5 .. seqLen-1 of this row.
  for (let i = seqLen - ex.answer.length; i < seqLen; i++) rowWeights[i] = answerWeight;
  return exampleSequence(ex);
}

/** The batch for `step`: the same (docs, options, step) always gives the same batch. */
export function mixtureBatch(
  docs: readonly Document[],
  o: MixtureOptions,
  step: number,
): MixtureBatch {
  const { batch, seqLen } = o;
  const { taskFraction, copyFraction, answerWeight, wordings } = resolveOptions(o);
  const rng = new Rng(deriveSeed(o.seed, step));
  const tokens = new Int32Array(batch * (seqLen + 1));
  const weights = new Float32Array(batch * seqLen).fill(1);
  let taskRows = 0;
  for (let b = 0; b < batch; b++) {
    const row: Row = { rowWeights: weights.subarray(b * seqLen, (b + 1) * seqLen), answerWeight };
    // One draw picks the row kind: [0, copy) copy, [copy, copy + task) task, the rest text; with
    // copyReplacesText the copy band moves after the task band, [task, task + copy).
    const u = rng.next();
    const isCopy = o.copyReplacesText
      ? u >= taskFraction && u < taskFraction + copyFraction
      : u < copyFraction;
    const taskFrom = o.copyReplacesText ? 0 : copyFraction;
    let bytes: Uint8Array | null;
    if (isCopy && o.copyMaxDistance !== undefined) {
      bytes = oneStringCopyRow(docs, o, rng, row);
    } else if (isCopy) {
      bytes = threeStringCopyRow(docs, seqLen, rng, row);
    } else if (u >= taskFrom && u < taskFrom + taskFraction) {
      bytes = taskRow(docs, o, wordings, rng, row);
      if (bytes) taskRows++;
      else bytes = sampleWindow(docs, seqLen + 1, rng);
    } else {
      bytes = sampleWindow(docs, seqLen + 1, rng);
    }
    tokens.set(bytes, b * (seqLen + 1));
  }
  return { tokens, weights, taskRows };
}
