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
import { FINETUNE_DEFAULTS, runRetrofit, taskList } from "../src/retrofit/run.ts";
import { stepsToThreshold } from "../src/retrofit/assemble.ts";
import { RetrofitWorkspace } from "../src/retrofit/workspace.ts";
import { evaluationPlan, latencyRounds, retrievalCells } from "../src/eval/long_context.ts";
import { METRIC_COLUMNS, parseMetricsCsv, readSamples } from "../src/eval/results.ts";
import { loadCheckpoint } from "../src/model/checkpoint.ts";
import { testRng } from "./seeded.ts";

await initBackend({ backend: "wasm" });
const tiny = getPreset("tiny");
const corpus = await loadCorpus();

/** Saves a fresh tiny model (weights seeded by `seed`) as the checkpoint at `path`. */
async function saveTinyBase(path: string, seed: number): Promise<void> {
  const model = Decoder.create(modelConfig("tiny"), seed);
  await saveCheckpoint(path, model.config, model.weights());
  model.dispose();
}

/** A tiny-preset workspace with its results, work and shipped weights under `dir`. */
function tinyWorkspace(dir: string): RetrofitWorkspace {
  return new RetrofitWorkspace("tiny", {
    resultsDir: `${dir}/results`,
    workDir: `${dir}/work`,
    shipDir: `${dir}/ship`,
  });
}

/** A fine-tune budget of 4 steps evaluated at 2 and 4: enough to exercise every phase. */
const SHORT_BUDGET = {
  steps: 4,
  evalAt: [2, 4],
  batch: 1,
  lr: 1e-3,
  warmupSteps: 1,
  taskFraction: 0.5,
  wordingSet: "training" as const,
};

/** An evaluation plan at one length (512) with one or two examples of each kind. */
function smallPlan(extra: { latencyRepeats?: number } = {}) {
  return evaluationPlan("tiny", {
    lengths: [512],
    depths: [0.5],
    perCell: 1,
    nearExamples: 2,
    longExamples: 2,
    probeLongExamples: 1,
    multiKeyExamples: 1,
    nearWindows: 2,
    lengthWindows: 1,
    ...extra,
  });
}

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

