import assert from "node:assert/strict";
import * as tf from "@tensorflow/tfjs";
import { initBackend } from "../src/backend.ts";
import { loadCorpus } from "../src/data/corpus.ts";
import { modelConfig } from "../src/model/config.ts";
import { Decoder } from "../src/model/decoder.ts";
import { saveCheckpoint } from "../src/model/checkpoint.ts";
import { getPreset } from "../src/model/presets.ts";
import { alibiSlopes } from "../src/positions/alibi.ts";
import { bucketLayout } from "../src/positions/t5.ts";
import {
  convert,
  RETROFIT_IDS,
  RETROFITS,
  T5_TABLE,
  t5InitialTable,
} from "../src/retrofit/registry.ts";
import { evalSteps, runRetrofit, stepsToThreshold } from "../src/retrofit/run.ts";
import { evaluationPlan, latencyRatios, retrievalCells } from "../src/eval/long_context.ts";
import { METRIC_COLUMNS, METRICS, parseMetricsCsv } from "../src/eval/results.ts";

await initBackend({ backend: "wasm" });
const tiny = getPreset("tiny");
const corpus = await loadCorpus();

function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let m = 0;
  for (let i = 0; i < a.length; i++) {
    const d = Math.abs(a[i] - b[i]);
    if (Number.isNaN(d)) return Infinity; // NaN fails
    m = Math.max(m, d);
  }
  return m;
}

function logits(model: Decoder, len: number, seed: number): Float32Array {
  const data = Int32Array.from({ length: len }, (_, i) => (i * 37 + seed * 11) % 256);
  const out = tf.tidy(() => model.forward(tf.tensor2d(data, [1, len], "int32")));
  const v = out.dataSync() as Float32Array;
  out.dispose();
  return v;
}

Deno.test("registry: six options, new-parameter counts, what is added", () => {
  assert.deepEqual([...RETROFIT_IDS], ["rope", "pi", "ntk", "yarn", "alibi", "t5"]);
  const cfg = modelConfig("tiny");
  const w = Decoder.create(cfg, 3);
  const weights = w.weights();
  w.dispose();
  for (const id of RETROFIT_IDS) {
    const c = convert(id, cfg, weights, { targetLength: tiny.targetLength });
    assert.equal(RETROFITS[id].id, id);
    if (id === "t5") {
      assert.equal(c.newParams, 32 * cfg.numHeads);
      assert.deepEqual(c.addedTensors, [T5_TABLE]);
      assert.deepEqual(c.weights.get(T5_TABLE)!.shape, [32, cfg.numHeads]);
    } else {
      assert.equal(c.newParams, 0, id);
      assert.deepEqual(c.addedTensors, []);
    }
    assert.equal(c.weights.get("embed.weight"), weights.get("embed.weight"), "weights are shared");
  }
  assert.deepEqual(convert("pi", cfg, weights, { targetLength: 512 }).config.positional, {
    type: "rope",
    scaling: { type: "linear", factor: 8 },
  });
  assert.equal(
    (convert("t5", cfg, weights, { targetLength: 512, numBuckets: 16 })).newParams,
    16 * cfg.numHeads,
  );
  assert.throws(
    () => convert("xpos", cfg, weights, { targetLength: 512 }),
    /option must be one of/,
  );
  assert.throws(() => convert("pi", cfg, weights, { targetLength: 32 }), /targetLength must be/);
});

Deno.test("step 0: rope, and pi / ntk / yarn at factor 1, are the base model exactly", () => {
  const cfg = modelConfig("tiny");
  const base = Decoder.create(cfg, 5);
  const w = base.weights();
  const len = 20 + Math.floor(Math.random() * 90); // beyond L0 too
  const ref = logits(base, len, 1);
  const cases: [string, number | undefined][] = [["rope", undefined], ["pi", 1], ["ntk", 1], [
    "yarn",
    1,
  ]];
  for (const [id, factor] of cases) {
    const c = convert(id, cfg, w, { targetLength: 512, factor });
    const m = Decoder.fromWeights(c.config, c.weights);
    assert.equal(maxAbsDiff(logits(m, len, 1), ref), 0, `${id} factor ${factor}`);
    m.dispose();
  }
  // pi at factor 8 changes the model; alibi and t5 remove rotary, so they change it too.
  for (const id of ["pi", "alibi", "t5"]) {
    const c = convert(id, cfg, w, { targetLength: 512 });
    const m = Decoder.fromWeights(c.config, c.weights);
    assert.ok(maxAbsDiff(logits(m, len, 1), ref) > 1e-4, id);
    m.dispose();
  }
  base.dispose();
});

