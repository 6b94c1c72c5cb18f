/**
 * Data-parallel gradients over worker threads: each batch's rows are split into contiguous shards
 * ({@link shardRows}); shard 0 is computed in this thread on the model itself, every other shard by
 * a worker holding its own wasm instance and a replica that receives the current parameters with
 * each request. The shards' gradients are summed in shard order ({@link sumShards}), so a run is
 * deterministic, and differs from the one-shard gradient only by float32 rounding.
 *
 * @example
 * ```ts
 * import { ParallelGradients } from "./data_parallel.ts";
 * const engine = await ParallelGradients.start(model, 2, "wasm");
 * const { grads, loss } = await engine.compute({ tokens, weights }, { batch: 16, seqLen: 256 });
 * await engine.close();
 * ```
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import type { BackendName } from "../backend.ts";
import type { Decoder } from "../model/decoder.ts";
import {
  type BatchGradients,
  type BatchRows,
  type BatchShape,
  type GradientEngine,
  type ShardGradients,
  shardGradients,
  shardRows,
  sumShards,
} from "./gradients.ts";
import type { GradMessage, InitMessage } from "./grad_worker.ts";

/** Most gradient shards (threads) a run may use. */
export const MAX_SHARDS = 16;

type Reply = { type: "ready" } | { type: "error"; message: string } | {
  type: "grad";
  id: number;
  grads: Float32Array[];
  loss: number;
};

/** One worker and its single outstanding request. */
class ShardWorker {
  #worker: Worker;
  #pending: { resolve: (r: Reply) => void; reject: (e: Error) => void } | null = null;

  constructor() {
    this.#worker = new Worker(new URL("./grad_worker.ts", import.meta.url).href, {
      type: "module",
    });
    this.#worker.onmessage = (e: MessageEvent<Reply>) => this.#settle(e.data, null);
    this.#worker.onerror = (e: ErrorEvent) => {
      e.preventDefault();
      this.#settle(null, new Error(`gradient worker failed: ${e.message}`));
    };
  }

  /** Set once the worker has failed: it may be dead, so later requests fail at once. */
  #broken: Error | null = null;

  #settle(reply: Reply | null, err: Error | null): void {
    if (err) this.#broken = err;
    const p = this.#pending;
    this.#pending = null;
    if (!p) return;
    if (err) p.reject(err);
    else if (reply!.type === "error") p.reject(new Error(`gradient worker: ${reply!.message}`));
    else p.resolve(reply!);
  }

  request(msg: InitMessage | GradMessage, transfer: Transferable[] = []): Promise<Reply> {
    if (this.#pending) throw new Error("a gradient worker takes one request at a time");
    if (this.#broken) return Promise.reject(this.#broken);
    return new Promise((resolve, reject) => {
      this.#pending = { resolve, reject };
      this.#worker.postMessage(msg, transfer);
    });
  }

  terminate(): void {
    this.#worker.terminate();
    this.#settle(null, new Error("gradient worker terminated"));
  }
}

/** Gradients summed over `shards` row shards, shards 1.. computed by worker threads. */
export class ParallelGradients implements GradientEngine {
  readonly shards: number;
  #model: Decoder;
  #workers: ShardWorker[];
  #nextId = 0;

  private constructor(model: Decoder, workers: ShardWorker[]) {
    this.#model = model;
    this.#workers = workers;
    this.shards = workers.length + 1;
  }

  /** Starts `shards - 1` workers on `backend` (wasm or cpu) with replicas of `model`. */
  static async start(
    model: Decoder,
    shards: number,
    backend: BackendName,
  ): Promise<ParallelGradients> {
    if (!Number.isInteger(shards) || shards < 2 || shards > MAX_SHARDS) {
      throw new RangeError(`shards must be an integer in [2, ${MAX_SHARDS}]; got ${shards}`);
    }
    if (backend === "webgpu") {
      throw new RangeError(`data-parallel workers need the wasm or cpu backend; got "${backend}"`);
    }
    const workers = Array.from({ length: shards - 1 }, () => new ShardWorker());
    try {
      const init: InitMessage = {
        type: "init",
        config: model.config,
        backend,
        weights: model.weights(),
      };
      await Promise.all(workers.map((w) => w.request(init)));
    } catch (e) {
      workers.forEach((w) => w.terminate());
      throw e;
    }
    return new ParallelGradients(model, workers);
  }

  async compute(
    { tokens, weights }: BatchRows,
    { batch, seqLen }: BatchShape,
  ): Promise<BatchGradients> {
    const ranges = shardRows(batch, this.shards);
    let totalWeight = 0;
    for (let i = 0; i < weights.length; i++) totalWeight += weights[i];
    const vars = [...this.#model.params.values()];
    const params = vars.map((v) => new Float32Array(v.dataSync()));
    const slice = ([a, b]: [number, number]) => ({
      tokens: tokens.slice(a * (seqLen + 1), b * (seqLen + 1)),
      weights: weights.slice(a * seqLen, b * seqLen),
      rows: b - a,
    });
    const remote = this.#workers.map((w, i) => {
      const part = slice(ranges[i + 1]);
      const msg: GradMessage = {
        type: "grad",
        id: this.#nextId++,
        params,
        seqLen,
        totalWeight,
        ...part,
      };
      return w.request(msg, [
        part.tokens.buffer as ArrayBuffer,
        part.weights.buffer as ArrayBuffer,
      ]);
    });
    const first = slice(ranges[0]);
    let local: ShardGradients;
    try {
      local = shardGradients(
        this.#model,
        first.tokens,
        first.weights,
        first.rows,
        seqLen,
        totalWeight,
      );
    } catch (e) {
      await Promise.allSettled(remote);
      throw e;
    }
    const replies = await Promise.all(remote);
    const summed = sumShards([local, ...replies.map((r) => r as ShardGradients)]);
    const names = [...this.#model.params.keys()];
    const grads = new Map(
      names.map((n, i) => [n, tf.tensor(summed.grads[i], vars[i].shape, "float32")]),
    );
    return { grads, loss: summed.loss };
  }

  close(): Promise<void> {
    this.#workers.forEach((w) => w.terminate());
    this.#workers = [];
    return Promise.resolve();
  }
}
