/**
 * Golden test: the retrofit pipeline, run today from the shipped tiny base with the tiny
 * preset's budget and plan, reproduces the committed tiny records (base, yarn's step 0 and its
 * seed-0 fine-tune) row for row. A refactor of run.ts / phases.ts / the trainer / the evaluation
 * that changes behaviour fails here, not in a course run hours later.
 */
import assert from "node:assert/strict";
import { initBackend } from "../src/backend.ts";
import { loadCorpus } from "../src/data/corpus.ts";
import { evaluationPlan } from "../src/eval/long_context.ts";
import { FINETUNE_DEFAULTS, runRetrofit } from "../src/retrofit/run.ts";
import { RetrofitWorkspace, type RunRecord } from "../src/retrofit/workspace.ts";

const ROOT = new URL("..", import.meta.url).pathname;

Deno.test("golden: a tiny run reproduces the committed tiny records (base, yarn step 0, yarn seed 0)", async () => {
  await initBackend({ backend: "wasm" });
  const dir = await Deno.makeTempDir();
  try {
    const { threshold, ...budget } = FINETUNE_DEFAULTS.tiny;
    const ws = new RetrofitWorkspace("tiny", {
      resultsDir: `${dir}/results`,
      workDir: `${dir}/work`,
      shipDir: `${dir}/ship`,
    });
    await runRetrofit({
      preset: "tiny",
      base: `${ROOT}assets/checkpoints/tiny/model.safetensors`,
      options: ["yarn"],
      seeds: [0],
      budget,
      threshold,
      plan: evaluationPlan("tiny"),
      commit: "golden",
      command: "golden test",
      corpus: await loadCorpus(),
      log: () => {},
      ws,
      tasks: ["base", "step0:yarn", "chunk:yarn:0"],
    });
    const shipped = new RetrofitWorkspace("tiny", { resultsDir: `${ROOT}assets/results/tiny` });
    for (const path of ["base.json", "yarn/step0.json", "yarn/seed0.json"]) {
      const want = (await shipped.read(`${shipped.runsDir}/${path}`)) as RunRecord;
      const got = (await ws.read(`${ws.runsDir}/${path}`)) as RunRecord;
      const key = (r: RunRecord["rows"][number]) => `${r.step}|${r.metric}|${r.setting}`;
      assert.deepEqual(got.rows.map(key), want.rows.map(key), `${path}: the same rows`);
      want.rows.forEach((w, i) => {
        const g = got.rows[i];
        const close = (a: number | null, b: number | null) =>
          a === b ||
          (a !== null && b !== null && Math.abs(a - b) <= 1e-6 * Math.max(1, Math.abs(b)));
        assert.ok(close(g.value, w.value), `${path} ${key(w)}: ${g.value} vs ${w.value}`);
        assert.equal(g.n, w.n, `${path} ${key(w)}: n`);
        const [gs, ws_] = [g.samples ?? [], w.samples ?? []];
        assert.equal(gs.length, ws_.length, `${path} ${key(w)}: samples`);
        gs.forEach((x, j) =>
          assert.ok(close(x, ws_[j]), `${path} ${key(w)} sample ${j}: ${x} vs ${ws_[j]}`)
        );
      });
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
