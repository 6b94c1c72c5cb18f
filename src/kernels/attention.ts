/**
 * Causal multi-head attention with the positional term inside: one op for every model of the
 * course, O(N) memory, forward and backward, as registered tfjs kernels.
 *
 * - webgpu: WGSL flash attention (src/kernels/attention_webgpu.ts): workgroup-memory tiles, online
 *   softmax, ALiBi / T5 bias computed in the kernel, log-sum-exp saved for the backward.
 * - wasm and cpu: blockwise attention (src/kernels/attention_cpu.ts, wrapped as tfjs kernels in
 *   src/kernels/attention_cpu_kernel.ts): query blocks against the
 *   keys they may see through the wasm backend's fast matmul, softmax row by row; the backward
 *   recomputes each block's probabilities exactly as the forward computed them.
 *
 * Layout [B, H, T, D]; queries are the last Tq of the Tk key positions (Tq = Tk in training; a
 * shorter Tq is KV-cache decoding). Positional modes (`AttentionBias`): `none` (rotary, if any,
 * already applied to q and k), `alibi` (fixed slopes, logit -slope * (i - j)), `t5` (learned table
 * [numBuckets, H], logit table[bucket(j - i), h] with HF's causal bucket function). Gradients flow
 * to q, k, v and the T5 table.
 *
 * {@link attentionReference} is the same function written with composite tfjs ops (an N x N score
 * matrix): the tests' reference and the benchmark's baseline.
 *
 * @example
 * ```ts
 * import * as tf from "@tensorflow/tfjs";
 * import { attention } from "./attention.ts";
 * const q = tf.randomNormal([1, 4, 1024, 32]) as tf.Tensor4D;
 * const y = attention(q, q, q, { bias: { kind: "none" }, scale: 1 / Math.sqrt(32) });
 * ```
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import { alibiBias } from "./alibi_bias.ts";
import { t5Bias } from "./t5_bias.ts";
import { attentionBackwardCpuKernel, attentionForwardCpuKernel } from "./attention_cpu_kernel.ts";
import {
  attentionBackwardWebGpu,
  attentionForwardWebGpu,
  type AttentionKernelAttrs,
} from "./attention_webgpu.ts";
import { kernelInput, registerCourseGradient, registerCourseKernel } from "./webgpu_program.ts";

/** The positional term of the attention logits (agreed interface). */
export type AttentionBias =
  | { kind: "none" }
  | { kind: "alibi"; slopes: Float32Array }
  | { kind: "t5"; table: tf.Tensor2D; numBuckets: number; maxDistance: number };

/** Options of {@link attention} and {@link attentionReference}. */
export interface AttentionOptions {
  bias: AttentionBias;
  /** Multiplies q . k before the bias (usually 1 / sqrt(D)). */
  scale: number;
}

/** tfjs kernel name of the forward (inputs q, k, v, bias; outputs out, lse). */
export const ATTENTION_KERNEL = "CourseAttention";
/** tfjs kernel name of the backward (inputs q, k, v, bias, out, lse, dy; outputs dq, dk, dv, dbias). */
export const ATTENTION_GRAD_KERNEL = "CourseAttentionGrad";

function validate(q: tf.Tensor, k: tf.Tensor, v: tf.Tensor, opts: AttentionOptions): void {
  for (const [name, t] of [["q", q], ["k", k], ["v", v]] as const) {
    if (!(t instanceof tf.Tensor) || t.rank !== 4) {
      throw new TypeError(`${name} must be a rank-4 tensor [B, H, T, D]; got rank ${t?.rank}`);
    }
    if (t.dtype !== "float32") throw new TypeError(`${name} must be float32; got ${t.dtype}`);
  }
  const [b, h, tq, d] = q.shape;
  if (!tf.util.arraysEqual(k.shape, v.shape)) {
    throw new RangeError(`k and v must have the same shape; got [${k.shape}] and [${v.shape}]`);
  }
  if (k.shape[0] !== b || k.shape[1] !== h || k.shape[3] !== d) {
    throw new RangeError(
      `k must be [${b}, ${h}, Tk, ${d}] to match q [${q.shape}]; got [${k.shape}]`,
    );
  }
  if (tq < 1 || tq > (k.shape[2] as number)) {
    throw new RangeError(`q length must be in [1, ${k.shape[2]}] (the key length); got ${tq}`);
  }
  if (d < 1) throw new RangeError(`head dimension must be >= 1; got ${d}`);
  if (!Number.isFinite(opts?.scale)) {
    throw new RangeError(`scale must be a finite number; got ${opts?.scale}`);
  }
  const bias = opts.bias;
  if (bias?.kind === "alibi") {
    if (!(bias.slopes instanceof Float32Array) || bias.slopes.length !== h) {
      throw new RangeError(
        `bias.slopes must be a Float32Array of length ${h} (heads); got ${bias.slopes?.length}`,
      );
    }
  } else if (bias?.kind === "t5") {
    const nb = bias.numBuckets;
    if (!Number.isInteger(nb) || nb < 2) {
      throw new RangeError(`bias.numBuckets must be an integer >= 2; got ${nb}`);
    }
    if (!(bias.maxDistance > Math.floor(nb / 2))) {
      throw new RangeError(
        `bias.maxDistance must be > numBuckets / 2 (${
          Math.floor(nb / 2)
        }); got ${bias.maxDistance}`,
      );
    }
    if (
      !(bias.table instanceof tf.Tensor) || bias.table.rank !== 2 ||
      bias.table.shape[0] !== nb || bias.table.shape[1] !== h
    ) {
      throw new RangeError(
        `bias.table must be [numBuckets, heads] = [${nb}, ${h}]; got [${bias.table?.shape}]`,
      );
    }
  } else if (bias?.kind !== "none") {
    throw new TypeError(
      `bias.kind must be "none", "alibi" or "t5"; got ${
        JSON.stringify((bias as { kind?: unknown })?.kind)
      }`,
    );
  }
}

