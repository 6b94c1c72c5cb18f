/**
 * The pre-norm decoder: byte embedding (one-hot x matmul, since gather has no gradient on wasm),
 * N blocks of RMSNorm -> attention (+ residual) and RMSNorm -> gated MLP (+ residual), final
 * RMSNorm, tied or untied output head. Positions enter only through the positional config: RoPE
 * takes (invFreq, attentionScale) from the registry, ALiBi and T5 are attention biases. The model
 * never branches on the RoPE scaling type.
 *
 * @example
 * ```ts
 * import { Decoder } from "./decoder.ts";
 * import { modelConfig } from "./config.ts";
 * const model = Decoder.create(modelConfig("tiny"), 0);
 * const logits = model.forward(tf.tensor2d([[72, 105]], [1, 2], "int32")); // [1, 2, 256]
 * ```
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import { Rng } from "../data/rng.ts";
import { type ModelConfig, parameterShapes, validateConfig } from "./config.ts";
import { alibiSlopes, applyRotary, attention, type AttentionBias, ropeInvFreq } from "./ops.ts";

/** Plain float32 weights by name (what checkpoints hold). */
export type Weights = Map<string, { shape: number[]; data: Float32Array }>;

/** Seeded initial weights: N(0, 0.02), residual outputs scaled by 1/sqrt(2 N layers), norms 1. */
export function initWeights(cfg: ModelConfig, seed: number): Weights {
  const rng = new Rng(seed);
  const out: Weights = new Map();
  for (const [name, shape] of parameterShapes(cfg)) {
    const n = shape.reduce((a, b) => a * b, 1);
    const data = new Float32Array(n);
    if (name.endsWith("norm.weight")) data.fill(1);
    else if (name.startsWith("t5.")) data.fill(0);
    else {
      const std = name.endsWith("attn.wo") || name.endsWith("w_down")
        ? 0.02 / Math.sqrt(2 * cfg.numLayers)
        : 0.02;
      for (let i = 0; i < n; i++) data[i] = rng.normal() * std;
    }
    out.set(name, { shape, data });
  }
  return out;
}

/** Options of one forward pass. */
export interface ForwardOptions {
  /**
   * Called once per layer with the queries and keys [B, H, T, headDim] its attention reads:
   * before the rotation and as the attention sees them (equal when the model has no RoPE). The
   * tensors are freed after the call: read them inside it (`dataSync`). For probes and figures.
   */
  inspect?: (layer: number, qk: AttentionInputs) => void;
}

/** The queries and keys of one layer, see {@link ForwardOptions.inspect}. */
export interface AttentionInputs {
  q: tf.Tensor4D;
  k: tf.Tensor4D;
  qRotated: tf.Tensor4D;
  kRotated: tf.Tensor4D;
}

/** A decoder whose parameters are tf.Variables. Dispose it when done. */
export class Decoder {
  readonly config: ModelConfig;
  readonly params: Map<string, tf.Variable>;
  #ropeCache = new Map<number, { invFreq: Float32Array; attentionScale: number }>();

  private constructor(config: ModelConfig, params: Map<string, tf.Variable>) {
    this.config = config;
    this.params = params;
  }

  /** A freshly initialised model (seeded). */
  static create(config: ModelConfig, seed: number): Decoder {
    return Decoder.fromWeights(config, initWeights(validateConfig(config), seed));
  }

  /** A model with the given weights; names and shapes must match the config exactly. */
  static fromWeights(config: ModelConfig, weights: Weights): Decoder {
    validateConfig(config);
    const params = new Map<string, tf.Variable>();
    const expected = parameterShapes(config);
    for (const [name, shape] of expected) {
      const w = weights.get(name);
      if (!w) throw new RangeError(`weights lack parameter ${name} that the config needs`);
      if (w.shape.join(",") !== shape.join(",")) {
        throw new RangeError(
          `parameter ${name} has shape [${w.shape}] but the config needs [${shape}]`,
        );
      }
      params.set(name, tf.variable(tf.tensor(w.data, shape, "float32"), true, name + "_" + uid()));
    }
    const extra = [...weights.keys()].filter((k) => !expected.some(([n]) => n === k));
    if (extra.length) {
      for (const v of params.values()) v.dispose();
      throw new RangeError(`weights have parameters the config does not: ${extra.join(", ")}`);
    }
    return new Decoder(config, params);
  }

  /** Current weights copied out as float32 arrays. */
  weights(): Weights {
    const out: Weights = new Map();
    for (const [name, v] of this.params) {
      out.set(name, { shape: v.shape.slice(), data: v.dataSync() as Float32Array });
    }
    return out;
  }

  /** Frees the variables. */
  dispose(): void {
    for (const v of this.params.values()) v.dispose();
  }

