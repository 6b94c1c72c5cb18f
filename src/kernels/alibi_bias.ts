/**
 * The materialised causal ALiBi bias [H, Tq, Tk] as a tfjs kernel (WGSL on webgpu, a TypeScript
 * loop on wasm and cpu), for teaching and for the composite attention path; the fused attention
 * computes the same bias inside itself.
 *
 * bias[h, i, j] = -slope_h * (q - j) for j <= q, with q = i + queryOffset, and 0 for j > q (future
 * keys, like bucket 0 of HF's causal T5 bias: the causal mask is attention's job, and a finite 0
 * keeps `mask * bias` and `bias + mask` free of NaN).
 *
 * @example
 * ```ts
 * import { alibiBias } from "./alibi_bias.ts";
 * const bias = alibiBias(new Float32Array([0.5, 0.25]), 4, 4); // [2, 4, 4]
 * ```
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import { requireAllFinite, requireInteger } from "../util/validate.ts";
import { registerSingleInputKernel } from "./webgpu_program.ts";

/** tfjs kernel name of the ALiBi bias (inputs `{slopes}` [H], attrs {@link AlibiBiasAttrs}). */
export const ALIBI_BIAS_KERNEL = "CourseAlibiBias";

/** Attributes of {@link ALIBI_BIAS_KERNEL}. */
export interface AlibiBiasAttrs {
  queryLen: number;
  keyLen: number;
  queryOffset: number;
}

const ALIBI_WGSL = `
  let keyLen = uniforms.outShape.z;
  let queryLen = uniforms.outShape.y;
  let j = index % keyLen;
  let i = (index / keyLen) % queryLen;
  let h = index / (keyLen * queryLen);
  let distance = max(0, i + uniforms.queryOffset - j);
  setOutputAtIndex(index, -Slopes[h] * f32(distance));
`;

registerSingleInputKernel<AlibiBiasAttrs>(ALIBI_BIAS_KERNEL, {
  input: "slopes",
  program: (slopes, a) => ({
    name: "course_alibi_bias",
    outputShape: [slopes.shape[0], a.queryLen, a.keyLen],
    uniforms: "queryOffset : i32,",
    body: ALIBI_WGSL,
    values: [{ type: "int32", data: [a.queryOffset] }],
  }),
  cpu: (slopes, _info, a) => ({
    values: alibiValues(slopes, a),
    shape: [slopes.length, a.queryLen, a.keyLen],
  }),
  // d bias[h, i, j] / d slope_h = -distance[i, j]: only reachable through the kernel (the public op
  // takes constant slopes), kept so that learned slopes are one line away.
  grad: (dy, a) => {
    const distances = tf.tensor2d(alibiDistances(a.queryLen, a.keyLen, a.queryOffset), [
      a.queryLen,
      a.keyLen,
    ]);
    return tf.neg(tf.sum(tf.mul(dy, distances), [1, 2]));
  },
});

/** The bias [H, Tq, Tk] on the host, H = slopes.length. */
function alibiValues(slopes: Float32Array, a: AlibiBiasAttrs): Float32Array {
  const out = new Float32Array(slopes.length * a.queryLen * a.keyLen);
  for (let h = 0; h < slopes.length; h++) {
    for (let i = 0; i < a.queryLen; i++) {
      const q = i + a.queryOffset;
      const row = (h * a.queryLen + i) * a.keyLen;
      // Future keys (j > q) keep the array's initial 0.
      for (let j = 0; j < Math.min(a.keyLen, q + 1); j++) out[row + j] = -slopes[h] * (q - j);
    }
  }
  return out;
}

/**
 * The causal distance matrix max(0, i + queryOffset - j), [Tq, Tk] row-major.
 *
 * @example
 * ```ts
 * alibiDistances(2, 2, 0); // [0, 0, 1, 0]
 * ```
 */
export function alibiDistances(
  queryLen: number,
  keyLen: number,
  queryOffset: number,
): Float32Array {
  const out = new Float32Array(queryLen * keyLen);
  for (let i = 0; i < queryLen; i++) {
    for (let j = 0; j < keyLen; j++) out[i * keyLen + j] = Math.max(0, i + queryOffset - j);
  }
  return out;
}

/**
 * Materialises the causal ALiBi bias [H, Tq, Tk] on the current backend, H = slopes.length.
 *
 * @param slopes per-head slopes (e.g. `alibiSlopes(H)`), finite, length >= 1.
 * @param queryLen Tq, integer >= 1.
 * @param keyLen Tk, integer >= 1.
 * @param opts queryOffset: absolute position of query 0 (integer >= 0, default 0).
 *
 * @example
 * ```ts
 * const bias = alibiBias(new Float32Array([0.5]), 1, 8, { queryOffset: 7 }); // one decoding step
 * ```
 */
export function alibiBias(
  slopes: Float32Array,
  queryLen: number,
  keyLen: number,
  opts: { queryOffset?: number } = {},
): tf.Tensor3D {
  if (!(slopes instanceof Float32Array) || slopes.length < 1) {
    throw new RangeError(`slopes must be a Float32Array of length >= 1 (one per head)`);
  }
  requireAllFinite("slopes", slopes);
  requireInteger("queryLen", queryLen, 1);
  requireInteger("keyLen", keyLen, 1);
  const queryOffset = opts.queryOffset ?? 0;
  requireInteger("queryOffset", queryOffset, 0);
  const attrs: AlibiBiasAttrs = { queryLen, keyLen, queryOffset };
  return tf.tidy(() =>
    tf.engine().runKernel(
      ALIBI_BIAS_KERNEL,
      { slopes: tf.tensor1d(slopes) },
      attrs as unknown as tf.NamedAttrMap,
    ) as tf.Tensor3D
  );
}
