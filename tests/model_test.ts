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
import type { Rng } from "../src/data/rng.ts";
import { testRng } from "./seeded.ts";
import { relativeError } from "./relative_error.ts";
import { ropeInvFreq, ropeRotate, type RopeScaling } from "../src/positions/rope.ts";
import { alibiSlopes } from "../src/positions/alibi.ts";
import { T5_TABLE } from "../src/retrofit/registry.ts";

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

Deno.test("forward shapes and causality: a future token leaves earlier logits unchanged", (ctx) => {
  const rng = testRng(ctx.name);
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

Deno.test("gradient of the loss matches central finite differences on a few parameters", (ctx) => {
  const rng = testRng(ctx.name);
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

/** Rows [T, hd] of head `h` of batch 0 of a [B, H, T, hd] tensor, as float64 arrays. */
function headRows(x: tf.Tensor4D, h: number): Float64Array[] {
  const [, , t, hd] = x.shape;
  const data = x.dataSync();
  return Array.from(
    { length: t },
    (_, i) => Float64Array.from(data.subarray((h * t + i) * hd, (h * t + i + 1) * hd)),
  );
}

// Every RoPE scaling through the whole decoder: the keys and queries the attention sees must be
// the unrotated ones turned by ropeInvFreq's frequencies at their own positions and multiplied by
// its attention scale (YaRN's temperature: the attention-scale path). Dynamic NTK depends on the
// sequence length: lengths alternate so that a cache returning another length's frequencies fails.
Deno.test("every RoPE scaling in the model: rotated q and k are ropeInvFreq's rotation at each length", (ctx) => {
  const rng = testRng(ctx.name);
  const L0 = modelConfig("tiny").contextLength;
  const scalings: RopeScaling[] = [
    { type: "default" },
    { type: "linear", factor: 8 },
    { type: "ntk", factor: 8 },
    { type: "dynamic", factor: 8, originalMaxPositions: L0 },
    { type: "yarn", factor: 8, originalMaxPositions: L0 },
  ];
  for (const scaling of scalings) {
    const cfg = modelConfig("tiny", { type: "rope", scaling });
    const model = Decoder.create(cfg, rng.int(1000));
    for (const t of [3 * L0, L0 / 2, 3 * L0, 2 * L0 + 1]) {
      const { invFreq, attentionScale } = ropeInvFreq(cfg.headDim, cfg.ropeBase, scaling, t);
      if (scaling.type === "yarn") assert.ok(attentionScale > 1.2, "yarn has a temperature");
      const tokens = randomTokens(rng, 1, t);
      const checked: number[] = [];
      model.forward(tokens, {
        inspect: (layer, { q, k, qRotated, kRotated }) => {
          for (const [raw, rotated] of [[q, qRotated], [k, kRotated]] as const) {
            const h = rng.int(cfg.numHeads);
            const before = headRows(raw, h), after = headRows(rotated, h);
            for (const pos of [0, 1, t - 1, rng.int(t)]) {
              const want = ropeRotate(before[pos], invFreq, pos, attentionScale);
              const err = relativeError(after[pos], want);
              assert.ok(err < 1e-4, `${scaling.type} T=${t} layer ${layer} pos ${pos}: ${err}`);
            }
          }
          checked.push(layer);
        },
      }).dispose();
      tokens.dispose();
      assert.deepEqual(checked, [...Array(cfg.numLayers).keys()], "every layer inspected");
    }
    model.dispose();
  }
  // The test can tell lengths apart: dynamic's frequencies at 3 L0 are not those at L0 / 2.
  const dyn = { type: "dynamic", factor: 8, originalMaxPositions: L0 } as const;
  const a = ropeInvFreq(16, 10000, dyn, 3 * L0).invFreq,
    b = ropeInvFreq(16, 10000, dyn, L0 / 2).invFreq;
  assert.ok(relativeError(a, b) > 1e-3);
});

// Both bias modes through the whole decoder: a T5 table whose buckets are all exact (numBuckets
// = 2 x T) and hold -slope x distance is ALiBi, so the two models must give the same logits. A
// table transposed, a sign or a distance direction wrong in either mode breaks the equality; the
// control (a table of another slope set) shows the logits do depend on it.
Deno.test("alibi and t5 in the model: an exact-bucket T5 table of -slope x distance is ALiBi", (ctx) => {
  const rng = testRng(ctx.name);
  const t = 24 + rng.int(40);
  const alibiCfg = modelConfig("tiny", { type: "alibi" });
  const heads = alibiCfg.numHeads;
  const numBuckets = 2 * t;
  const t5Cfg = modelConfig("tiny", { type: "t5", numBuckets, maxDistance: 4 * t });
  const weights = Decoder.create(alibiCfg, rng.int(1000)).weights();
  const tableFor = (slopes: Float32Array) => {
    const data = new Float32Array(numBuckets * heads);
    for (let d = 0; d < numBuckets; d++) {
      for (let h = 0; h < heads; h++) data[d * heads + h] = -slopes[h] * d;
    }
    return new Map([...weights, [T5_TABLE, { shape: [numBuckets, heads], data }]]);
  };
  const tokens = randomTokens(rng, 2, t);
  const logits = (m: Decoder) => {
    const y = m.forward(tokens);
    const v = y.dataSync().slice();
    y.dispose();
    m.dispose();
    return v;
  };
  const alibi = logits(Decoder.fromWeights(alibiCfg, weights));
  const t5 = logits(Decoder.fromWeights(t5Cfg, tableFor(alibiSlopes(heads))));
  assert.ok(relativeError(t5, alibi) < 1e-5, `t5 vs alibi: ${relativeError(t5, alibi)}`);
  const reversed = alibiSlopes(heads).reverse();
  const other = logits(Decoder.fromWeights(t5Cfg, tableFor(reversed)));
  assert.ok(relativeError(other, alibi) > 1e-3, "the table matters");
  tokens.dispose();
});
