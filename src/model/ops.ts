/**
 * The positional and attention building blocks the decoder uses, gathered in one place so the
 * model imports them from here.
 *
 * TEMPORARY STAND-INS: until src/positions/*.ts and src/kernels/{rotary,attention}.ts land, this
 * file holds small composite versions with the agreed signatures (see /tmp/conventions.md). Each
 * is replaced by a re-export of the real module as soon as that module is committed.
 *
 * @example
 * ```ts
 * import { applyRotary, attention, ropeInvFreq } from "./ops.ts";
 * ```
 * @module
 */
import * as tf from "@tensorflow/tfjs";

// ---- STAND-IN for src/positions/rope.ts (default / linear / ntk only) ----
/** RoPE scaling (agreed interface, DESIGN.md). */
export type RopeScaling =
  | { type: "default" }
  | { type: "linear"; factor: number }
  | { type: "ntk"; factor: number }
  | { type: "dynamic"; factor: number; originalMaxPositions: number }
  | {
    type: "yarn";
    factor: number;
    originalMaxPositions: number;
    betaFast?: number;
    betaSlow?: number;
  };

/** STAND-IN: inverse frequencies and attention scale for `scaling`. */
export function ropeInvFreq(
  headDim: number,
  base: number,
  scaling: RopeScaling,
  _seqLen?: number,
): { invFreq: Float32Array; attentionScale: number } {
  let b = base;
  if (scaling.type === "ntk") b = base * scaling.factor ** (headDim / (headDim - 2));
  const invFreq = new Float32Array(headDim / 2);
  for (let i = 0; i < headDim / 2; i++) invFreq[i] = 1 / b ** ((2 * i) / headDim);
  if (scaling.type === "linear") {
    for (let i = 0; i < invFreq.length; i++) invFreq[i] /= scaling.factor;
  }
  if (scaling.type === "dynamic" || scaling.type === "yarn") {
    throw new RangeError(`stand-in ropeInvFreq lacks "${scaling.type}"; wait for src/positions`);
  }
  return { invFreq, attentionScale: 1 };
}

// ---- STAND-IN for src/positions/alibi.ts ----
/** STAND-IN: ALiBi slopes (Press et al.), any head count. */
export function alibiSlopes(numHeads: number): Float32Array {
  const pow2 = (n: number) => {
    const start = 2 ** (-(2 ** -(Math.log2(n) - 3)));
    return Array.from({ length: n }, (_, i) => start * start ** i);
  };
  const closest = 2 ** Math.floor(Math.log2(numHeads));
  const s = pow2(closest);
  if (closest < numHeads) {
    s.push(...pow2(2 * closest).filter((_, i) => i % 2 === 0).slice(0, numHeads - closest));
  }
  return Float32Array.from(s);
}

// ---- STAND-IN for src/positions/t5.ts ----
/** STAND-IN: HF T5 relative position bucket (relativePosition = key - query). */
export function relativePositionBucket(
  relativePosition: number,
  opts: { bidirectional: boolean; numBuckets: number; maxDistance: number },
): number {
  let numBuckets = opts.numBuckets;
  let ret = 0;
  let n = relativePosition;
  if (opts.bidirectional) {
    numBuckets = Math.floor(numBuckets / 2);
    if (n > 0) ret += numBuckets;
    n = Math.abs(n);
  } else {
    n = -Math.min(n, 0);
  }
  const maxExact = Math.floor(numBuckets / 2);
  if (n < maxExact) return ret + n;
  const large = maxExact + Math.floor(
    Math.log(n / maxExact) / Math.log(opts.maxDistance / maxExact) * (numBuckets - maxExact),
  );
  return ret + Math.min(large, numBuckets - 1);
}

// ---- STAND-IN for src/kernels/rotary.ts (composite, rotate_half convention) ----
/** STAND-IN: rotary embedding on [B, H, T, D]. */
export function applyRotary(
  x: tf.Tensor4D,
  invFreq: Float32Array,
  opts: { attentionScale?: number; positionOffset?: number } = {},
): tf.Tensor4D {
  return tf.tidy(() => {
    const [, , t, d] = x.shape;
    const half = d / 2;
    const off = opts.positionOffset ?? 0;
    const scale = opts.attentionScale ?? 1;
    const cos = new Float32Array(t * d);
    const sin = new Float32Array(t * d);
    for (let p = 0; p < t; p++) {
      for (let i = 0; i < half; i++) {
        const a = (p + off) * invFreq[i];
        cos[p * d + i] = cos[p * d + i + half] = Math.cos(a) * scale;
        sin[p * d + i] = sin[p * d + i + half] = Math.sin(a) * scale;
      }
    }
    const x1 = x.slice([0, 0, 0, 0], [-1, -1, -1, half]);
    const x2 = x.slice([0, 0, 0, half], [-1, -1, -1, half]);
    const rotated = tf.concat([tf.neg(x2), x1], 3);
    return tf.add(tf.mul(x, tf.tensor2d(cos, [t, d])), tf.mul(rotated, tf.tensor2d(sin, [t, d])));
  });
}

// ---- STAND-IN for src/kernels/attention.ts (composite, O(N^2) memory) ----
/** Bias of the attention op (agreed interface). */
export type AttentionBias =
  | { kind: "none" }
  | { kind: "alibi"; slopes: Float32Array }
  | { kind: "t5"; table: tf.Tensor2D; numBuckets: number; maxDistance: number };

/** STAND-IN: causal attention on [B, H, T, D] with an optional positional bias. */
export function attention(
  q: tf.Tensor4D,
  k: tf.Tensor4D,
  v: tf.Tensor4D,
  opts: { bias: AttentionBias; scale: number },
): tf.Tensor4D {
  return tf.tidy(() => {
    const [b, h, t, d] = q.shape;
    const mask = new Float32Array(t * t);
    for (let i = 0; i < t; i++) for (let j = i + 1; j < t; j++) mask[i * t + j] = -1e9;
    let bias: tf.Tensor = tf.tensor2d(mask, [t, t]);
    if (opts.bias.kind === "alibi") {
      const a = new Float32Array(h * t * t);
      for (let hh = 0; hh < h; hh++) {
        for (let i = 0; i < t; i++) {
          for (let j = 0; j <= i; j++) a[(hh * t + i) * t + j] = -opts.bias.slopes[hh] * (i - j);
        }
      }
      bias = tf.add(bias, tf.tensor3d(a, [h, t, t]));
    } else if (opts.bias.kind === "t5") {
      const nb = opts.bias.numBuckets;
      const oneHot = new Float32Array(t * t * nb);
      for (let i = 0; i < t; i++) {
        for (let j = 0; j < t; j++) {
          const bucket = relativePositionBucket(j - i, {
            bidirectional: false,
            numBuckets: nb,
            maxDistance: opts.bias.maxDistance,
          });
          oneHot[(i * t + j) * nb + bucket] = 1;
        }
      }
      const table = tf.matMul(tf.tensor2d(oneHot, [t * t, nb]), opts.bias.table); // [T*T, H]
      bias = tf.add(bias, tf.transpose(table.reshape([t, t, h]), [2, 0, 1]));
    }
    const qf = q.reshape([b * h, t, d]);
    const kf = k.reshape([b * h, t, d]);
    const vf = v.reshape([b * h, t, d]);
    const scores = tf.add(
      tf.mul(tf.matMul(qf, kf, false, true), opts.scale).reshape([b, h, t, t]),
      bias,
    );
    const probs = tf.softmax(scores, -1).reshape([b * h, t, t]);
    return tf.matMul(probs, vf).reshape([b, h, t, d]) as tf.Tensor4D;
  });
}
