import assert from "node:assert/strict";
import * as tf from "@tensorflow/tfjs";
import { initBackend } from "../src/backend.ts";
import { countParameters, modelConfig, type PositionalConfig } from "../src/model/config.ts";
import { Decoder } from "../src/model/decoder.ts";
import {
  CheckpointError,
  decodeSafetensors,
  encodeSafetensors,
  loadCheckpoint,
  saveCheckpoint,
} from "../src/model/checkpoint.ts";
import { Rng } from "../src/data/rng.ts";

await initBackend({ backend: "wasm" });

const MODES: PositionalConfig[] = [
  { type: "rope", scaling: { type: "default" } },
  { type: "rope", scaling: { type: "linear", factor: 4 } },
  { type: "alibi" },
  { type: "t5", numBuckets: 16, maxDistance: 64 },
];

function randomTokens(rng: Rng, b: number, t: number): tf.Tensor2D {
  return tf.tensor2d(Array.from({ length: b * t }, () => rng.int(256)), [b, t], "int32");
}

Deno.test("forward shapes and causality: a future token leaves earlier logits unchanged", () => {
  const rng = new Rng(Date.now() % 100000);
  for (const positional of MODES) {
    const model = Decoder.create(modelConfig("tiny", positional), rng.int(1000));
    const t = 5 + rng.int(20);
    const a = randomTokens(rng, 2, t);
    const bArr = a.arraySync();
    const cut = 1 + rng.int(t - 1);
    bArr[0][cut] = (bArr[0][cut] + 1) % 256;
    const b = tf.tensor2d(bArr, [2, t], "int32");
    const la = model.forward(a), lb = model.forward(b);
    assert.deepEqual(la.shape, [2, t, 256]);
    const before = (x: tf.Tensor3D) => x.slice([0, 0, 0], [1, cut, 256]).dataSync();
    const da = before(la), db = before(lb);
    for (let i = 0; i < da.length; i++) {
      assert.ok(Math.abs(da[i] - db[i]) <= 1e-5 * (1 + Math.abs(da[i])), `${positional.type} ${i}`);
    }
    const after = (x: tf.Tensor3D) => x.slice([0, cut, 0], [1, 1, 256]).dataSync();
    assert.ok(after(la).some((v, i) => v !== after(lb)[i]), "the changed token itself matters");
    tf.dispose([a, b, la, lb]);
    model.dispose();
  }
});

Deno.test("gradient of the loss matches central finite differences on a few parameters", () => {
  const rng = new Rng(Date.now() % 100000);
  for (const positional of [MODES[0], MODES[3]]) {
    const cfg = modelConfig("tiny", positional, { tiedEmbedding: positional.type === "rope" });
    const model = Decoder.create(cfg, rng.int(1000));
    // Bigger weights than the init give gradients well above float32 noise.
    for (const v of model.params.values()) {
      if (!v.name.includes("norm")) {
        v.assign(tf.add(tf.mul(v, 10), tf.randomNormal(v.shape, 0, 0.05, "float32", rng.int(99))));
      }
    }
    const tokens = randomTokens(rng, 2, 9 + rng.int(8));
    const vars = [...model.params.values()];
    const { grads } = tf.variableGrads(() => model.loss(tokens), vars);
    let checked = 0;
    for (const [name, v] of model.params) {
      const g = grads[v.name].dataSync();
      // Largest-gradient coordinate of this parameter.
      let idx = 0;
      for (let i = 1; i < g.length; i++) if (Math.abs(g[i]) > Math.abs(g[idx])) idx = i;
      if (Math.abs(g[idx]) < 1e-3) continue;
      const base = v.dataSync().slice();
      const eps = 1e-2;
      const at = (delta: number) => {
        const w = base.slice();
        w[idx] += delta;
        v.assign(tf.tensor(w, v.shape));
        return model.loss(tokens).dataSync()[0];
      };
      const fd = (at(eps) - at(-eps)) / (2 * eps);
      v.assign(tf.tensor(base, v.shape));
      assert.ok(!Number.isNaN(fd) && !Number.isNaN(g[idx]), name);
      assert.ok(
        Math.abs(fd - g[idx]) <= 0.03 * Math.abs(g[idx]) + 2e-3,
        `${positional.type} ${name}[${idx}]: autodiff ${g[idx]} vs finite difference ${fd}`,
      );
      checked++;
    }
    assert.ok(checked >= 8, `checked ${checked} parameters`);
    tf.dispose(Object.values(grads));
    model.dispose();
  }
});

