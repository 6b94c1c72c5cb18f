/**
 * AdamW (decoupled weight decay, Loshchilov & Hutter) and global-norm gradient clipping, on
 * tf.Variables, with state that round-trips through checkpoints (`optim.m.*`, `optim.v.*`).
 *
 * @example
 * ```ts
 * import { AdamW, clipByGlobalNorm } from "./adamw.ts";
 * const opt = new AdamW(model.params, { weightDecay: 0.1 });
 * const { grads: clipped, norm } = clipByGlobalNorm(grads, 1.0);
 * opt.apply(clipped, 1e-3);
 * ```
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import type { Weights } from "../model/decoder.ts";

/** AdamW hyper-parameters (the learning rate is passed per step). */
export interface AdamWOptions {
  beta1?: number;
  beta2?: number;
  eps?: number;
  weightDecay?: number;
  /** Parameters that get no weight decay (default: norms, embeddings, biases tables). */
  noDecay?: (name: string) => boolean;
}

/** AdamW over named variables. */
export class AdamW {
  readonly params: Map<string, tf.Variable>;
  readonly beta1: number;
  readonly beta2: number;
  readonly eps: number;
  readonly weightDecay: number;
  #noDecay: (name: string) => boolean;
  #m = new Map<string, tf.Variable>();
  #v = new Map<string, tf.Variable>();
  /** Number of updates applied so far. */
  step = 0;

  constructor(params: Map<string, tf.Variable>, o: AdamWOptions = {}) {
    this.params = params;
    this.beta1 = o.beta1 ?? 0.9;
    this.beta2 = o.beta2 ?? 0.95;
    this.eps = o.eps ?? 1e-8;
    this.weightDecay = o.weightDecay ?? 0.1;
    this.#noDecay = o.noDecay ??
      ((n) => n.includes("norm") || n.startsWith("t5.") || n.startsWith("embed"));
    for (const [name, p] of params) {
      this.#m.set(name, tf.variable(tf.zerosLike(p), false));
      this.#v.set(name, tf.variable(tf.zerosLike(p), false));
    }
  }

  /** One update with gradients keyed by parameter name. */
  apply(grads: Map<string, tf.Tensor>, lr: number): void {
    this.step++;
    const bc1 = 1 - this.beta1 ** this.step;
    const bc2 = 1 - this.beta2 ** this.step;
    tf.tidy(() => {
      for (const [name, p] of this.params) {
        const g = grads.get(name);
        if (!g) throw new RangeError(`no gradient for parameter ${name}`);
        const m = this.#m.get(name)!, v = this.#v.get(name)!;
        m.assign(tf.add(tf.mul(m, this.beta1), tf.mul(g, 1 - this.beta1)));
        v.assign(tf.add(tf.mul(v, this.beta2), tf.mul(tf.square(g), 1 - this.beta2)));
        const update = tf.div(tf.div(m, bc1), tf.add(tf.sqrt(tf.div(v, bc2)), this.eps));
        const decay = this.#noDecay(name) ? 1 : 1 - lr * this.weightDecay;
        p.assign(tf.sub(tf.mul(p, decay), tf.mul(update, lr)));
      }
    });
  }

  /** Moments as tensors for a checkpoint. */
  state(): Weights {
    const out: Weights = new Map();
    for (const [name, m] of this.#m) {
      out.set(`optim.m.${name}`, { shape: m.shape.slice(), data: m.dataSync() as Float32Array });
      const v = this.#v.get(name)!;
      out.set(`optim.v.${name}`, { shape: v.shape.slice(), data: v.dataSync() as Float32Array });
    }
    return out;
  }

  /** Restores moments saved by {@link state} and the step count. */
  load(state: Weights, step: number): void {
    for (const [name, m] of this.#m) {
      for (const [kind, target] of [["m", m], ["v", this.#v.get(name)!]] as const) {
        const s = state.get(`optim.${kind}.${name}`);
        if (!s) throw new RangeError(`optimizer state lacks optim.${kind}.${name}`);
        target.assign(tf.tensor(s.data, s.shape));
      }
    }
    this.step = step;
  }

  /** Frees the moments. */
  dispose(): void {
    for (const t of [...this.#m.values(), ...this.#v.values()]) t.dispose();
  }
}

/** Scales gradients so their global L2 norm is at most `maxNorm`; returns the norm before. */
export function clipByGlobalNorm(
  grads: Map<string, tf.Tensor>,
  maxNorm: number,
): { grads: Map<string, tf.Tensor>; norm: number } {
  if (!(maxNorm > 0)) throw new RangeError(`maxNorm must be > 0; got ${maxNorm}`);
  const norm = tf.tidy(() =>
    tf.sqrt(tf.addN([...grads.values()].map((g) => tf.sum(tf.square(g))))).dataSync()[0]
  );
  if (!Number.isFinite(norm)) throw new RangeError(`gradient norm is not finite: ${norm}`);
  if (norm <= maxNorm) return { grads, norm };
  const scale = maxNorm / norm;
  const out = new Map<string, tf.Tensor>();
  for (const [k, g] of grads) out.set(k, tf.mul(g, scale));
  return { grads: out, norm };
}