Deno.test("t5 start: ALiBi-shaped (exact buckets are -slope * distance) or zero", () => {
  const heads = 1 + Math.floor(Math.random() * 6);
  const nb = 32, maxDistance = 512;
  const t = t5InitialTable(heads, nb, maxDistance, "alibi");
  const slopes = alibiSlopes(heads);
  const { maxExact } = bucketLayout({ bidirectional: false, numBuckets: nb, maxDistance });
  for (let d = 0; d < maxExact; d++) {
    for (let h = 0; h < heads; h++) {
      assert.ok(Math.abs(t[d * heads + h] + slopes[h] * d) < 1e-5 * (1 + d));
    }
  }
  for (let b = 1; b < nb; b++) {
    assert.ok(t[b * heads] < t[(b - 1) * heads], "decreasing with distance");
  }
  assert.ok(t.every(Number.isFinite));
  assert.ok(t5InitialTable(heads, nb, maxDistance, "zero").every((x) => x === 0));
  assert.throws(() => t5InitialTable(2, 32, 64, "random" as never), /t5Init must be/);
});

Deno.test("eval helpers: grid cells skip lengths too short; latency ratio of a model to itself", () => {
  const plan = evaluationPlan("tiny");
  const cells = retrievalCells("passkey", plan);
  assert.ok(cells.every((c) => c.length >= 128));
  assert.equal(cells.length, 3 * plan.depths.length);
  const m = Decoder.create(modelConfig("tiny"), 1);
  const r = latencyRatios(m, [m], 64, 3);
  assert.ok(r.ratios[0] > 0 && Number.isFinite(r.ratios[0]));
  m.dispose();
  assert.deepEqual(evalSteps({ steps: 10, evalEvery: 4 } as never), [4, 8, 10]);
  const rows = [0, 2, 4].map((step) => ({
    metric: "long_passkey_acc" as const,
    setting: "",
    value: step / 4,
    n: 1,
    step,
  }));
  assert.equal(stepsToThreshold(rows, 0.5), 2);
  assert.equal(stepsToThreshold(rows, 2), null);
});

Deno.test("pipeline: interrupted + resumed equals uninterrupted; CSV schema, commit and command", async () => {
  const dir = await Deno.makeTempDir();
  const base = Decoder.create(modelConfig("tiny"), 9);
  await saveCheckpoint(`${dir}/base.safetensors`, base.config, base.weights());
  base.dispose();
  const common = {
    preset: "tiny",
    base: `${dir}/base.safetensors`,
    options: ["pi", "t5"] as const,
    seeds: [0, 1],
    budget: { steps: 4, batch: 1, lr: 1e-3, warmupSteps: 1, evalEvery: 2, taskFraction: 0.5 },
    threshold: 0.5,
    plan: evaluationPlan("tiny", {
      lengths: [128, 512],
      depths: [0.5],
      perCell: 2,
      nearExamples: 2,
      nearWindows: 2,
      lengthWindows: 1,
      latencyRepeats: 1,
    }),
    commit: "test-commit",
    command: "deno task retrofit --preset tiny",
    corpus,
    log: () => {},
  };
  const a = await runRetrofit({ ...common, workDir: `${dir}/a`, outDir: `${dir}/a_out` });
  assert.equal(a.complete, true);
  const part = await runRetrofit({
    ...common,
    workDir: `${dir}/b`,
    outDir: `${dir}/b_out`,
    maxSteps: 5,
  });
  assert.equal(part.complete, false);
  assert.equal(part.stepsTrained, 5);
  assert.ok(part.metricsPath.endsWith("metrics.partial.csv"));
  const b = await runRetrofit({ ...common, workDir: `${dir}/b`, outDir: `${dir}/b_out` });
  assert.equal(b.complete, true);
  assert.equal(b.stepsTrained, 16 - 5, "only the missing steps are trained");
  const again = await runRetrofit({ ...common, workDir: `${dir}/b`, outDir: `${dir}/b_out` });
  assert.equal(again.stepsTrained, 0, "finished work is skipped");
  const strip = (rows: typeof a.rows) =>
    rows.filter((r) => r.metric !== "latency_ratio").map((r) => JSON.stringify(r)).sort();
  assert.deepEqual(strip(b.rows), strip(a.rows));
  await assert.rejects(() => Deno.stat(`${dir}/b_out/metrics.partial.csv`));
  const text = await Deno.readTextFile(`${dir}/b_out/metrics.csv`);
  assert.equal(text.split("\n")[0], METRIC_COLUMNS.join(","));
  const rows = parseMetricsCsv(text);
  assert.deepEqual(new Set(rows.map((r) => r.metric)), new Set(METRICS));
  assert.ok(rows.every((r) => r.commit === "test-commit" && r.command.startsWith("deno task")));
  assert.deepEqual(new Set(rows.map((r) => r.option)), new Set(["base", "pi", "t5"]));
  assert.deepEqual(
    [...new Set(rows.filter((r) => r.option === "pi").map((r) => r.step))].sort(),
    [0, 2, 4],
  );
  const t5Params = rows.find((r) => r.option === "t5" && r.metric === "new_params")!;
  assert.equal(t5Params.value, 32 * tiny.numHeads);
  const other = Decoder.create(modelConfig("tiny"), 10);
  await saveCheckpoint(`${dir}/other.safetensors`, other.config, other.weights());
  other.dispose();
  await assert.rejects(
    () =>
      runRetrofit({
        ...common,
        base: `${dir}/other.safetensors`,
        workDir: `${dir}/a`,
        outDir: `${dir}/a_out`,
      }),
    /differs from the one/,
  );
  await Deno.remove(dir, { recursive: true });
});