function kernelAttrs(opts: AttentionOptions): AttentionKernelAttrs {
  const b = opts.bias;
  return {
    mode: b.kind,
    scale: opts.scale,
    numBuckets: b.kind === "t5" ? b.numBuckets : 0,
    maxDistance: b.kind === "t5" ? b.maxDistance : 0,
  };
}

/** Causal attention of q, k, v [B, H, T, D]: the signature of both implementations. */
export type AttentionOp = (
  q: tf.Tensor4D,
  k: tf.Tensor4D,
  v: tf.Tensor4D,
  opts: AttentionOptions,
) => tf.Tensor4D;

/** `op` behind the argument checks both implementations share. */
function validated(op: AttentionOp): AttentionOp {
  return (q, k, v, opts) => {
    validate(q, k, v, opts);
    return op(q, k, v, opts);
  };
}

/**
 * Fused causal attention: softmax(scale * q k^T + bias + causal mask) v, never materialising the
 * N x N scores. Differentiable with respect to q, k, v and the T5 table.
 *
 * @example
 * ```ts
 * const y = attention(q, k, v, { bias: { kind: "alibi", slopes: alibiSlopes(4) }, scale: 0.125 });
 * ```
 */
export const attention: AttentionOp = validated((q, k, v, opts) => {
  const b = opts.bias;
  return tf.tidy(() => {
    // The bias input is the slopes (alibi), the table (t5, so that it receives a gradient) or a
    // one-element placeholder: the kernel always has the same four inputs.
    const bias = b.kind === "t5"
      ? b.table
      : b.kind === "alibi"
      ? tf.tensor1d(b.slopes)
      : tf.zeros([1]);
    const [out] = tf.engine().runKernel(
      ATTENTION_KERNEL,
      { q, k, v, bias },
      kernelAttrs(opts) as unknown as tf.NamedAttrMap,
    ) as tf.Tensor[];
    return out as tf.Tensor4D;
  });
});

/** The [Tq, Tk] additive causal mask (0 where key <= query position, -1e9 after). */
function causalMask(queryLen: number, keyLen: number): tf.Tensor2D {
  const mask = new Float32Array(queryLen * keyLen);
  const offset = keyLen - queryLen;
  for (let i = 0; i < queryLen; i++) mask.fill(-1e9, i * keyLen + i + offset + 1, (i + 1) * keyLen);
  return tf.tensor2d(mask, [queryLen, keyLen]);
}

/**
 * The same attention with composite tfjs ops and an N x N score matrix (the tests' reference and
 * the benchmark's baseline). Uses the materialised bias kernels alibiBias / t5Bias.
 *
 * @example
 * ```ts
 * const y = attentionReference(q, k, v, { bias: { kind: "none" }, scale: 0.125 });
 * ```
 */
export const attentionReference: AttentionOp = validated((q, k, v, opts) =>
  tf.tidy(() => {
    const tq = q.shape[2];
    const tk = k.shape[2];
    let logits = tf.mul(tf.matMul(q, k, false, true), opts.scale);
    const b = opts.bias;
    const queryOffset = tk - tq;
    if (b.kind === "alibi") logits = tf.add(logits, alibiBias(b.slopes, tq, tk, { queryOffset }));
    if (b.kind === "t5") {
      const { numBuckets, maxDistance } = b;
      logits = tf.add(logits, t5Bias(b.table, tq, tk, { numBuckets, maxDistance, queryOffset }));
    }
    logits = tf.add(logits, causalMask(tq, tk));
    return tf.matMul(tf.softmax(logits), v) as tf.Tensor4D;
  })
);

// ---------------------------------------------------------------- registration (on import)

registerCourseKernel(ATTENTION_KERNEL, {
  webgpu: ({ inputs, attrs, backend }) =>
    attentionForwardWebGpu(backend, {
      q: kernelInput(inputs, "q"),
      k: kernelInput(inputs, "k"),
      v: kernelInput(inputs, "v"),
      bias: kernelInput(inputs, "bias"),
    }, attrs as unknown as AttentionKernelAttrs),
  cpu: attentionForwardCpuKernel,
});
registerCourseKernel(ATTENTION_GRAD_KERNEL, {
  webgpu: ({ inputs, attrs, backend }) => {
    const names = ["q", "k", "v", "bias", "out", "lse", "dy"] as const;
    const named = Object.fromEntries(names.map((n) => [n, kernelInput(inputs, n)]));
    return attentionBackwardWebGpu(
      backend,
      named as Record<(typeof names)[number], tf.TensorInfo>,
      attrs as unknown as AttentionKernelAttrs,
    );
  },
  cpu: attentionBackwardCpuKernel,
});
registerCourseGradient({
  kernelName: ATTENTION_KERNEL,
  inputsToSave: ["q", "k", "v", "bias"],
  outputsToSave: [true, true],
  gradFunc: (dy, saved, attrs) => {
    const [q, k, v, bias, out, lse] = saved;
    const dOut = Array.isArray(dy) ? dy[0] : dy;
    const grads = tf.engine().runKernel(
      ATTENTION_GRAD_KERNEL,
      { q, k, v, bias, out, lse, dy: dOut },
      attrs,
    ) as tf.Tensor[];
    return { q: () => grads[0], k: () => grads[1], v: () => grads[2], bias: () => grads[3] };
  },
});
