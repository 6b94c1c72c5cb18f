/**
 * Sampling text from a model (no KV cache: fine for the short samples the notebooks show).
 *
 * @example
 * ```ts
 * import { sampleBytes } from "./generate.ts";
 * const out = sampleBytes(model, encode("It is a truth"), 80, { temperature: 0.7, seed: 1 });
 * ```
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import { Rng } from "../data/rng.ts";
import type { Decoder } from "../model/decoder.ts";

/** Samples `n` bytes after `prompt` at `temperature` (0 = greedy), keeping the last `window`. */
export function sampleBytes(
  model: Decoder,
  prompt: Uint8Array,
  n: number,
  o: { temperature?: number; seed?: number; window?: number } = {},
): Uint8Array {
  const temperature = o.temperature ?? 0.8;
  if (!(temperature >= 0)) throw new RangeError(`temperature must be >= 0; got ${temperature}`);
  const window = o.window ?? model.config.contextLength;
  const rng = new Rng(o.seed ?? 0);
  const seq = Array.from(prompt);
  for (let i = 0; i < n; i++) {
    const ctx = seq.slice(-window);
    const logits = tf.tidy(() =>
      model.forward(tf.tensor2d(ctx, [1, ctx.length], "int32"))
        .slice([0, ctx.length - 1, 0], [1, 1, -1]).reshape([-1])
    );
    const l = logits.dataSync();
    logits.dispose();
    let next = 0;
    if (temperature === 0) {
      for (let j = 1; j < l.length; j++) if (l[j] > l[next]) next = j;
    } else {
      let max = -Infinity;
      for (const v of l) max = Math.max(max, v);
      const p = Array.from(l, (v) => Math.exp((v - max) / temperature));
      let r = rng.next() * p.reduce((s, v) => s + v, 0);
      next = p.length - 1;
      for (let j = 0; j < p.length; j++) {
        if ((r -= p[j]) <= 0) {
          next = j;
          break;
        }
      }
    }
    seq.push(next);
  }
  return Uint8Array.from(seq.slice(prompt.length));
}