Deno.test("step 0: rope, and pi / ntk / yarn at factor 1, are the base model exactly", (ctx) => {
  const rng = testRng(ctx.name);
  const cfg = modelConfig("tiny");
  const base = Decoder.create(cfg, 5);
  const w = base.weights();
  const len = 20 + rng.int(90); // beyond L0 too
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

Deno.test("t5 start: ALiBi-shaped (exact buckets are -slope * distance) or zero", (ctx) => {
  const heads = 1 + testRng(ctx.name).int(6);
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

Deno.test("eval helpers: grid cells skip lengths too short; latency rounds run on a real model", () => {
  const plan = evaluationPlan("tiny");
  const cells = retrievalCells("passkey", plan);
  assert.ok(cells.every((c) => c.length >= 128));
  assert.equal(cells.length, 3 * plan.depths.length);
  const m = Decoder.create(modelConfig("tiny"), 1);
  const r = latencyRounds(m, [m], 64, 4);
  assert.equal(r.ratios[0].length, 4);
  m.dispose();
  assert.throws(() => latencyRounds(m, [m], 64, 0), /repeats must be an integer >= 1/);
});

Deno.test("latency rounds: exact ratios and seconds per token under a fake clock", () => {
  // Stand-in models whose forward advances a fake clock by a fixed cost: the measurement must
  // return exactly cost / base cost per round, and the base's median seconds per token.
  let clock = 0;
  const fake = (ms: number[]) => {
    let call = 0;
    return {
      forward: () => {
        clock += ms[Math.min(call++, ms.length - 1)];
        return { dataSync: () => new Float32Array(0), dispose: () => {} };
      },
    } as unknown as Decoder;
  };
  const realNow = performance.now;
  performance.now = () => clock;
  try {
    // Calls: warm-up, then 3 rounds. The base's rounds take 10, 20, 40 ms (median 20).
    const base = fake([999, 10, 20, 40]);
    const twice = fake([1, 20, 40, 80]);
    const same = fake([5, 10, 20, 40]);
    const r = latencyRounds(base, [twice, same], 50, 3);
    assert.deepEqual(r.ratios, [[2, 2, 2], [1, 1, 1]]);
    assert.equal(r.baseSecondsPerToken, 0.020 / 50);
  } finally {
    performance.now = realNow;
  }
});

Deno.test("steps to threshold: first budget reaching it on the first k long examples; censored is null", () => {
  const row = (step: number, samples: number[]) => ({
    metric: "long_retrieval_acc" as const,
    setting: "",
    value: 0,
    n: samples.length,
    samples,
    step,
    commit: "",
    command: "",
  });
  const rows = [row(0, [0, 0, 1, 1]), row(4, [1, 0, 0, 0]), row(8, [1, 1, 0, 0])];
  assert.equal(stepsToThreshold(rows, 0.6, 2), 8, "only the first 2 examples count");
  assert.equal(stepsToThreshold(rows, 0.5, 4), 0);
  assert.equal(stepsToThreshold(rows, 0.9, 4), null);
});

Deno.test("tasks: evaluations first, then chunks seed-major, latency last", () => {
  assert.deepEqual(taskList(["pi", "t5"], [0, 1]), [
    "base",
    "step0:pi",
    "step0:t5",
    "chunk:pi:0",
    "chunk:t5:0",
    "chunk:pi:1",
    "chunk:t5:1",
    "latency",
  ]);
});

Deno.test("pipeline: split into sittings equals one sitting; records, tables, shipped weights", async () => {
  const dir = await Deno.makeTempDir();
  await saveTinyBase(`${dir}/base.safetensors`, 9);
  const plan = evaluationPlan("tiny", {
    lengths: [128, 512],
    depths: [0.5],
    perCell: 2,
    nearExamples: 3,
    longExamples: 3,
    probeLongExamples: 2,
    multiKeyExamples: 2,
    nearWindows: 2,
    lengthWindows: 1,
    latencyRepeats: 2,
  });
  const common = {
    preset: "tiny",
    base: `${dir}/base.safetensors`,
    options: ["rope", "t5"] as const,
    seeds: [0, 1],
    budget: SHORT_BUDGET,
    threshold: 0.5,
    plan,
    commit: "test-commit",
    command: "deno task retrofit --preset tiny",
    corpus,
    log: () => {},
  };
  const ws = (name: string) => tinyWorkspace(`${dir}/${name}`);
  const a = await runRetrofit({ ...common, ws: ws("a") });
  assert.equal(a.complete, true, a.missing.join(", "));
  const tasks = taskList(common.options, common.seeds);
  const part = await runRetrofit({ ...common, ws: ws("b"), tasks: tasks.slice(0, 4) });
  assert.equal(part.complete, false);
  assert.ok(part.metricsPath.endsWith("metrics.partial.csv"));
  assert.ok(part.missing.includes("t5 seed 0") && part.missing.includes("latency"));
  const b = await runRetrofit({ ...common, ws: ws("b") });
  assert.equal(b.complete, true);
  await assert.rejects(() => Deno.stat(`${dir}/b/results/metrics.partial.csv`));
  const strip = (rows: typeof a.metrics) =>
    rows.filter((r) => r.metric !== "latency_ratio").map((r) => JSON.stringify(r)).sort();
  assert.deepEqual(strip(b.metrics), strip(a.metrics));

  const text = await Deno.readTextFile(`${dir}/b/results/metrics.csv`);
  assert.equal(text.split("\n")[0], METRIC_COLUMNS.join(","));
  const rows = parseMetricsCsv(text);
  assert.ok(rows.every((r) => r.commit === "test-commit" && r.command.startsWith("deno task")));
  for (const m of ["near_retrieval_acc", "long_retrieval_heldout_acc", "latency_ratio"]) {
    assert.ok(rows.some((r) => r.metric === m), m);
  }
  // Step 0 is evaluated once and appears once (seed 0), never copied to every seed.
  const step0 = rows.filter((r) => r.option === "t5" && r.step === 0 && r.metric === "near_bpb");
  assert.equal(step0.length, 1);
  assert.equal(step0[0].seed, 0);
  assert.deepEqual(
    [...new Set(rows.filter((r) => r.option === "t5").map((r) => r.step))].sort(),
    [0, 2, 4],
  );
  const t5Params = rows.find((r) => r.option === "t5" && r.metric === "new_params")!;
  assert.equal(t5Params.value, 32 * tiny.numHeads);
  const sts = rows.filter((r) => r.metric === "steps_to_threshold");
  assert.equal(sts.length, 4, "one per option x seed, censored ones included");
  // samples.csv: every retrieval sample has its offset, long ones inside [2.5 L0, 7.5 L0].
  const samples = await readSamples(`${dir}/b/results/samples.csv`);
  const long = samples.filter((r) => r.metric === "long_retrieval_acc");
  assert.ok(long.length > 0);
  assert.ok(long.every((r) => r.offset! >= 2.5 * 64 && r.offset! <= 7.5 * 64), "long band");
  assert.ok(samples.filter((r) => r.metric.endsWith("_acc")).every((r) => r.offset !== null));
  assert.ok(samples.some((r) => r.metric === "near_bpb" && r.offset === null));
  // Seed 0's final weights are shipped with the complete config.
  const shipped = await loadCheckpoint(`${dir}/b/ship/t5.safetensors`);
  assert.equal(shipped.config.positional.type, "t5");
  assert.ok(shipped.weights.has(T5_TABLE));
  assert.equal(shipped.metadata.step, "4");

  await saveTinyBase(`${dir}/other.safetensors`, 10);
  await assert.rejects(
    () => runRetrofit({ ...common, base: `${dir}/other.safetensors`, ws: ws("a") }),
    /differs from the one/,
  );
  await Deno.remove(dir, { recursive: true });
});

Deno.test("mitigation variant differs from its control in one thing: same losses until the replay starts", async () => {
  const dir = await Deno.makeTempDir();
  await saveTinyBase(`${dir}/base.safetensors`, 4);
  const ws = tinyWorkspace(dir);
  const r = await runRetrofit({
    preset: "tiny",
    base: `${dir}/base.safetensors`,
    options: ["yarn"],
    seeds: [0],
    mitigations: ["yarn+short_replay"],
    budget: SHORT_BUDGET,
    threshold: 0.5,
    plan: smallPlan({ latencyRepeats: 1 }),
    ws,
    commit: "test",
    command: "test",
    corpus,
    log: () => {},
  });
  assert.equal(r.complete, true, r.missing.join(", "));
  const curve = async (label: string) => {
    const runDir = `${dir}/work/${label}/seed0`;
    const [keyed] = await Array.fromAsync(Deno.readDir(runDir)); // one folder per base checkpoint
    return (await Deno.readTextFile(`${runDir}/${keyed.name}/curve.csv`)).trim().split("\n")
      .slice(1).map((l) => Number(l.split(",")[1]));
  };
  const control = await curve("yarn"), variant = await curve("yarn+short_replay");
  assert.equal(control.length, 4);
  // short_replay starts at step round(0.75 x 4) = 3: steps 1-3 see the same data, step 4 differs.
  assert.deepEqual(variant.slice(0, 3), control.slice(0, 3));
  assert.notEqual(variant[3], control[3]);
  const labels = new Set(r.metrics.map((m) => m.option));
  assert.ok(labels.has("yarn+short_replay"));
  assert.deepEqual(
    [...new Set(r.metrics.filter((m) => m.option === "yarn+short_replay").map((m) => m.step))],
    [4],
    "the variant is evaluated at the final budget only",
  );
  await Deno.remove(dir, { recursive: true });
});

Deno.test("a record made with another evaluation plan is refused, not silently reused", async () => {
  const dir = await Deno.makeTempDir();
  await saveTinyBase(`${dir}/base.safetensors`, 2);
  const ws = tinyWorkspace(dir);
  const plan = smallPlan();
  const common = {
    preset: "tiny",
    base: `${dir}/base.safetensors`,
    options: ["pi"] as const,
    seeds: [0],
    budget: FINETUNE_DEFAULTS.tiny,
    threshold: 0.5,
    ws,
    commit: "test",
    command: "test",
    corpus,
    log: () => {},
    tasks: ["base"],
  };
  await runRetrofit({ ...common, plan });
  await runRetrofit({ ...common, plan }); // same plan: the record is reused
  await assert.rejects(
    () => runRetrofit({ ...common, plan: { ...plan, nearExamples: 3 } }),
    /made with another evaluation plan/,
  );
  await Deno.remove(dir, { recursive: true });
});
