/**
 * The ablations of issue #13: registry entries beside the six options (which stay as they were),
 * the stage command lines of `deno task ablate`, and `--positional` for native pretraining.
 */
import assert from "node:assert/strict";
import { modelConfig } from "../src/model/config.ts";
import { ABLATION_IDS, convert, RETROFIT_IDS } from "../src/retrofit/registry.ts";
import { ablationCommands, reuseRecords } from "../src/retrofit/ablate.ts";
import { FINETUNE_DEFAULTS } from "../src/retrofit/run.ts";
import { RetrofitWorkspace } from "../src/retrofit/workspace.ts";
import { evaluationPlan } from "../src/eval/long_context.ts";
import { writeFileAtomic } from "../src/util/atomic.ts";
import { positionalFlag } from "../src/train/pretrain.ts";
import { yarnBands } from "../src/decision/full_scale.ts";

Deno.test("ablations convert beside the six options, which are unchanged", () => {
  assert.deepEqual([...RETROFIT_IDS], ["rope", "pi", "ntk", "yarn", "alibi", "t5"]);
  const cfg = modelConfig("course");
  const at = (id: string) => convert(id, cfg, new Map(), { targetLength: 2048 }).config.positional;
  assert.deepEqual(at("pi_s2"), { type: "rope", scaling: { type: "linear", factor: 2 } });
  assert.deepEqual(at("pi_s4"), { type: "rope", scaling: { type: "linear", factor: 4 } });
  assert.deepEqual(at("ntk_dynamic"), {
    type: "rope",
    scaling: { type: "dynamic", factor: 8, originalMaxPositions: 256 },
  });
  const y = at("yarn_matched") as { scaling: { betaFast: number; betaSlow: number } };
  const head = { ...cfg, label: "course", targetLength: 2048 };
  const b = yarnBands(head, y.scaling.betaFast, y.scaling.betaSlow);
  assert.deepEqual([b.kept, b.ramped, b.interpolated], [5, 6, 5]);
  for (const id of ABLATION_IDS) {
    assert.equal(convert(id, cfg, new Map(), { targetLength: 2048 }).newParams, 0);
  }
  assert.throws(
    () => convert("pi_s3", cfg, new Map(), { targetLength: 2048 }),
    /option must be one of/,
  );
});

Deno.test("ablate: stage 1 from the base, stage 2 on the fine-tuned ntk model (one seed)", () => {
  const o = { preset: "tiny", out: "/tmp/a", ntkCheckpoint: "/tmp/ntk.safetensors" };
  const s = ablationCommands(["--seeds", "0,1", "--jobs", "2"], { ...o, ntkExists: true });
  assert.equal(s.length, 3);
  assert.ok(
    s[0].argv.join(" ").includes(
      "--options pi,pi_s2,pi_s4,yarn_matched,ntk_dynamic,yarn,ntk --out /tmp/a",
    ),
  );
  assert.ok(s[1].argv.join(" ").includes("--seeds 0 --preset tiny --base /tmp/ntk.safetensors"));
  assert.ok(!s[1].argv.join(" ").includes("0,1"));
  assert.deepEqual(s.slice(1).map((x) => x.argv.at(-3)), ["base", "step0:ntk_dynamic"]);
  assert.equal(ablationCommands([], { ...o, ntkExists: false }).length, 1);
});

Deno.test("pretrain --positional: rope, alibi, t5 (T5's own 32 buckets / 128)", () => {
  assert.deepEqual(positionalFlag("t5"), { type: "t5", numBuckets: 32, maxDistance: 128 });
  assert.deepEqual(positionalFlag("alibi"), { type: "alibi" });
  assert.equal(positionalFlag("rope").type, "rope");
  assert.throws(
    () => positionalFlag("xpos"),
    /--positional must be one of rope, alibi, t5; got "xpos"/,
  );
});

Deno.test("ablate --reuse: copies the main experiment's records only when budget and plan match", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const from = `${dir}/main`, out = `${dir}/abl`;
    const budget = FINETUNE_DEFAULTS.tiny; // as run.json stores it, with the threshold
    const src = new RetrofitWorkspace("tiny", { resultsDir: from });
    const rec = (kind: string, option: string, seed: number) =>
      JSON.stringify({ kind, option, seed, rows: [], commit: "c", command: "x" });
    await writeFileAtomic(
      `${from}/run.json`,
      JSON.stringify({ budget, plan: evaluationPlan("tiny") }),
    );
    await writeFileAtomic(src.basePath(), rec("base", "base", 0));
    await writeFileAtomic(src.step0Path("yarn"), rec("step0", "yarn", 0));
    await writeFileAtomic(src.chunkPath("yarn", 0), rec("chunk", "yarn", 0));
    await writeFileAtomic(src.chunkPath("yarn", 1), rec("chunk", "yarn", 1));
    await writeFileAtomic(src.chunkPath("alibi", 0), rec("chunk", "alibi", 0));
    const copied = await reuseRecords(from, out, "tiny", ["--seeds", "0"]);
    const dst = new RetrofitWorkspace("tiny", { resultsDir: out });
    // Seed 1 was not asked for, alibi is not an ablation's reference: neither is copied.
    assert.deepEqual(
      copied.sort(),
      [dst.basePath(), dst.chunkPath("yarn", 0), dst.step0Path("yarn")].sort(),
    );
    assert.equal(await Deno.readTextFile(dst.chunkPath("yarn", 0)), rec("chunk", "yarn", 0));
    assert.deepEqual(await reuseRecords(from, `${dir}/b`, "tiny", ["--steps", "4"]), []);
    await writeFileAtomic(
      `${from}/run.json`,
      JSON.stringify({ budget: { ...budget, steps: 8 }, plan: evaluationPlan("tiny") }),
    );
    await assert.rejects(
      () => reuseRecords(from, `${dir}/c`, "tiny", []),
      /budget or evaluation plan/,
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