Deno.test("checkpoint round trip is exact, metadata holds the config", async () => {
  const dir = await Deno.makeTempDir();
  for (const positional of MODES) {
    const cfg = modelConfig("tiny", positional);
    const model = Decoder.create(cfg, 3);
    const path = `${dir}/m.safetensors`;
    await saveCheckpoint(path, cfg, model.weights(), { metadata: { step: "7" } });
    const loaded = await loadCheckpoint(path, { expected: cfg });
    assert.deepEqual(loaded.config, cfg);
    assert.equal(loaded.metadata.step, "7");
    const again = Decoder.fromWeights(loaded.config, loaded.weights);
    const x = tf.tensor2d([[1, 2, 3, 200]], [1, 4], "int32");
    assert.deepEqual(again.forward(x).dataSync(), model.forward(x).dataSync());
    assert.equal(loaded.weights.size, model.params.size);
    model.dispose();
    again.dispose();
  }
  const n = countParameters(modelConfig("course"));
  assert.ok(n * 4 < 20e6, `course model ${n} params fits 20 MB`);
  await Deno.remove(dir, { recursive: true });
});

Deno.test("safetensors layout: 8-byte LE header length, JSON header, LE float32", () => {
  const bytes = encodeSafetensors(
    new Map([["a", { shape: [2], data: Float32Array.from([1.5, -2]) }]]),
    { k: "v" },
  );
  const n = Number(new DataView(bytes.buffer).getBigUint64(0, true));
  const header = JSON.parse(new TextDecoder().decode(bytes.subarray(8, 8 + n)));
  assert.deepEqual(header.a, { dtype: "F32", shape: [2], data_offsets: [0, 8] });
  assert.equal(header.__metadata__.k, "v");
  assert.equal(new DataView(bytes.buffer).getFloat32(8 + n + 4, true), -2);
  assert.equal((8 + n) % 8, 0);
});

Deno.test("corrupt, truncated, mismatched and unknown-mode checkpoints give clear errors", async () => {
  const dir = await Deno.makeTempDir();
  const cfg = modelConfig("tiny");
  const model = Decoder.create(cfg, 1);
  const path = `${dir}/m.safetensors`;
  await saveCheckpoint(path, cfg, model.weights());
  const good = await Deno.readFile(path);
  await Deno.writeFile(`${dir}/trunc.safetensors`, good.subarray(0, good.length - 10));
  await assert.rejects(loadCheckpoint(`${dir}/trunc.safetensors`), CheckpointError);
  await assert.rejects(loadCheckpoint(`${dir}/trunc.safetensors`), /truncated/);
  await Deno.writeFile(`${dir}/short.safetensors`, good.subarray(0, 5));
  await assert.rejects(loadCheckpoint(`${dir}/short.safetensors`), /truncated/);
  const bad = good.slice();
  bad[8] = 0xff; // break the JSON
  bad[9] = 0x22;
  await Deno.writeFile(`${dir}/bad.safetensors`, bad);
  await assert.rejects(loadCheckpoint(`${dir}/bad.safetensors`), /corrupt/);
  await assert.rejects(
    loadCheckpoint(path, { expected: modelConfig("tiny", undefined, { dModel: 48 }) }),
    /config does not match: dModel: 32 in file vs 48 expected/,
  );
  await assert.rejects(
    loadCheckpoint(path, { expected: modelConfig("tiny", { type: "alibi" }) }),
    /positional/,
  );
  // allowed when retrofitting
  await loadCheckpoint(path, {
    expected: modelConfig("tiny", { type: "alibi" }),
    allowPositionalChange: true,
  });
  // unknown positional mode in the header
  const { tensors, metadata } = decodeSafetensors(good);
  const c = JSON.parse(metadata.config);
  c.positional = { type: "sinusoid" };
  await Deno.writeFile(
    `${dir}/mode.safetensors`,
    encodeSafetensors(tensors, { ...metadata, config: JSON.stringify(c) }),
  );
  await assert.rejects(
    loadCheckpoint(`${dir}/mode.safetensors`),
    /positional.type must be one of rope, alibi, t5; got "sinusoid"/,
  );
  assert.throws(
    () => modelConfig("tiny", { type: "xpos" } as unknown as PositionalConfig),
    /positional.type/,
  );
  // weights that do not fit the config
  const w = model.weights();
  w.delete("final_norm.weight");
  assert.throws(() => Decoder.fromWeights(cfg, w), /lack parameter final_norm.weight/);
  assert.throws(
    () => Decoder.fromWeights(modelConfig("tiny", undefined, { mlpHidden: 80 }), model.weights()),
    /shape/,
  );
  model.dispose();
  await Deno.remove(dir, { recursive: true });
});
