import assert from "node:assert/strict";
import * as tf from "@tensorflow/tfjs";
import { initBackend } from "../src/backend.ts";
import { attention } from "../src/kernels/attention.ts";
import { forwardParts } from "../src/kernels/attention_cpu.ts";
import {
  sharedForwards,
  startAttentionThreads,
  stopAttentionThreads,
} from "../src/kernels/attention_threads.ts";
import { alibiSlopes } from "../src/positions/alibi.ts";

await initBackend({ backend: "wasm" });

Deno.test("forwardParts: every query block in exactly one part, causal work balanced", () => {
  const dims = { batch: 2, heads: 3, queryLen: 4096, keyLen: 4096, headDim: 8, scale: 1 };
  const parts = forwardParts(dims, 2);
  const all = parts.flat().map((i) => `${i.bh}:${i.q0}:${i.rows}`).sort();
  assert.equal(all.length, new Set(all).size);
  assert.equal(all.length, 2 * 3 * 8); // blocks of 512
  const cost = parts.map((p) => p.reduce((s, i) => s + i.rows * (i.q0 + i.rows), 0));
  assert.ok(Math.abs(cost[0] - cost[1]) / (cost[0] + cost[1]) < 0.05, `costs ${cost}`);
  assert.throws(() => forwardParts(dims, 0), /parts must be an integer >= 1/);
});

/**
 * Output and gradients (q, k, v and, for T5, the bias table) of one attention call, on this
 * thread alone and then shared with a helper thread: they must be bit-identical, and the forward
 * must actually have been shared.
 */
async function sameOnHelper(
  shape: [number, number, number, number],
  mode: "none" | "alibi" | "t5",
) {
  const heads = shape[1];
  const [q, k, v] = [1, 2, 3].map((s) => tf.randomNormal(shape, 0, 1, "float32", s) as tf.Tensor4D);
  const table = tf.randomNormal([32, heads], 0, 1, "float32", 4) as tf.Tensor2D;
  const bias = (t: tf.Tensor2D) =>
    mode === "alibi"
      ? { kind: "alibi" as const, slopes: alibiSlopes(heads) }
      : mode === "t5"
      ? { kind: "t5" as const, table: t, numBuckets: 32, maxDistance: 128 }
      : { kind: "none" as const };
  const scale = 1 / Math.sqrt(shape[3]);
  const run = () => {
    const y = attention(q, k, v, { bias: bias(table), scale });
    // The table is an input only where it is used (T5): tf.grads refuses an unused one.
    const inputs = mode === "t5" ? [q, k, v, table] : [q, k, v];
    const g = tf.grads((...xs: tf.Tensor[]) =>
      tf.sum(tf.sin(attention(xs[0] as tf.Tensor4D, xs[1] as tf.Tensor4D, xs[2] as tf.Tensor4D, {
        bias: bias((xs[3] ?? table) as tf.Tensor2D),
        scale,
      })))
    )(inputs);
    const out = [y, ...g].map((t) => Array.from(t.dataSync()));
    tf.dispose([y, ...g]);
    return out;
  };
  const alone = run();
  await startAttentionThreads(1, 0);
  try {
    const before = sharedForwards();
    const shared = run();
    assert.ok(sharedForwards() > before, `${mode} ${shape}: the forward was not shared`);
    ["out", "dq", "dk", "dv", "dtable"].forEach((name, i) =>
      assert.deepEqual(shared[i], alone[i], `${mode} ${shape}: ${name}`)
    );
  } finally {
    stopAttentionThreads();
    tf.dispose([q, k, v, table]);
  }
}

Deno.test("attention on a helper thread gives exactly the one-thread output and gradients", async () => {
  // 600 queries: blocks of 256 with a ragged last one; then the course's target length with a
  // batch of 2, for each positional mode.
  await sameOnHelper([1, 2, 600, 16], "alibi");
  for (const mode of ["none", "t5", "alibi"] as const) await sameOnHelper([2, 1, 4096, 8], mode);
  await assert.rejects(startAttentionThreads(0), /count must be an integer in \[1, 15\]/);
});
