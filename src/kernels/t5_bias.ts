/**
 * The materialised causal T5 relative-position bias [H, Tq, Tk] from a learned bucket table
 * [numBuckets, H] (HF's `relative_attention_bias` weight), as a tfjs kernel with its gradient to
 * the table (scatter-add of dy by bucket), both WGSL on webgpu and TypeScript loops on wasm/cpu.
 *
 * bias[h, i, j] = table[bucket(j - (i + queryOffset)), h], with HF's
 * `_relative_position_bucket(bidirectional=False)`: offsets below numBuckets/2 get their own
 * bucket, larger ones log-spaced buckets up to maxDistance, and every future key bucket 0.
 * The WGSL evaluates that function itself, in float32 like torch.
 *
 * @example
 * ```ts
 * import * as tf from "@tensorflow/tfjs";
 * import { t5Bias } from "./t5_bias.ts";
 * const table = tf.variable(tf.randomNormal([32, 4]));
 * const bias = t5Bias(table as tf.Tensor2D, 16, 16, { numBuckets: 32, maxDistance: 128 });
 * ```
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import { requireInteger } from "../util/validate.ts";
import { t5CausalBucketReference } from "./reference.ts";
import { disposeInfo, registerSingleInputKernel, runFlatProgram } from "./webgpu_program.ts";

/** tfjs kernel name of the T5 bias (inputs `{table}` [numBuckets, H], attrs {@link T5BiasAttrs}). */
export const T5_BIAS_KERNEL = "CourseT5Bias";
/** tfjs kernel name of the T5 bias's table gradient (inputs `{dy}` [H, Tq, Tk]). */
export const T5_BIAS_GRAD_KERNEL = "CourseT5BiasGrad";

/** Attributes of {@link T5_BIAS_KERNEL} and {@link T5_BIAS_GRAD_KERNEL}. */
export interface T5BiasAttrs {
  queryLen: number;
  keyLen: number;
  numBuckets: number;
  maxDistance: number;
  queryOffset: number;
}

/** Options of {@link t5Bias}. */
export interface T5BiasOptions {
  /** Buckets in the table (integer >= 2); half of them are exact offsets. */
  numBuckets: number;
  /** Offset where the log-spaced buckets end (> floor(numBuckets / 2)). */
  maxDistance: number;
  /** Absolute position of query 0 (integer >= 0, default 0). */
  queryOffset?: number;
}

/**
 * WGSL of HF's causal bucket, `fn t5Bucket(relativePosition : i32) -> i32`, in float32 like torch,
 * for any WGSL program (the fused attention too) whose uniforms declare `numBuckets : i32` and
 * `logRatio : f32` (= {@link t5LogRatio}). `scaled` is capped before the i32 conversion so that
 * huge offsets cannot overflow.
 *
 * @example
 * ```ts
 * const helpers = T5_BUCKET_WGSL; // FlatProgramSpec.helpers, with uniforms
 * // "numBuckets : i32, logRatio : f32," and values [numBuckets] (int32), [t5LogRatio(...)] (float32)
 * ```
 */
export const T5_BUCKET_WGSL = `
fn t5Bucket(relativePosition : i32) -> i32 {
  let n = max(-relativePosition, 0);
  let maxExact = uniforms.numBuckets / 2;
  if (n < maxExact) {
    return n;
  }
  let scaled = log(f32(n) / f32(maxExact)) / uniforms.logRatio * f32(uniforms.numBuckets - maxExact);
  return min(maxExact + i32(min(scaled, f32(uniforms.numBuckets))), uniforms.numBuckets - 1);
}
`;

/**
 * The `logRatio` uniform of {@link T5_BUCKET_WGSL}: float32(log(maxDistance / floor(numBuckets / 2))),
 * as torch divides a float32 tensor by that Python float.
 *
 * @example
 * ```ts
 * t5LogRatio(32, 128); // Math.fround(Math.log(8))
 * ```
 */
export function t5LogRatio(numBuckets: number, maxDistance: number): number {
  return Math.fround(Math.log(maxDistance / Math.floor(numBuckets / 2)));
}

const BUCKET_UNIFORMS = "queryOffset : i32, numBuckets : i32, logRatio : f32, queryLen : i32,";

