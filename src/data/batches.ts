/**
 * Seeded sampling of training windows: a document chosen in proportion to its length, then a
 * window of `seqLen + 1` bytes (inputs and next-byte targets) at a uniform offset.
 *
 * @example
 * ```ts
 * import { Rng } from "./rng.ts";
 * import { sampleWindow } from "./batches.ts";
 * const w = sampleWindow(corpus.train, 256, new Rng(1)); // Uint8Array of 257 bytes
 * ```
 * @module
 */
import type { Document } from "./corpus.ts";
import type { Rng } from "./rng.ts";

const cumulativeCache = new WeakMap<readonly Document[], Float64Array>();

function cumulativeLengths(docs: readonly Document[]): Float64Array {
  let c = cumulativeCache.get(docs);
  if (!c) {
    c = new Float64Array(docs.length);
    let s = 0;
    docs.forEach((d, i) => (c![i] = s += d.bytes.length));
    cumulativeCache.set(docs, c);
  }
  return c;
}

/** A document drawn with probability proportional to its length. */
export function sampleDocument(docs: readonly Document[], rng: Rng): Document {
  if (docs.length === 0) throw new RangeError("docs must not be empty");
  const c = cumulativeLengths(docs);
  const r = rng.next() * c[c.length - 1];
  let lo = 0, hi = c.length - 1;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (c[mid] > r) hi = mid;
    else lo = mid + 1;
  }
  return docs[lo];
}

/** `length` consecutive bytes from a length-weighted random document (wraps short documents). */
export function sampleWindow(docs: readonly Document[], length: number, rng: Rng): Uint8Array {
  if (!Number.isInteger(length) || length < 1) {
    throw new RangeError(`length must be an integer >= 1; got ${length}`);
  }
  const doc = sampleDocument(docs, rng);
  const out = new Uint8Array(length);
  const n = doc.bytes.length;
  if (n >= length) {
    const start = rng.int(n - length + 1);
    out.set(doc.bytes.subarray(start, start + length));
  } else {
    for (let i = 0; i < length; i++) out[i] = doc.bytes[i % n];
  }
  return out;
}

/** A batch of natural-text windows as a [batch, seqLen + 1] row-major Int32Array. */
export function sampleTextBatch(
  docs: readonly Document[],
  batch: number,
  seqLen: number,
  rng: Rng,
): Int32Array {
  const out = new Int32Array(batch * (seqLen + 1));
  for (let b = 0; b < batch; b++) out.set(sampleWindow(docs, seqLen + 1, rng), b * (seqLen + 1));
  return out;
}
