/**
 * Plain TypeScript references for the positional kernels: obvious loops over flat arrays, used by
 * the kernel tests and as the cpu/wasm meaning of each op. Layout is row-major, as in tfjs.
 *
 * Float32 is mimicked where HF transformers computes in float32 and the result depends on it:
 * the rotary angle `position * invFreq` (here) and the log in the T5 bucket function
 * (src/positions/t5.ts).
 *
 * @example
 * ```ts
 * import { rotaryReference } from "./reference.ts";
 * const y = rotaryReference(new Float32Array([1, 0]), [1, 1, 1, 2], new Float32Array([1]));
 * ```
 * @module
 */
import { relativePositionBucket } from "../positions/t5.ts";
import type { RotaryOptions } from "./rotary.ts";

/**
 * HF Llama rotary embedding (`rotate_half`): dim i pairs with i + D/2,
 * angle = float32((t + positionOffset) * invFreq[i]), out = (x cos + rotate_half(x) sin) * scale.
 * Computed in float64 from the float32 angle.
 *
 * @example
 * ```ts
 * rotaryReference(new Float32Array([1, 0]), [1, 1, 1, 2], new Float32Array([Math.PI / 2])); // ~[0, 1]
 * ```
 */
export function rotaryReference(
  x: ArrayLike<number>,
  shape: readonly number[],
  invFreq: ArrayLike<number>,
  opts: RotaryOptions & { inverse?: boolean } = {},
): Float64Array {
  const [batch, heads, tokens, dim] = shape;
  const half = dim / 2;
  const scale = opts.attentionScale ?? 1;
  const offset = opts.positionOffset ?? 0;
  const sinSign = opts.inverse ? -1 : 1;
  const out = new Float64Array(x.length);
  for (let bh = 0; bh < batch * heads; bh++) {
    for (let t = 0; t < tokens; t++) {
      const row = (bh * tokens + t) * dim;
      for (let i = 0; i < half; i++) {
        const angle = Math.fround((t + offset) * invFreq[i]);
        const c = Math.cos(angle) * scale;
        const s = Math.sin(angle) * scale * sinSign;
        const a = x[row + i];
        const b = x[row + i + half];
        out[row + i] = a * c - b * s;
        out[row + i + half] = b * c + a * s;
      }
    }
  }
  return out;
}

/**
 * Materialised causal ALiBi bias [H, Tq, Tk]: -slope_h * (q - k) where k <= q, with
 * q = i + queryOffset; 0 where k > q (the causal mask is attention's job).
 *
 * @example
 * ```ts
 * alibiBiasReference(new Float32Array([0.5]), 2, 2); // [0, 0, -0.5, 0]
 * ```
 */
export function alibiBiasReference(
  slopes: ArrayLike<number>,
  queryLen: number,
  keyLen: number,
  queryOffset = 0,
): Float64Array {
  const out = new Float64Array(slopes.length * queryLen * keyLen);
  for (let h = 0; h < slopes.length; h++) {
    for (let i = 0; i < queryLen; i++) {
      for (let j = 0; j < keyLen; j++) {
        const distance = Math.max(0, i + queryOffset - j);
        out[(h * queryLen + i) * keyLen + j] = -slopes[h] * distance;
      }
    }
  }
  return out;
}

/**
 * HF T5 `_relative_position_bucket` with `bidirectional=False` (causal), float32 like torch:
 * relativePosition = key position - query position; future keys (> 0) share bucket 0.
 * The one definition is src/positions/t5.ts; this is its causal shorthand.
 *
 * @example
 * ```ts
 * t5CausalBucketReference(-200, 32, 128); // 31: every offset past maxDistance shares the last bucket
 * ```
 */
export function t5CausalBucketReference(
  relativePosition: number,
  numBuckets: number,
  maxDistance: number,
): number {
  return relativePositionBucket(relativePosition, {
    bidirectional: false,
    numBuckets,
    maxDistance,
  });
}

/**
 * Materialised causal T5 bias [H, Tq, Tk]: table[bucket(j - (i + queryOffset)), h], with the
 * table [numBuckets, H] row-major as HF's `relative_attention_bias` weight.
 *
 * @example
 * ```ts
 * t5BiasReference(new Float32Array([1, 2]), [2, 1], 1, 2, 2, 2, 1); // [2, 1]
 * ```
 */
export function t5BiasReference(
  table: ArrayLike<number>,
  tableShape: readonly number[],
  queryLen: number,
  keyLen: number,
  numBuckets: number,
  maxDistance: number,
  queryOffset = 0,
): Float64Array {
  const heads = tableShape[1];
  const out = new Float64Array(heads * queryLen * keyLen);
  for (let h = 0; h < heads; h++) {
    for (let i = 0; i < queryLen; i++) {
      for (let j = 0; j < keyLen; j++) {
        const bucket = t5CausalBucketReference(j - (i + queryOffset), numBuckets, maxDistance);
        out[(h * queryLen + i) * keyLen + j] = table[bucket * heads + h];
      }
    }
  }
  return out;
}
