/**
 * Helper thread of attention_threads.ts: its own tfjs-wasm instance; for each job it copies the
 * inputs from the shared buffer into its heap, runs its query blocks with the same
 * {@link attentionForwardCpu} as the caller, writes its rows back and raises its flag.
 * @module
 */
/// <reference lib="deno.worker" />
import * as tf from "@tensorflow/tfjs";
import { initBackend } from "../backend.ts";
import { attentionForwardCpu, type WasmBackendInternals, WasmHeapMemory } from "./attention_cpu.ts";
import { type AttentionJob, copyItems, jobLayout } from "./attention_threads.ts";

function runJob(job: AttentionJob): void {
  const { dims } = job;
  const lay = jobLayout(dims);
  const mem = new WasmHeapMemory(tf.backend() as unknown as WasmBackendInternals);
  try {
    const base = mem.alloc(lay.total);
    const at = {
      q: base + lay.q,
      k: base + lay.k,
      v: base + lay.v,
      out: base + lay.out,
      lse: base + lay.lse,
    };
    mem.f32(base, lay.lse).set(new Float32Array(job.data, 0, lay.lse)); // q, k, v (out: zeros)
    attentionForwardCpu(mem, dims, at, job.bias, job.items);
    const shared = { f32: (o: number, n: number) => new Float32Array(job.data, o * 4, n), at: lay };
    copyItems(job.items, dims, { f32: (o, n) => mem.f32(o, n), at }, shared);
  } finally {
    mem.free();
  }
}

self.onmessage = (e: MessageEvent<AttentionJob>) => {
  const flag = new Int32Array(e.data.flags);
  try {
    runJob(e.data);
    Atomics.store(flag, e.data.index, 1);
  } catch (err) {
    Atomics.store(flag, e.data.index, 2);
    self.postMessage({ type: "error", message: err instanceof Error ? err.message : String(err) });
  }
  Atomics.notify(flag, e.data.index);
};

await initBackend({ backend: "wasm" });
self.postMessage({ type: "ready" });
