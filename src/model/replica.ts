/**
 * The model replica a worker thread holds (eval_worker.ts, grad_worker.ts): the message that sets
 * it up, setting it up, and the message loop both workers share.
 *
 * @example
 * ```ts
 * let model: Decoder | null = null;
 * serveMessages(async (msg: ReplicaInit | { type: "run" }) => {
 *   if (msg.type === "init") {
 *     model = await startReplica(msg);
 *     return;
 *   }
 *   // ... use model
 * });
 * ```
 * @module
 */
/// <reference lib="deno.worker" />
import { type BackendName, initBackend } from "../backend.ts";
import type { ModelConfig } from "./config.ts";
import { Decoder, type Weights } from "./decoder.ts";

/** Request to set up the replica: its backend, config and weights. */
export interface ReplicaInit {
  type: "init";
  config: ModelConfig;
  backend: BackendName;
  weights: Weights;
}

/**
 * Sets up this worker's backend and replica, then tells the coordinator `{ type: "ready" }` (the
 * caller's `await` resumes before the coordinator's next message can be handled).
 */
export async function startReplica(msg: ReplicaInit): Promise<Decoder> {
  await initBackend({ backend: msg.backend });
  const model = Decoder.fromWeights(msg.config, msg.weights);
  self.postMessage({ type: "ready" });
  return model;
}

/** Hands every message to `handle`; a failure is answered `{ type: "error", message }`. */
export function serveMessages<M>(handle: (msg: M) => Promise<void>): void {
  self.onmessage = (e: MessageEvent<M>) => {
    handle(e.data).catch((err) => {
      self.postMessage({
        type: "error",
        message: err instanceof Error ? err.message : String(err),
      });
    });
  };
}
