import assert from "node:assert/strict";
import { initBackend } from "../src/backend.ts";
import { loadCorpus } from "../src/data/corpus.ts";
import * as tf from "@tensorflow/tfjs";
import { modelConfig } from "../src/model/config.ts";
import { Decoder } from "../src/model/decoder.ts";
import { ParallelGradients } from "../src/train/data_parallel.ts";
import { LocalGradients, shardRows } from "../src/train/gradients.ts";
import { mixtureBatch } from "../src/train/mixture.ts";
import { train } from "../src/train/trainer.ts";

await initBackend({ backend: "wasm" });
const corpus = await loadCorpus();
const quiet = () => {};
const base = { preset: "tiny", steps: 4, batch: 4, corpus, log: quiet, checkpointEvery: 2 };

Deno.test("shardRows: contiguous, nearly equal, covering the batch; bad counts refused", () => {
  assert.deepEqual(shardRows(16, 2), [[0, 8], [8, 16]]);
  assert.deepEqual(shardRows(5, 2), [[0, 2], [2, 5]]);
  assert.throws(() => shardRows(1, 2), /shards must be an integer in \[1, 1\]/);
});

/** sqrt(sum (a - b)^2 / sum (a - ref)^2) over every tensor of two weight/gradient sets. */
function relativeL2(
  a: Map<string, { data: Float32Array }>,
  b: Map<string, { data: Float32Array }>,
  ref?: Map<string, { data: Float32Array }>,
): number {
  let d2 = 0, n2 = 0;
  for (const [k, v] of a) {
    const w = b.get(k)!.data, r = ref?.get(k)?.data;
    for (let i = 0; i < w.length; i++) {
      d2 += (v.data[i] - w[i]) ** 2;
      n2 += (v.data[i] - (r ? r[i] : 0)) ** 2;
    }
  }
  return Math.sqrt(d2 / n2);
}

const asData = (g: Map<string, tf.Tensor>) =>
  new Map([...g].map(([k, t]) => [k, { data: t.dataSync() as Float32Array }]));

Deno.test("2-shard gradient equals the whole-batch gradient within float32 rounding", async () => {
  const model = Decoder.create(modelConfig("tiny"), 0);
  const b = mixtureBatch(corpus.train, { batch: 5, seqLen: 64, seed: 0, taskFraction: 0.5 }, 0);
  const whole = await new LocalGradients(model).compute(b, { batch: 5, seqLen: 64 });
  const engine = await ParallelGradients.start(model, 2, "wasm");
  const split = await engine.compute(b, { batch: 5, seqLen: 64 });
  await engine.close();
  // Measured ~2e-7 (float32 rounding); a shard weighted by its own rows instead of the batch's
  // weight, or a lost shard, is off by > 1e-2.
  const err = relativeL2(asData(whole.grads), asData(split.grads));
  assert.ok(err < 1e-5, `relative L2 gradient difference ${err}`);
  assert.ok(Math.abs(whole.loss - split.loss) < 1e-5 * whole.loss);
  tf.dispose([...whole.grads.values(), ...split.grads.values()]);
  model.dispose();
});

Deno.test("1 and 2 workers give the same weights within float32 rounding after 4 steps", async () => {
  const a = await Deno.makeTempDir(), b = await Deno.makeTempDir();
  const init = Decoder.create(modelConfig("tiny"), 0);
  const one = await train({ ...base, outDir: a });
  const two = await train({ ...base, outDir: b, workers: 2 });
  // Relative to the 4 steps' update. Adam divides by sqrt(v), so near-zero gradient entries
  // amplify rounding: measured ~6e-5; a wrongly weighted shard gives > 1e-2.
  const err = relativeL2(one.model.weights(), two.model.weights(), init.weights());
  assert.ok(err < 1e-3, `weight difference / update, relative L2: ${err}`);
  for (let i = 0; i < 4; i++) {
    assert.ok(Math.abs(one.curve[i].loss - two.curve[i].loss) < 1e-4, `loss at step ${i + 1}`);
  }
  for (const m of [init, one.model, two.model]) m.dispose();
  await Deno.remove(a, { recursive: true });
  await Deno.remove(b, { recursive: true });
});

Deno.test("2-worker runs are deterministic and resume bit-identically; worker count is kept", async () => {
  const a = await Deno.makeTempDir(), b = await Deno.makeTempDir();
  const straight = await train({ ...base, outDir: a, workers: 2 });
  (await train({ ...base, outDir: b, workers: 2, stopAfter: 2 })).model.dispose();
  await assert.rejects(train({ ...base, outDir: b, workers: 1 }), /gradShards: 2 vs undefined/);
  const resumed = await train({ ...base, outDir: b, workers: "auto" });
  assert.equal(resumed.resumedFrom, 2);
  for (const [k, v] of straight.model.weights()) {
    assert.deepEqual(resumed.model.weights().get(k)!.data, v.data, k);
  }
  await assert.rejects(train({ ...base, outDir: a, workers: 5, resume: false }), /workers must be/);
  straight.model.dispose();
  resumed.model.dispose();
  await Deno.remove(a, { recursive: true });
  await Deno.remove(b, { recursive: true });
});
