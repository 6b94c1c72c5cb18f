/**
 * Worker thread of data-parallel training (see data_parallel.ts): holds its own tfjs backend (its
 * own wasm instance) and a replica of the model, takes the coordinator's parameters and one shard
 * of rows per request, and answers with that shard's gradients ({@link shardGradients}).
 *
 * Messages in: `{ type: "init", config, backend, weights }`, then
 * `{ type: "grad", id, params, tokens, weights, rows, seqLen, totalWeight }`.
 * Messages out: `{ type: "ready" }`, `{ type: "grad", id, grads, loss }`, `{ type: "error", message }`.
 * @module
 */
/// <reference lib="deno.worker" />
import * as tf from "@tensorflow/tfjs";
import type { Decoder } from "../model/decoder.ts";
import { type ReplicaInit, serveMessages, startReplica } from "../model/replica.ts";
import { shardGradients } from "./gradients.ts";

/** Request to set up the replica. */
export type InitMessage = ReplicaInit;

/** Request for one shard's gradients at the given parameters (model order). */
export interface GradMessage {
  type: "grad";
  id: number;
  params: Float32Array[];
  tokens: Int32Array;
  weights: Float32Array;
  rows: number;
  seqLen: number;
  totalWeight: number;
}

let model: Decoder | null = null;

serveMessages(async (msg: InitMessage | GradMessage) => {
  if (msg.type === "init") {
    model = await startReplica(msg);
    return;
  }
  if (!model) throw new Error("grad request before init");
  const vars = [...model.params.values()];
  if (msg.params.length !== vars.length) {
    throw new RangeError(`params must hold ${vars.length} arrays; got ${msg.params.length}`);
  }
  vars.forEach((v, i) => {
    const t = tf.tensor(msg.params[i], v.shape, "float32");
    v.assign(t);
    t.dispose();
  });
  const r = shardGradients(model, msg.tokens, msg.weights, msg.rows, msg.seqLen, msg.totalWeight);
  self.postMessage(
    { type: "grad", id: msg.id, grads: r.grads, loss: r.loss },
    r.grads.map((g) => g.buffer as ArrayBuffer),
  );
});