function bucketUniforms(a: T5BiasAttrs) {
  return [
    { type: "int32" as const, data: [a.queryOffset] },
    { type: "int32" as const, data: [a.numBuckets] },
    { type: "float32" as const, data: [t5LogRatio(a.numBuckets, a.maxDistance)] },
    { type: "int32" as const, data: [a.queryLen] },
  ];
}

const T5_FORWARD_WGSL = `
  let keyLen = uniforms.outShape.z;
  let queryLen = uniforms.outShape.y;
  let heads = uniforms.outShape.x;
  let j = index % keyLen;
  let i = (index / keyLen) % queryLen;
  let h = index / (keyLen * queryLen);
  let bucket = t5Bucket(j - (i + uniforms.queryOffset));
  setOutputAtIndex(index, Table[bucket * heads + h]);
`;

// Stage 1 of the gradient: sum dy along each diagonal j - i = r - (Tq - 1); one invocation per
// (head, diagonal), since the bucket depends only on the diagonal.
const T5_DIAGONAL_WGSL = `
  let numDiagonals = uniforms.outShape.y;
  let r = index % numDiagonals;
  let h = index / numDiagonals;
  let queryLen = uniforms.dyShape.y;
  let keyLen = uniforms.dyShape.z;
  let shift = r - (queryLen - 1);
  var acc = 0.0;
  for (var i = max(0, -shift); i < min(queryLen, keyLen - shift); i++) {
    acc += Dy[(h * queryLen + i) * keyLen + i + shift];
  }
  setOutputAtIndex(index, acc);
`;

// Stage 2: each (bucket, head) adds up the diagonals that fall in its bucket.
const T5_SCATTER_WGSL = `
  let heads = uniforms.outShape.y;
  let h = index % heads;
  let b = index / heads;
  let numDiagonals = uniforms.diagShape.y;
  var acc = 0.0;
  for (var r = 0; r < numDiagonals; r++) {
    if (t5Bucket(r - (uniforms.queryLen - 1) - uniforms.queryOffset) == b) {
      acc += Diag[h * numDiagonals + r];
    }
  }
  setOutputAtIndex(index, acc);
`;

/** Bucket of every relative position j - (i + offset), indexed by that value + (Tq - 1 + offset). */
function bucketLookup(a: T5BiasAttrs): Int32Array {
  const lowest = -(a.queryLen - 1 + a.queryOffset);
  const buckets = new Int32Array(a.keyLen - lowest);
  for (let k = 0; k < buckets.length; k++) {
    buckets[k] = t5CausalBucketReference(lowest + k, a.numBuckets, a.maxDistance);
  }
  return buckets;
}

/**
 * Calls `f(o, index)` for each row of the bias [H, Tq, Tk] (in order; `o` is the row's first flat
 * index), with `index[j]` the table entry (bucket * H + h) of key j in that row.
 */
function forEachBiasRow(
  a: T5BiasAttrs,
  heads: number,
  f: (o: number, index: Int32Array) => void,
): void {
  const buckets = bucketLookup(a);
  const base = a.queryLen - 1 + a.queryOffset;
  const index = new Int32Array(a.keyLen);
  for (let h = 0; h < heads; h++) {
    for (let i = 0; i < a.queryLen; i++) {
      for (let j = 0; j < a.keyLen; j++) {
        index[j] = buckets[j - (i + a.queryOffset) + base] * heads + h;
      }
      f((h * a.queryLen + i) * a.keyLen, index);
    }
  }
}

registerSingleInputKernel<T5BiasAttrs>(T5_BIAS_KERNEL, {
  input: "table",
  program: (table, a) => ({
    name: "course_t5_bias",
    outputShape: [table.shape[1], a.queryLen, a.keyLen],
    helpers: T5_BUCKET_WGSL,
    uniforms: BUCKET_UNIFORMS,
    body: T5_FORWARD_WGSL,
    values: bucketUniforms(a),
  }),
  cpu: (table, info, a) => {
    const heads = info.shape[1];
    const out = new Float32Array(heads * a.queryLen * a.keyLen);
    forEachBiasRow(a, heads, (o, index) => {
      for (let j = 0; j < a.keyLen; j++) out[o + j] = table[index[j]];
    });
    return { values: out, shape: [heads, a.queryLen, a.keyLen] };
  },
  grad: (dy, a) =>
    tf.engine().runKernel(
      T5_BIAS_GRAD_KERNEL,
      { dy },
      a as unknown as tf.NamedAttrMap,
    ) as tf.Tensor,
});