  #p(name: string): tf.Variable {
    const v = this.params.get(name);
    if (!v) throw new RangeError(`unknown parameter ${name}`);
    return v;
  }

  #rope(seqLen: number) {
    const pos = this.config.positional;
    if (pos.type !== "rope") return undefined;
    // Dynamic scalings depend on the sequence length; cache per length.
    let r = this.#ropeCache.get(seqLen);
    if (!r) {
      r = ropeInvFreq(this.config.headDim, this.config.ropeBase, pos.scaling, seqLen);
      this.#ropeCache.set(seqLen, r);
    }
    return r;
  }

  #bias(): AttentionBias {
    const pos = this.config.positional;
    switch (pos.type) {
      case "rope":
        return { kind: "none" };
      case "alibi":
        return { kind: "alibi", slopes: alibiSlopes(this.config.numHeads) };
      case "t5":
        return {
          kind: "t5",
          table: this.#p("t5.relative_attention_bias") as unknown as tf.Tensor2D,
          numBuckets: pos.numBuckets,
          maxDistance: pos.maxDistance,
        };
      default:
        throw new RangeError(
          `positional.type must be rope, alibi or t5; got "${(pos as { type: string }).type}"`,
        );
    }
  }

  #rmsNorm(x: tf.Tensor2D, weight: string): tf.Tensor2D {
    const ms = tf.mean(tf.square(x), -1, true);
    return tf.mul(tf.mul(x, tf.rsqrt(tf.add(ms, this.config.normEps))), this.#p(weight));
  }

  /** Logits [B, T, vocab] for int32 tokens [B, T]. */
  forward(tokens: tf.Tensor2D, opts: ForwardOptions = {}): tf.Tensor3D {
    const cfg = this.config;
    const [b, t] = tokens.shape;
    const h = cfg.numHeads, hd = cfg.headDim;
    return tf.tidy(() => {
      const oneHot = tf.oneHot(tokens.reshape([b * t]).toInt(), cfg.vocabSize).toFloat();
      let x = tf.matMul(oneHot, this.#p("embed.weight")) as tf.Tensor2D; // [B*T, d]
      const rope = this.#rope(t);
      const bias = this.#bias();
      const heads = (m: tf.Tensor2D) =>
        m.reshape([b, t, h, hd]).transpose([0, 2, 1, 3]) as tf.Tensor4D;
      for (let i = 0; i < cfg.numLayers; i++) {
        const p = `layers.${i}.`;
        const a = this.#rmsNorm(x, p + "attn_norm.weight");
        const q0 = heads(tf.matMul(a, this.#p(p + "attn.wq")));
        const k0 = heads(tf.matMul(a, this.#p(p + "attn.wk")));
        const v = heads(tf.matMul(a, this.#p(p + "attn.wv")));
        let q = q0, k = k0;
        if (rope) {
          const o = { attentionScale: rope.attentionScale };
          q = applyRotary(q, rope.invFreq, o);
          k = applyRotary(k, rope.invFreq, o);
        }
        opts.inspect?.(i, { q: q0, k: k0, qRotated: q, kRotated: k });
        const att = attention(q, k, v, { bias, scale: 1 / Math.sqrt(hd) });
        const merged = att.transpose([0, 2, 1, 3]).reshape([b * t, h * hd]) as tf.Tensor2D;
        x = tf.add(x, tf.matMul(merged, this.#p(p + "attn.wo")));
        const m = this.#rmsNorm(x, p + "mlp_norm.weight");
        const gate = tf.matMul(m, this.#p(p + "mlp.w_gate"));
        const up = tf.matMul(m, this.#p(p + "mlp.w_up"));
        const act = tf.mul(tf.mul(gate, tf.sigmoid(gate)), up); // SiLU(gate) * up
        x = tf.add(x, tf.matMul(act, this.#p(p + "mlp.w_down")));
      }
      const y = this.#rmsNorm(x, "final_norm.weight");
      // Explicit transpose keeps the matmul on wasm's fast path (no transpose flags).
      const head = cfg.tiedEmbedding
        ? tf.transpose(this.#p("embed.weight"))
        : this.#p("lm_head.weight");
      return tf.matMul(y, head).reshape([b, t, cfg.vocabSize]) as tf.Tensor3D;
    });
  }

  /**
   * Mean next-token cross-entropy (nats) of `tokens` [B, T+1]: inputs are the first T columns,
   * targets the last T. `weights` [B, T] (optional) weights each target.
   */
  loss(tokens: tf.Tensor2D, weights?: tf.Tensor2D, opts: ForwardOptions = {}): tf.Scalar {
    return tf.tidy(() => {
      const [b, t1] = tokens.shape;
      const t = t1 - 1;
      const inputs = tokens.slice([0, 0], [b, t]);
      const targets = tokens.slice([0, 1], [b, t]).reshape([b * t]);
      const logits = this.forward(inputs, opts).reshape([b * t, this.config.vocabSize]);
      const logp = tf.logSoftmax(logits);
      const nll = tf.neg(
        tf.sum(tf.mul(logp, tf.oneHot(targets.toInt(), this.config.vocabSize)), -1),
      );
      if (!weights) return tf.mean(nll);
      const w = weights.reshape([b * t]);
      return tf.div(tf.sum(tf.mul(nll, w)), tf.sum(w));
    });
  }
}

let counter = 0;
function uid(): number {
  return counter++;
}
