/**
 * Evaluation spread over threads: bits/byte windows and retrieval examples are evaluated in the
 * same groups as the serial functions (bitsPerByte, scoreRetrieval), group i by thread
 * i mod threads (thread 0 is this one, the others workers with their own wasm instance and a copy
 * of the model's weights). The groups are computed by the same functions and put back in order,
 * so the results are identical to the serial ones, only faster.
 *
 * @example
 * ```ts
 * import { EvalPool } from "./eval_pool.ts";
 * const pool = await EvalPool.start(model, 2);
 * const r = await pool.bitsPerByte(corpus.heldOut, { seqLen: 2048, windows: 64 });
 * const scores = await pool.scoreRetrieval(examples, 2);
 * await pool.close();
 * ```
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import type { BackendName } from "../backend.ts";
import type { Document } from "../data/corpus.ts";
import type { RetrievalExample } from "../data/passkey.ts";
import type { Decoder } from "../model/decoder.ts";
import { bpbFromNll, bpbGroups, type BpbOptions, type BpbResult } from "./bpb.ts";
import { retrievalGroups, type RetrievalScore, scoresFromArgmax } from "./retrieval.ts";
import { type EvalTask, runTask } from "./eval_tasks.ts";

/** Most threads a pool may use. */
export const MAX_EVAL_THREADS = 16;

type Reply = { type: "ready" } | { type: "done"; results: Array<Float32Array | Int32Array> } | {
  type: "error";
  message: string;
};

function request(w: Worker, msg: unknown): Promise<Reply> {
  return new Promise((resolve, reject) => {
    w.onmessage = (e: MessageEvent<Reply>) =>
      e.data.type === "error"
        ? reject(new Error(`evaluation worker: ${e.data.message}`))
        : resolve(e.data);
    w.onerror = (e) => {
      e.preventDefault();
      reject(new Error(`evaluation worker failed: ${e.message}`));
    };
    w.postMessage(msg);
  });
}

/** A model evaluated on `threads` threads (this one plus threads - 1 workers). */
export class EvalPool {
  #model: Decoder;
  #workers: Worker[];

  private constructor(model: Decoder, workers: Worker[]) {
    this.#model = model;
    this.#workers = workers;
  }

  /** Threads in use (this one included). */
  get threads(): number {
    return this.#workers.length + 1;
  }

  /** Starts `threads - 1` workers holding copies of `model`'s current weights (wasm or cpu). */
  static async start(model: Decoder, threads: number): Promise<EvalPool> {
    if (!Number.isInteger(threads) || threads < 1 || threads > MAX_EVAL_THREADS) {
      throw new RangeError(
        `threads must be an integer in [1, ${MAX_EVAL_THREADS}]; got ${threads}`,
      );
    }
    const backend = tf.getBackend() as BackendName;
    if (threads > 1 && backend === "webgpu") {
      throw new RangeError(`evaluation threads need the wasm or cpu backend; got "${backend}"`);
    }
    const url = new URL("./eval_worker.ts", import.meta.url).href;
    const workers = Array.from({ length: threads - 1 }, () => new Worker(url, { type: "module" }));
    const init = { type: "init", config: model.config, backend, weights: model.weights() };
    try {
      await Promise.all(workers.map((w) => request(w, init)));
    } catch (e) {
      workers.forEach((w) => w.terminate());
      throw e;
    }
    return new EvalPool(model, workers);
  }

  /** Runs `tasks`, task i on thread i mod threads; results in task order. */
  async run(tasks: EvalTask[]): Promise<Array<Float32Array | Int32Array>> {
    const n = this.threads;
    const share = (t: number) => tasks.filter((_, i) => i % n === t);
    const remote = this.#workers.map((w, j) => request(w, { type: "run", tasks: share(j + 1) }));
    const local = share(0).map((t) => runTask(this.#model, t));
    const replies = await Promise.all(remote);
    const parts = [
      local,
      ...replies.map((r) => (r as { results: Array<Float32Array | Int32Array> }).results),
    ];
    return tasks.map((_, i) => parts[i % n][Math.floor(i / n)]);
  }

  /** Same result as bpb.ts's bitsPerByte(model, docs, o), evaluated on the pool. */
  async bitsPerByte(docs: readonly Document[], o: BpbOptions): Promise<BpbResult> {
    const tasks = bpbGroups(docs, o).map((g): EvalTask => ({
      kind: "nll",
      ...g,
      seqLen: o.seqLen,
    }));
    return bpbFromNll(await this.run(tasks) as Float32Array[], o.seqLen);
  }

  /** Same result as retrieval.ts's scoreRetrieval(model, examples, batch), on the pool. */
  async scoreRetrieval(
    examples: readonly RetrievalExample[],
    batch = 2,
  ): Promise<RetrievalScore[]> {
    const tasks = retrievalGroups(examples, batch).map((g): EvalTask => ({ kind: "argmax", ...g }));
    return scoresFromArgmax(examples, await this.run(tasks) as Int32Array[]);
  }

  /** Stops the workers (the model stays the caller's). */
  close(): Promise<void> {
    this.#workers.forEach((w) => w.terminate());
    this.#workers = [];
    return Promise.resolve();
  }
}
