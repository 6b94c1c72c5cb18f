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

Deno.test("attention forward on a helper thread gives exactly the one-thread output and gradients", async () => {
  // 600 queries: blocks of 256 with a ragged last one; 2 heads, ALiBi.
  const [q, k, v] = [1, 2, 3].map((s) =>
    tf.randomNormal([1, 2, 600, 16], 0, 1, "float32", s) as tf.Tensor4D
  );
  const o = { bias: { kind: "alibi" as const, slopes: alibiSlopes(2) }, scale: 0.25 };
  const run = () => {
    const y = attention(q, k, v, o);
    const g = tf.grads((a, b, c) =>
      tf.sum(tf.sin(attention(a as tf.Tensor4D, b as tf.Tensor4D, c as tf.Tensor4D, o)))
    )([q, k, v]);
    const out = [y, ...g].map((t) => Array.from(t.dataSync()));
    tf.dispose([y, ...g]);
    return out;
  };
  const alone = run();
  await startAttentionThreads(1, 0);
  try {
    const before = sharedForwards();
    const shared = run();
    assert.ok(sharedForwards() > before, "the forward was not shared with the helper");
    ["out", "dq", "dk", "dv"].forEach((name, i) => assert.deepEqual(shared[i], alone[i], name));
  } finally {
    stopAttentionThreads();
  }
  tf.dispose([q, k, v]);
  await assert.rejects(startAttentionThreads(0), /count must be an integer in \[1, 15\]/);
});
