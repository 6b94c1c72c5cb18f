/**
 * The positional and attention building blocks the decoder uses, gathered in one place so the
 * model imports them from here.
 *
 * Positions and rotary are the real modules. TEMPORARY STAND-IN: `attention` below is a small
 * composite (O(N^2) memory) with the agreed signature until src/kernels/attention.ts lands; it is
 * then replaced by a re-export.
 *
 * @example
 * ```ts
 * import { applyRotary, attention, ropeInvFreq } from "./ops.ts";
 * ```
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import { relativePositionBucket } from "../positions/t5.ts";

export { ropeInvFreq, type RopeScaling } from "../positions/rope.ts";
export { alibiSlopes } from "../positions/alibi.ts";
export { relativePositionBucket } from "../positions/t5.ts";
export { applyRotary } from "../kernels/rotary.ts";

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
