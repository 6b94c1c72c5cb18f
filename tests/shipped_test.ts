/**
 * Shipped fine-tuned weights (assets/checkpoints/<preset>/retrofits/<option>.safetensors) load,
 * carry the complete config (positional parameters and provenance) and rebuild a working model.
 */
import assert from "node:assert/strict";
import * as tf from "@tensorflow/tfjs";
import { initBackend } from "../src/backend.ts";
import { loadCheckpoint } from "../src/model/checkpoint.ts";
import { Decoder } from "../src/model/decoder.ts";
import { T5_TABLE } from "../src/retrofit/registry.ts";

const ROOT = new URL("..", import.meta.url).pathname;

function shipped(): string[] {
  const out: string[] = [];
  for (const preset of Deno.readDirSync(`${ROOT}assets/checkpoints`)) {
    const dir = `${ROOT}assets/checkpoints/${preset.name}/retrofits`;
    try {
      for (const f of Deno.readDirSync(dir)) {
        if (f.name.endsWith(".safetensors")) out.push(`${dir}/${f.name}`);
      }
    } catch (e) {
      if (!(e instanceof Deno.errors.NotFound)) throw e;
    }
  }
  return out.sort();
}

Deno.test("shipped retrofit weights load with their full config and run", async () => {
  await initBackend({ backend: "wasm" });
  const files = shipped();
  assert.ok(files.length > 0, "at least the tiny preset's retrofits ship");
  for (const path of files) {
    const ck = await loadCheckpoint(path);
    const option = path.split("/").pop()!.replace(".safetensors", "");
    assert.equal(ck.metadata.option, option, path);
    for (const k of ["seed", "step", "base_sha256", "command", "commit"]) {
      assert.ok(ck.metadata[k], `${path}: metadata.${k}`);
    }
    const pos = ck.config.positional;
    if (pos.type === "rope" && pos.scaling.type === "yarn") {
      assert.ok(pos.scaling.betaFast && pos.scaling.betaSlow, `${path}: YaRN betas written out`);
    }
    if (pos.type === "t5") assert.ok(ck.weights.has(T5_TABLE), `${path}: the T5 table ships`);
    const model = Decoder.fromWeights(ck.config, ck.weights);
    const logits = tf.tidy(() =>
      model.forward(
        tf.tensor2d(Int32Array.from({ length: 16 }, (_, i) => 97 + i), [1, 16], "int32"),
      )
    );
    const v = await logits.data();
    logits.dispose();
    model.dispose();
    assert.ok(v.every(Number.isFinite), `${path}: finite logits`);
  }
});
