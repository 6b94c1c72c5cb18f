/**
 * Rotary position embedding as a tfjs kernel: WGSL on webgpu, a TypeScript loop on wasm and cpu,
 * and a registered gradient (the inverse rotation, times the same attention scale).
 *
 * HF Llama `rotate_half` convention: dim i pairs with i + D/2,
 * angle = float32((t + positionOffset) * invFreq[i]), out = (x cos + rotate_half(x) sin) * scale.
 * The cos/sin tables are computed once per call on the host in float64 from the float32 angle
 * (WGSL's cos/sin are only accurate to 2^-11 on [-pi, pi] and unspecified beyond), then the kernel
 * does the rotation itself.
 *
 * @example
 * ```ts
 * import * as tf from "@tensorflow/tfjs";
 * import { applyRotary } from "./rotary.ts";
 * const q = tf.randomNormal([1, 4, 16, 32]) as tf.Tensor4D;
 * const invFreq = new Float32Array(16).map((_, i) => 10000 ** (-i / 16));
 * const qRot = applyRotary(q, invFreq, { positionOffset: 0 });
 * ```
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import { requireAllFinite, requireInteger } from "../util/validate.ts";
import {
  disposeInfo,
  registerSingleInputKernel,
  runFlatProgram,
  writeFloat32,
} from "./webgpu_program.ts";

/** Options of {@link applyRotary} (and of its test reference, `rotaryReference`). */
export interface RotaryOptions {
  /** Multiplies cos and sin (YaRN's temperature); default 1. */
  attentionScale?: number;
  /** Absolute position of token 0 (KV-cache decoding); default 0. */
  positionOffset?: number;
}

/** tfjs kernel name of the rotary op (inputs `{x}`, attrs {@link RotaryAttrs}). */
export const ROTARY_KERNEL = "CourseRotary";

/** Attributes of {@link ROTARY_KERNEL}; `inverse` rotates by -angle (the gradient). */
export interface RotaryAttrs {
  invFreq: number[];
  attentionScale: number;
  positionOffset: number;
  inverse: boolean;
}

interface Tables {
  cos: Float32Array;
  sin: Float32Array;
}

// Tables depend only on (invFreq, T, offset, scale, inverse); forward and backward of a layer
// reuse them, so a few recent ones are kept.
const tableCache = new Map<string, Tables>();
const TABLE_CACHE_SIZE = 8;

/**
 * cos and sin tables [T, D/2] of the rotation, already multiplied by the attention scale
 * (sin negated when `inverse`).
 *
 * @example
 * ```ts
 * const { cos, sin } = rotaryTables([1], 2, { invFreq: [1], attentionScale: 1, positionOffset: 0,
 *   inverse: false });
 * ```
 */
export function rotaryTables(
  invFreq: ArrayLike<number>,
  tokens: number,
  attrs: RotaryAttrs,
): Tables {
  const key = `${tokens}|${attrs.positionOffset}|${attrs.attentionScale}|${attrs.inverse}|` +
    Array.prototype.join.call(invFreq, ",");
  const hit = tableCache.get(key);
  if (hit) {
    tableCache.delete(key);
    tableCache.set(key, hit);
    return hit;
  }
  const half = invFreq.length;
  const cos = new Float32Array(tokens * half);
  const sin = new Float32Array(tokens * half);
  const sinScale = attrs.inverse ? -attrs.attentionScale : attrs.attentionScale;
  for (let t = 0; t < tokens; t++) {
    const position = t + attrs.positionOffset;
    for (let i = 0; i < half; i++) {
      const angle = Math.fround(position * invFreq[i]); // HF: float32 inv_freq @ position
      cos[t * half + i] = Math.cos(angle) * attrs.attentionScale;
      sin[t * half + i] = Math.sin(angle) * sinScale;
    }
  }
  const tables = { cos, sin };
  tableCache.set(key, tables);
  if (tableCache.size > TABLE_CACHE_SIZE) tableCache.delete(tableCache.keys().next().value!);
  return tables;
}

/** The rotation of the rows of x [B, H, T, D] (values `xs`), on the host. */
function rotateRows(xs: Float32Array, shape: number[], a: RotaryAttrs): Float32Array {
  const [, , tokens, dim] = shape;
  const half = dim / 2;
  const { cos, sin } = rotaryTables(a.invFreq, tokens, a);
  const out = new Float32Array(xs.length);
  for (let row = 0; row < xs.length; row += dim) {
    const k0 = ((row / dim) % tokens) * half;
    for (let i = 0; i < half; i++) {
      const c = cos[k0 + i];
      const s = sin[k0 + i];
      const lo = xs[row + i];
      const hi = xs[row + i + half];
      out[row + i] = lo * c - hi * s;
      out[row + i + half] = hi * c + lo * s;
    }
  }
  return out;
}

