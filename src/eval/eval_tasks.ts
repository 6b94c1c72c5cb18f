/**
 * The unit of pooled evaluation (eval_pool.ts): one group of bits/byte windows or of retrieval
 * examples, evaluated by the serial path's own functions wherever it runs.
 *
 * @example
 * ```ts
 * import { runTask } from "./eval_tasks.ts";
 * const nll = runTask(model, { kind: "nll", data, rows: 4, seqLen: 256 });
 * ```
 * @module
 */
import type { Decoder } from "../model/decoder.ts";
import { windowNll } from "./bpb.ts";
import { answerArgmax } from "./retrieval.ts";

/** One group to evaluate: bits/byte windows, or retrieval examples. */
export type EvalTask =
  | { kind: "nll"; data: Int32Array; rows: number; seqLen: number }
  | { kind: "argmax"; data: Int32Array; rows: number; len: number; n: number };

/** Evaluates one task with the serial path's function. */
export function runTask(model: Decoder, t: EvalTask): Float32Array | Int32Array {
  return t.kind === "nll"
    ? windowNll(model, t.data, t.rows, t.seqLen)
    : answerArgmax(model, t.data, t.rows, t.len, t.n);
}
