/**
 * The positional kernels (rotary, ALiBi bias, T5 bias and its table gradient) against composite
 * tfjs-op equivalents, side by side on each backend in one process.
 *
 * `deno task bench positional [--lengths 256,512] [--backends wasm,cpu,webgpu]` writes
 * `assets/bench/positional.csv`. Each timing is the mean of a few runs (one when the warm-up
 * took over a second) after a warm-up (which also compiles shaders) and includes reading the result back (a sum to one scalar for the
 * [H, T, T] biases), the same for kernel and composite.
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import { parseArgs } from "node:util";
import { type BackendName, initBackend } from "../backend.ts";
import { writeFileAtomic } from "../util/atomic.ts";
import { CONTEXT_COLUMNS, contextCells, loadAverage, timedBackends, toCsv } from "./env_util.ts";
import { applyRotary } from "../kernels/rotary.ts";
import { alibiBias } from "../kernels/alibi_bias.ts";
import { t5Bias } from "../kernels/t5_bias.ts";
import { relativePositionBucket } from "../positions/t5.ts";

/** One row of the CSV: an op and pass at one length on one backend, kernel vs composite. */
export interface PositionalBenchRow {
  backend: BackendName;
  op: "rotary" | "alibi_bias" | "t5_bias";
  pass: "forward" | "forward+backward";
  tokens: number;
  kernelMs: number;
  /** NaN when the composite cannot run on that backend (the error is printed). */
  compositeMs: number;
}

const HEADS = 4;
const HEAD_DIM = 32;
const NUM_BUCKETS = 32;
const MAX_DISTANCE = 128;

/** Mean milliseconds of `fn` (result read back, then disposed) after one warm-up. */
async function timeIt(fn: () => tf.Tensor, reps: number): Promise<number> {
  const once = async () => {
    const out = fn();
    await out.data();
    out.dispose();
  };
  const w0 = performance.now();
  await once();
  // Slow composites (tfjs cpu's gather gradient) get one timed run, to keep the bench short.
  const runs = performance.now() - w0 > 1000 ? 1 : reps;
  const t0 = performance.now();
  for (let i = 0; i < runs; i++) await once();
  return (performance.now() - t0) / runs;
}

async function timeOrNaN(label: string, fn: () => tf.Tensor, reps: number): Promise<number> {
  try {
    return await timeIt(fn, reps);
  } catch (err) {
    console.log(`  ${label}: composite failed (${(err as Error).message.split("\n")[0]})`);
    return NaN;
  }
}

function rotateHalf(x: tf.Tensor): tf.Tensor {
  const [a, b] = tf.split(x, 2, -1);
  return tf.concat([tf.neg(b), a], -1);
}

/** One op and pass timed as kernel vs composite (a row without its backend and length). */
type Timing = Pick<PositionalBenchRow, "op" | "pass" | "kernelMs" | "compositeMs">;

/**
 * Measures every op at `tokens` on `backend`.
 *
 * @example
 * ```ts
 * const rows = await measurePositional("wasm", 256);
 * ```
 */
export async function measurePositional(
  backend: BackendName,
  tokens: number,
  reps = 3,
): Promise<PositionalBenchRow[]> {
  await initBackend({ backend });
  const timings = [
    ...await timeRotary(tokens, reps),
    ...await timeAlibi(tokens, reps),
    ...await timeT5(tokens, reps),
  ];
  return timings.map(({ op, pass, kernelMs, compositeMs }) => ({
    backend,
    op,
    pass,
    tokens,
    kernelMs,
    compositeMs,
  }));
}

/** Rotary on [1, H, T, D]; the composite is HF's x cos + rotate_half(x) sin with cached tables. */
async function timeRotary(tokens: number, reps: number): Promise<Timing[]> {
  const invFreq = Float32Array.from(
    { length: HEAD_DIM / 2 },
    (_, i) => 10000 ** (-2 * i / HEAD_DIM),
  );
  const angles = new Float32Array(tokens * HEAD_DIM);
  for (let t = 0; t < tokens; t++) {
    for (let i = 0; i < HEAD_DIM; i++) {
      angles[t * HEAD_DIM + i] = Math.fround(t * invFreq[i % (HEAD_DIM / 2)]);
    }
  }
  const anglesT = tf.tensor2d(angles, [tokens, HEAD_DIM]);
  const cos = tf.cos(anglesT);
  const sin = tf.sin(anglesT);
  const x = tf.randomNormal([1, HEADS, tokens, HEAD_DIM]) as tf.Tensor4D;
  const composite = (v: tf.Tensor) => tf.add(tf.mul(v, cos), tf.mul(rotateHalf(v), sin));
  const forward: Timing = {
    op: "rotary",
    pass: "forward",
    kernelMs: await timeIt(() => applyRotary(x, invFreq), reps),
    compositeMs: await timeOrNaN("rotary", () => tf.tidy(() => composite(x)), reps),
  };
  const rotaryGrad = tf.grad((v: tf.Tensor) =>
    tf.sum(tf.square(applyRotary(v as tf.Tensor4D, invFreq)))
  );
  const compositeGrad = tf.grad((v: tf.Tensor) => tf.sum(tf.square(composite(v))));
  const backward: Timing = {
    op: "rotary",
    pass: "forward+backward",
    kernelMs: await timeIt(() => tf.tidy(() => rotaryGrad(x)), reps),
    compositeMs: await timeOrNaN("rotary grad", () => tf.tidy(() => compositeGrad(x)), reps),
  };
  tf.dispose([anglesT, cos, sin, x]);
  return [forward, backward];
}

