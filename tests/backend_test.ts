import assert from "node:assert/strict";
import * as tf from "@tensorflow/tfjs";
import { initBackend } from "../src/backend.ts";
import { getPreset, PRESETS } from "../src/model/presets.ts";
import { writeFileAtomic } from "../src/util/atomic.ts";

Deno.test("initBackend honours an explicit choice and rejects unknown names", async () => {
  const c = await initBackend({ backend: "cpu" });
  assert.equal(c.backend, "cpu");
  assert.equal(tf.getBackend(), "cpu");
  const w = await initBackend({ backend: "wasm" });
  assert.equal(w.backend, "wasm");
  const y = tf.matMul(tf.tensor2d([[1, 2]]), tf.tensor2d([[3], [4]]));
  assert.deepEqual([...await y.data()], [11]);
  await assert.rejects(() => initBackend({ backend: "tpu" as never }), /backend must be one of/);
});

Deno.test("presets: targets are 8 x L0 and unknown names are refused", () => {
  for (const p of Object.values(PRESETS)) {
    assert.equal(p.targetLength, 8 * p.contextLength, p.name);
    assert.equal(p.dModel, p.numHeads * p.headDim, p.name);
  }
  assert.throws(() => getPreset("huge"), /preset must be one of tiny, course, full; got "huge"/);
});

Deno.test("writeFileAtomic replaces whole files and leaves no temp files", async () => {
  const dir = await Deno.makeTempDir();
  const path = `${dir}/sub/x.txt`;
  await writeFileAtomic(path, "first");
  await writeFileAtomic(path, new TextEncoder().encode("second"));
  assert.equal(await Deno.readTextFile(path), "second");
  const names = [...Deno.readDirSync(`${dir}/sub`)].map((e) => e.name);
  assert.deepEqual(names, ["x.txt"]);
});