// One invocation per output element; the partner of dim i is i +- D/2.
const ROTARY_WGSL = `
  let dim = uniforms.xShape.w;
  let half = dim / 2;
  let i = index % dim;
  let t = (index / dim) % uniforms.xShape.z;
  let k = t * half + (i % half);
  var partner : f32;
  if (i < half) {
    partner = -X[index + half];
  } else {
    partner = X[index - half];
  }
  setOutputAtIndex(index, X[index] * Cos[k] + partner * Sin[k]);
`;

registerSingleInputKernel<RotaryAttrs>(ROTARY_KERNEL, {
  input: "x",
  webgpu: (x, a, backend) => {
    const [, , tokens, dim] = x.shape;
    const { cos, sin } = rotaryTables(a.invFreq, tokens, a);
    const cosInfo = writeFloat32(backend, cos, [tokens, dim / 2]);
    const sinInfo = writeFloat32(backend, sin, [tokens, dim / 2]);
    try {
      return runFlatProgram(backend, {
        name: "course_rotary",
        inputs: ["X", "Cos", "Sin"],
        outputShape: x.shape,
        body: ROTARY_WGSL,
      }, [x, cosInfo, sinInfo]);
    } finally {
      // Deferred by tfjs until the queued command that reads them has been submitted.
      disposeInfo(backend, cosInfo);
      disposeInfo(backend, sinInfo);
    }
  },
  cpu: (xs, x, a) => ({ values: rotateRows(xs, x.shape, a), shape: x.shape }),
  // The rotation scaled by s is s R(theta); its transpose is s R(-theta): the same kernel, inverted.
  grad: (dy, a) =>
    tf.engine().runKernel(ROTARY_KERNEL, { x: dy }, {
      ...a,
      inverse: !a.inverse,
    } as unknown as tf.NamedAttrMap) as tf.Tensor,
});

/**
 * Applies the rotary embedding to q or k [B, H, T, D] on the current backend; differentiable
 * with respect to x.
 *
 * @param x [batch, heads, tokens, headDim] float32, headDim even and >= 2.
 * @param invFreq D/2 inverse frequencies (e.g. `ropeInvFreq(...).invFreq`).
 * @param opts attentionScale (> 0, default 1) multiplies cos and sin; positionOffset (integer
 *   >= 0, default 0) is the absolute position of token 0.
 *
 * @example
 * ```ts
 * const k = applyRotary(tf.ones([1, 1, 3, 4]) as tf.Tensor4D, new Float32Array([1, 0.01]),
 *   { attentionScale: 1.2, positionOffset: 5 });
 * ```
 */
export function applyRotary(
  x: tf.Tensor4D,
  invFreq: Float32Array,
  opts: RotaryOptions = {},
): tf.Tensor4D {
  if (!(x instanceof tf.Tensor) || x.rank !== 4) {
    throw new RangeError(`x must be a rank-4 tensor [B, H, T, D]; got rank ${x?.rank}`);
  }
  if (x.dtype !== "float32") throw new TypeError(`x must be float32; got ${x.dtype}`);
  const dim = x.shape[3];
  if (dim < 2 || dim % 2 !== 0) {
    throw new RangeError(`head dimension (x.shape[3]) must be even and >= 2; got ${dim}`);
  }
  if (!(invFreq instanceof Float32Array) || invFreq.length !== dim / 2) {
    throw new RangeError(
      `invFreq must be a Float32Array of length D/2 = ${dim / 2}; got length ${invFreq?.length}`,
    );
  }
  requireAllFinite("invFreq", invFreq);
  const attentionScale = opts.attentionScale ?? 1;
  if (!Number.isFinite(attentionScale) || attentionScale <= 0) {
    throw new RangeError(`attentionScale must be finite and > 0; got ${attentionScale}`);
  }
  const positionOffset = opts.positionOffset ?? 0;
  requireInteger("positionOffset", positionOffset, 0);
  const attrs: RotaryAttrs = {
    invFreq: Array.from(invFreq),
    attentionScale,
    positionOffset,
    inverse: false,
  };
  return tf.engine().runKernel(
    ROTARY_KERNEL,
    { x },
    attrs as unknown as tf.NamedAttrMap,
  ) as tf.Tensor4D;
}
