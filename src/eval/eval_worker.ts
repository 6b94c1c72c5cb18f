/**
 * Worker thread of the evaluation pool (eval_pool.ts): its own tfjs backend (its own wasm
 * instance) and a replica of the model; evaluates the groups it is sent with the same functions
 * as the serial path ({@link windowNll}, {@link answerArgmax}), so results are identical.
 *
 * In: `{ type: "init", config, backend, weights }`, then `{ type: "run", tasks }`.
 * Out: `{ type: "ready" }`, `{ type: "done", results }`, `{ type: "error", message }`.
 * @module
 */
/// <reference lib="deno.worker" />
import { type BackendName, initBackend } from "../backend.ts";
import type { ModelConfig } from "../model/config.ts";
import { Decoder, type Weights } from "../model/decoder.ts";
import { type EvalTask, runTask } from "./eval_tasks.ts";

let model: Decoder | null = null;

async function handle(
  msg:
    | { type: "init"; config: ModelConfig; backend: BackendName; weights: Weights }
    | { type: "run"; tasks: EvalTask[] },
): Promise<void> {
  if (msg.type === "init") {
    await initBackend({ backend: msg.backend });
    model = Decoder.fromWeights(msg.config, msg.weights);
    self.postMessage({ type: "ready" });
    return;
  }
  if (!model) throw new Error("run request before init");
  const results = msg.tasks.map((t) => runTask(model!, t));
  self.postMessage({ type: "done", results }, results.map((r) => r.buffer as ArrayBuffer));
}

self.onmessage = (e) => {
  handle(e.data).catch((err) => {
    self.postMessage({ type: "error", message: err instanceof Error ? err.message : String(err) });
  });
};