// The table's gradient: dy scattered-added into the table by bucket.
registerSingleInputKernel<T5BiasAttrs>(T5_BIAS_GRAD_KERNEL, {
  input: "dy",
  webgpu: (dy, a, backend) => {
    const heads = dy.shape[0];
    const diagonals = runFlatProgram(backend, {
      name: "course_t5_bias_grad_diagonals",
      inputs: ["Dy"],
      outputShape: [heads, a.queryLen + a.keyLen - 1],
      body: T5_DIAGONAL_WGSL,
    }, [dy]);
    try {
      return runFlatProgram(
        backend,
        {
          name: "course_t5_bias_grad_scatter",
          inputs: ["Diag"],
          outputShape: [a.numBuckets, heads],
          uniforms: BUCKET_UNIFORMS,
          helpers: T5_BUCKET_WGSL,
          body: T5_SCATTER_WGSL,
        },
        [diagonals],
        bucketUniforms(a),
      );
    } finally {
      disposeInfo(backend, diagonals);
    }
  },
  cpu: (dy, info, a) => {
    const heads = info.shape[0];
    const grad = new Float64Array(a.numBuckets * heads);
    forEachBiasRow(a, heads, (o, index) => {
      for (let j = 0; j < a.keyLen; j++) grad[index[j]] += dy[o + j];
    });
    return { values: Float32Array.from(grad), shape: [a.numBuckets, heads] };
  },
});

/**
 * Materialises the causal T5 bias [H, Tq, Tk] from the bucket table [numBuckets, H] on the
 * current backend; differentiable with respect to the table.
 *
 * @param table [numBuckets, H] float32 (HF `relative_attention_bias.weight`).
 * @param queryLen Tq, integer >= 1.
 * @param keyLen Tk, integer >= 1.
 *
 * @example
 * ```ts
 * const grad = tf.grad((t: tf.Tensor) => t5Bias(t as tf.Tensor2D, 8, 8,
 *   { numBuckets: 8, maxDistance: 16 }).sum())(tf.zeros([8, 2])); // offsets per bucket
 * ```
 */
export function t5Bias(
  table: tf.Tensor2D,
  queryLen: number,
  keyLen: number,
  opts: T5BiasOptions,
): tf.Tensor3D {
  const { numBuckets, maxDistance } = opts ?? ({} as T5BiasOptions);
  requireInteger("numBuckets", numBuckets, 2);
  const maxExact = Math.floor(numBuckets / 2);
  if (typeof maxDistance !== "number" || !Number.isFinite(maxDistance) || maxDistance <= maxExact) {
    throw new RangeError(
      `maxDistance must be > the exact range floor(numBuckets / 2) = ${maxExact}; got ${maxDistance}`,
    );
  }
  requireInteger("queryLen", queryLen, 1);
  requireInteger("keyLen", keyLen, 1);
  const queryOffset = opts.queryOffset ?? 0;
  requireInteger("queryOffset", queryOffset, 0);
  if (!(table instanceof tf.Tensor) || table.rank !== 2) {
    throw new RangeError(`table must be a rank-2 tensor [numBuckets, H]; got rank ${table?.rank}`);
  }
  if (table.shape[0] !== numBuckets || table.shape[1] < 1) {
    throw new RangeError(
      `table must have shape [numBuckets = ${numBuckets}, H >= 1]; got [${table.shape}]`,
    );
  }
  if (table.dtype !== "float32") throw new TypeError(`table must be float32; got ${table.dtype}`);
  if (queryLen + queryOffset + keyLen > 2 ** 30) {
    throw new RangeError(
      `queryLen + queryOffset + keyLen must be <= 2^30 (int32 positions); got ${
        queryLen + queryOffset + keyLen
      }`,
    );
  }
  const attrs: T5BiasAttrs = { queryLen, keyLen, numBuckets, maxDistance, queryOffset };
  return tf.engine().runKernel(
    T5_BIAS_KERNEL,
    { table },
    attrs as unknown as tf.NamedAttrMap,
  ) as tf.Tensor3D;
}