/** ALiBi bias [H, T, T]; the composite builds -slope * relu(i - j) from ranges. */
async function timeAlibi(tokens: number, reps: number): Promise<Timing[]> {
  const slopes = Float32Array.from({ length: HEADS }, (_, h) => 2 ** (-8 * (h + 1) / HEADS));
  const composite = () => {
    const distance = tf.relu(
      tf.sub(
        tf.range(0, tokens).reshape([tokens, 1]),
        tf.range(0, tokens).reshape([1, tokens]),
      ),
    );
    return tf.sum(tf.neg(tf.mul(tf.tensor1d(slopes).reshape([HEADS, 1, 1]), distance)));
  };
  return [{
    op: "alibi_bias",
    pass: "forward",
    kernelMs: await timeIt(() => tf.tidy(() => tf.sum(alibiBias(slopes, tokens, tokens))), reps),
    compositeMs: await timeOrNaN("alibi", () => tf.tidy(composite), reps),
  }];
}

/** The [T * T] T5 bucket ids of every (query, key) pair, computed on the host. */
function t5BucketIds(tokens: number): Int32Array {
  const ids = new Int32Array(tokens * tokens);
  const bucketOpts = { bidirectional: false, numBuckets: NUM_BUCKETS, maxDistance: MAX_DISTANCE };
  const bucketOf = Int32Array.from(
    { length: 2 * tokens - 1 },
    (_, r) => relativePositionBucket(r - (tokens - 1), bucketOpts),
  );
  for (let i = 0; i < tokens; i++) {
    for (let j = 0; j < tokens; j++) ids[i * tokens + j] = bucketOf[j - i + tokens - 1];
  }
  return ids;
}

/**
 * T5 bias [H, T, T] from a [buckets, H] table; the composite gathers by bucket ids computed once
 * on the host (as a model would cache them) and transposes.
 */
async function timeT5(tokens: number, reps: number): Promise<Timing[]> {
  const table = tf.randomNormal([NUM_BUCKETS, HEADS]) as tf.Tensor2D;
  const idsT = tf.tensor1d(t5BucketIds(tokens), "int32");
  const opts = { numBuckets: NUM_BUCKETS, maxDistance: MAX_DISTANCE };
  const t5Composite = (t: tf.Tensor) =>
    tf.transpose(tf.gather(t, idsT).reshape([tokens, tokens, HEADS]), [2, 0, 1]);
  const w = tf.randomNormal([HEADS, tokens, tokens]);
  const forward: Timing = {
    op: "t5_bias",
    pass: "forward",
    kernelMs: await timeIt(() => tf.tidy(() => tf.sum(t5Bias(table, tokens, tokens, opts))), reps),
    compositeMs: await timeOrNaN("t5", () => tf.tidy(() => tf.sum(t5Composite(table))), reps),
  };
  const t5Grad = tf.grad((t: tf.Tensor) =>
    tf.sum(tf.mul(t5Bias(t as tf.Tensor2D, tokens, tokens, opts), w))
  );
  const t5CompositeGrad = tf.grad((t: tf.Tensor) => tf.sum(tf.mul(t5Composite(t), w)));
  const backward: Timing = {
    op: "t5_bias",
    pass: "forward+backward",
    kernelMs: await timeIt(() => tf.tidy(() => t5Grad(table)), reps),
    compositeMs: await timeOrNaN("t5 grad", () => tf.tidy(() => t5CompositeGrad(table)), reps),
  };
  tf.dispose([table, idsT, w]);
  return [forward, backward];
}

/** Entry point of `deno task bench positional`. */
export async function run(args: string[]): Promise<void> {
  const { values } = parseArgs({
    args,
    options: {
      lengths: { type: "string", default: "256,512" },
      backends: { type: "string", default: "wasm,cpu,webgpu" },
      backend: { type: "string" },
      "allow-software": { type: "boolean", default: false },
    },
  });
  const rows: Array<PositionalBenchRow & { context: Array<string | number> }> = [];
  const list = (values.backend ?? values.backends).split(",") as BackendName[];
  for (const [backend, adapter] of await timedBackends(list, values["allow-software"])) {
    for (const tokens of values.lengths.split(",").map(Number)) {
      const before = loadAverage();
      const measured = await measurePositional(backend, tokens);
      const context = contextCells(adapter, before, loadAverage());
      for (const r of measured.map((m) => ({ ...m, context }))) {
        console.log(
          `${r.backend.padEnd(7)} ${r.op.padEnd(10)} ${r.pass.padEnd(16)} T=${
            String(r.tokens).padStart(5)
          }  kernel ${r.kernelMs.toFixed(2).padStart(8)} ms  composite ${
            r.compositeMs.toFixed(2).padStart(8)
          } ms`,
        );
        rows.push(r);
      }
    }
  }
  const header =
    "backend,op,pass,tokens,heads,head_dim,kernel_ms,composite_ms,composite_over_kernel";
  const csv = toCsv(
    [...header.split(","), ...CONTEXT_COLUMNS],
    rows.map((r) => [
      r.backend,
      r.op,
      r.pass,
      r.tokens,
      HEADS,
      HEAD_DIM,
      r.kernelMs.toFixed(3),
      Number.isNaN(r.compositeMs) ? "" : r.compositeMs.toFixed(3),
      Number.isNaN(r.compositeMs) ? "" : (r.compositeMs / r.kernelMs).toFixed(3),
      ...r.context,
    ]),
  );
  await writeFileAtomic("assets/bench/positional.csv", csv);
  console.log("wrote assets/bench/positional.csv");
}
