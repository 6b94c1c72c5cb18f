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
import type { Decoder } from "../model/decoder.ts";
import { type ReplicaInit, serveMessages, startReplica } from "../model/replica.ts";
import { type EvalTask, runTask } from "./eval_tasks.ts";

let model: Decoder | null = null;

serveMessages(async (msg: ReplicaInit | { type: "run"; tasks: EvalTask[] }) => {
  if (msg.type === "init") {
    model = await startReplica(msg);
    return;
  }
  if (!model) throw new Error("run request before init");
  const results = msg.tasks.map((t) => runTask(model!, t));
  self.postMessage({ type: "done", results }, results.map((r) => r.buffer as ArrayBuffer));
});
