/**
 * Gradients of one training batch. {@link LocalGradients} computes the whole batch in this thread
 * (the trainer's original path, bit for bit); `ParallelGradients` (data_parallel.ts) splits the
 * rows into shards computed side by side by worker threads and sums them in a fixed order.
 *
 * A shard's loss is its share of the whole batch's weighted mean: sum(w * nll) / W, with W the
 * weight of the whole batch, so that the shards' losses and gradients add up to the batch's.
 *
 * @example
 * ```ts
 * import { LocalGradients } from "./gradients.ts";
 * const engine = new LocalGradients(model);
 * const { grads, loss } = await engine.compute({ tokens, weights }, { batch: 4, seqLen: 256 });
 * ```
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import type { Decoder } from "../model/decoder.ts";

/** Gradients of one batch, keyed by parameter name (the caller disposes them), and its loss. */
export interface BatchGradients {
  grads: Map<string, tf.Tensor>;
  loss: number;
}

/** One batch: `tokens` [batch, seqLen + 1] and `weights` [batch, seqLen], row-major. */
export interface BatchRows {
  tokens: Int32Array;
  weights: Float32Array;
}

/** The shape of a {@link BatchRows}: rows, and tokens predicted per row. */
export interface BatchShape {
  batch: number;
  seqLen: number;
}

/** Computes the gradients of the model's weighted loss on one batch. */
export interface GradientEngine {
  /** Gradient shards each batch is split into (1: the whole batch at once). */
  readonly shards: number;
  /** The gradients on batch `rows` of `shape`. Reads the model's current parameters. */
  compute(rows: BatchRows, shape: BatchShape): Promise<BatchGradients>;
  /** Releases workers (the model stays the caller's). */
  close(): Promise<void>;
}

/** The whole batch in this thread: exactly the trainer's original step. */
export class LocalGradients implements GradientEngine {
  readonly shards = 1;
  #model: Decoder;
  #vars: tf.Variable[];
  #byVarName: Map<string, string>;

  constructor(model: Decoder) {
    this.#model = model;
    const names = [...model.params.keys()];
    this.#vars = names.map((n) => model.params.get(n)!);
    this.#byVarName = new Map(names.map((n) => [model.params.get(n)!.name, n]));
  }

  async compute(
    { tokens, weights }: BatchRows,
    { batch, seqLen }: BatchShape,
  ): Promise<BatchGradients> {
    const tok = tf.tensor2d(tokens, [batch, seqLen + 1], "int32");
    const w = tf.tensor2d(weights, [batch, seqLen]);
    const { value, grads } = tf.variableGrads(() => this.#model.loss(tok, w), this.#vars);
    const named = new Map<string, tf.Tensor>();
    for (const [vn, g] of Object.entries(grads)) named.set(this.#byVarName.get(vn)!, g);
    // Asynchronous read: WebGPU under Deno has no synchronous readback.
    const loss = (await value.data())[0];
    tf.dispose([tok, w, value]);
    return { grads: named, loss };
  }

  close(): Promise<void> {
    return Promise.resolve();
  }
}

/** One shard's gradients, in the model's parameter order, as plain arrays (transferable). */
export interface ShardGradients {
  grads: Float32Array[];
  /** The shard's share of the batch loss: sum(w * nll) / W of the whole batch. */
  loss: number;
}

/**
 * Gradients of the shard's share of the batch loss (see the module note): `rows` rows of
 * `tokens`/`weights`, `totalWeight` the weight of the whole batch. Used identically by the
 * coordinating thread and by every worker, so that each shard is computed the same way anywhere.
 */
export function shardGradients(
  model: Decoder,
  tokens: Int32Array,
  weights: Float32Array,
  rows: number,
  seqLen: number,
  totalWeight: number,
): ShardGradients {
  if (!(totalWeight > 0)) throw new RangeError(`totalWeight must be > 0; got ${totalWeight}`);
  let shardWeight = 0;
  for (let i = 0; i < weights.length; i++) shardWeight += weights[i];
  const vars = [...model.params.values()];
  const tok = tf.tensor2d(tokens, [rows, seqLen + 1], "int32");
  const w = tf.tensor2d(weights, [rows, seqLen]);
  const { value, grads } = tf.variableGrads(
    () => tf.mul(model.loss(tok, w), shardWeight / totalWeight) as tf.Scalar,
    vars,
  );
  // Copies: a wasm tensor's data may be a view of the heap, which must never be transferred.
  const out = vars.map((v) => new Float32Array(grads[v.name].dataSync()));
  const loss = value.dataSync()[0];
  tf.dispose([tok, w, value, ...Object.values(grads)]);
  return { grads: out, loss };
}

/** Row ranges of `batch` rows split into `shards` contiguous, nearly equal shards. */
export function shardRows(batch: number, shards: number): Array<[number, number]> {
  if (!Number.isInteger(shards) || shards < 1 || shards > batch) {
    throw new RangeError(`shards must be an integer in [1, ${batch}] (the batch); got ${shards}`);
  }
  return Array.from({ length: shards }, (_, s) => [
    Math.floor((s * batch) / shards),
    Math.floor(((s + 1) * batch) / shards),
  ]);
}

/** Sums shard gradients in shard order (float32 additions: a fixed, deterministic order). */
export function sumShards(shards: readonly ShardGradients[]): ShardGradients {
  const grads = shards[0].grads.map((g) => g.slice());
  let loss = shards[0].loss;
  for (let s = 1; s < shards.length; s++) {
    loss += shards[s].loss;
    shards[s].grads.forEach((g, i) => {
      const acc = grads[i];
      for (let j = 0; j < acc.length; j++) acc[j] += g[j];
    });
  }
  return { grads, loss };
}
