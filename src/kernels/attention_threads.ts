/**
 * The fused CPU attention forward on several cores: helper threads, each with its own tfjs-wasm
 * instance (XNNPACK), take a share of the query blocks ({@link forwardParts}: equal causal work)
 * while the calling thread does its own share. Inputs travel through a SharedArrayBuffer; the
 * caller blocks in Atomics.wait until every helper has written its rows back (the tfjs kernel is
 * synchronous). Each row is computed by the same code as on one thread, so outputs are identical.
 *
 * Opt-in: {@link startAttentionThreads} installs the hook for forwards of at least `minWork`
 * query x key pairs; {@link stopAttentionThreads} removes it. The backward stays on one thread.
 *
 * @example
 * ```ts
 * import { startAttentionThreads, stopAttentionThreads } from "./attention_threads.ts";
 * await startAttentionThreads(1); // one helper: both cores of a 2-core machine
 * const y = attention(q, k, v, { bias: { kind: "none" }, scale: 0.18 });
 * stopAttentionThreads();
 * ```
 * @module
 */
import {
  type AttentionDims,
  type BlockMemory,
  type ForwardItem,
  type ForwardOffsets,
  forwardParts,
  setForwardSplitter,
} from "./attention_cpu.ts";

/** A job for one helper (see attention_thread_worker.ts). */
export interface AttentionJob {
  type: "forward";
  /** q | k | v | out | lse, float32, [B, H, T, D] (lse [B, H, Tq]). */
  data: SharedArrayBuffer;
  /** Int32 flags, one per helper: 0 running, 1 done, 2 failed. */
  flags: SharedArrayBuffer;
  index: number;
  dims: AttentionDims;
  bias: Float32Array[] | null;
  items: ForwardItem[];
}

/** Longest a caller waits for a helper before giving up (ms). */
const HELPER_TIMEOUT_MS = 30 * 60 * 1000;

let helpers: Worker[] = [];
let splitCount = 0;

/** How many forwards have been shared with helper threads in this process (for tests). */
export function sharedForwards(): number {
  return splitCount;
}

/** Float offsets of q, k, v, out, lse inside a job's data buffer. */
export function jobLayout(d: AttentionDims): ForwardOffsets & { total: number } {
  const bh = d.batch * d.heads;
  const qn = bh * d.queryLen * d.headDim, kn = bh * d.keyLen * d.headDim;
  return {
    q: 0,
    k: qn,
    v: qn + kn,
    out: qn + 2 * kn,
    lse: 2 * qn + 2 * kn,
    total: 2 * qn + 2 * kn + bh * d.queryLen,
  };
}

/** Copies the out rows and lse entries of `items` between two memories (float offsets). */
export function copyItems(
  items: readonly ForwardItem[],
  d: AttentionDims,
  from: { f32(at: number, n: number): Float32Array; at: ForwardOffsets },
  to: { f32(at: number, n: number): Float32Array; at: ForwardOffsets },
): void {
  for (const { bh, q0, rows } of items) {
    const row = bh * d.queryLen + q0;
    to.f32(to.at.out + row * d.headDim, rows * d.headDim)
      .set(from.f32(from.at.out + row * d.headDim, rows * d.headDim));
    to.f32(to.at.lse + row, rows).set(from.f32(from.at.lse + row, rows));
  }
}

function split(minWork: number) {
  return (
    mem: BlockMemory,
    dims: AttentionDims,
    at: ForwardOffsets,
    bias: Float32Array[] | null,
    local: (items: ForwardItem[]) => void,
  ): boolean => {
    if (helpers.length === 0 || dims.batch * dims.heads * dims.queryLen * dims.keyLen < minWork) {
      return false;
    }
    const parts = forwardParts(dims, helpers.length + 1);
    const lay = jobLayout(dims);
    const data = new SharedArrayBuffer(lay.total * 4);
    const shared = { f32: (o: number, n: number) => new Float32Array(data, o * 4, n), at: lay };
    const bh = dims.batch * dims.heads;
    shared.f32(lay.q, bh * dims.queryLen * dims.headDim).set(
      mem.f32(at.q, bh * dims.queryLen * dims.headDim),
    );
    shared.f32(lay.k, bh * dims.keyLen * dims.headDim).set(
      mem.f32(at.k, bh * dims.keyLen * dims.headDim),
    );
    shared.f32(lay.v, bh * dims.keyLen * dims.headDim).set(
      mem.f32(at.v, bh * dims.keyLen * dims.headDim),
    );
    const flags = new SharedArrayBuffer(4 * helpers.length);
    const flag = new Int32Array(flags);
    helpers.forEach((w, i) => {
      const job: AttentionJob = {
        type: "forward",
        data,
        flags,
        index: i,
        dims,
        bias,
        items: parts[i + 1],
      };
      w.postMessage(job);
    });
    splitCount++;
    local(parts[0]);
    helpers.forEach((_, i) => {
      if (Atomics.wait(flag, i, 0, HELPER_TIMEOUT_MS) === "timed-out") {
        throw new Error(`attention helper ${i} gave no answer in ${HELPER_TIMEOUT_MS / 1000} s`);
      }
      if (Atomics.load(flag, i) !== 1) {
        throw new Error(`attention helper ${i} failed (see its error)`);
      }
      copyItems(parts[i + 1], dims, shared, { f32: (o, n) => mem.f32(o, n), at });
    });
    return true;
  };
}

/**
 * Starts `count` helper threads (1 on a 2-core machine) and routes forwards of at least `minWork`
 * query x key pairs (summed over batch and heads) through them. Wasm backend only.
 */
export async function startAttentionThreads(count = 1, minWork = 4 * 1024 * 1024): Promise<void> {
  if (!Number.isInteger(count) || count < 1 || count > 15) {
    throw new RangeError(`count must be an integer in [1, 15]; got ${count}`);
  }
  stopAttentionThreads();
  const url = new URL("./attention_thread_worker.ts", import.meta.url).href;
  const started = Array.from({ length: count }, () => new Worker(url, { type: "module" }));
  try {
    await Promise.all(started.map((w) =>
      new Promise<void>((resolve, reject) => {
        w.onmessage = (e) =>
          e.data?.type === "ready" ? resolve() : reject(new Error(String(e.data?.message)));
        w.onerror = (e) => {
          e.preventDefault();
          reject(new Error(`attention helper failed to start: ${e.message}`));
        };
      })
    ));
  } catch (e) {
    started.forEach((w) => w.terminate());
    throw e;
  }
  for (const w of started) {
    w.onmessage = (e) => {
      if (e.data?.type === "error") console.error(`attention helper: ${e.data.message}`);
    };
  }
  helpers = started;
  setForwardSplitter(split(minWork));
}

/** Stops the helpers; forwards run on the calling thread alone again. */
export function stopAttentionThreads(): void {
  setForwardSplitter(null);
  helpers.forEach((w) => w.terminate());
  helpers = [];
}
