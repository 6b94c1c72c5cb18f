/**
 * The decision rule follows the data: synthetic results in which different options win (incl.
 * ALiBi, T5, none, ties), threshold edges, bad input, and notebook 09 run against a synthetic
 * results folder in which another option wins.
 */
import assert from "node:assert/strict";
import { join, resolve } from "node:path";
import {
  formatSamplesCsv,
  type MetricRow,
  type SampleRow,
  writeMetrics,
} from "../src/eval/results.ts";
import { metricsFrame, summarize } from "../src/eval/results_frame.ts";
import {
  type ConstraintCheck,
  decide,
  type Decision,
  DECISION_RULE,
  type DecisionRule,
  decisionTable,
  formatValue,
} from "../src/decision/rule.ts";
import { fitPowerLaw, fullScaleEstimate, ourTrainRows } from "../src/decision/scale.ts";
import { conversionAtThreshold, riskEvidence, thresholdSentence } from "../src/decision/report.ts";
import { loadDecisionInputs } from "../src/decision/inputs.ts";
import { getPreset } from "../src/model/presets.ts";
import { writeNotebookModule } from "../src/tools/notebook_module.ts";

const ROOT = resolve(new URL("..", import.meta.url).pathname);

/** One option's pooled results (accuracy in [0, 1], near bpb absolute, latency ratio). */
interface Spec {
  near: number;
  /** Near-range passkey accuracy (default 1: passes with the widest margin). */
  nearPk?: number;
  long: number;
  params: number;
  latency: number;
}

/** Summary-like rows (CI = mean +- 0.01 unless given). */
function summary(specs: Record<string, Spec>, baseNear = 2.0) {
  const rows = [{
    option: "base",
    metric: "near_bpb",
    mean: baseNear,
    ci_low: baseNear,
    ci_high: baseNear,
    seeds: 1,
  }];
  for (const [option, s] of Object.entries(specs)) {
    const add = (metric: string, mean: number) =>
      rows.push({ option, metric, mean, ci_low: mean - 0.01, ci_high: mean + 0.01, seeds: 3 });
    add("near_bpb", s.near);
    add("near_retrieval_acc", s.nearPk ?? 1);
    add("long_retrieval_acc", s.long);
    add("new_params", s.params);
    add("latency_ratio", s.latency);
  }
  return rows;
}

/**
 * Raw metrics rows (3 seeds, the evidence protocol's band metrics) for the same specs, with the
 * samples behind them (samples.csv): every example or window holds the spec's value, accuracies
 * as round(p x n) ones, latency as equal rounds.
 */
function metricRows(specs: Record<string, Spec>, baseNear = 2.0): MetricRow[] {
  return syntheticTables(specs, baseNear).metrics;
}

function syntheticTables(specs: Record<string, Spec>, baseNear = 2.0) {
  const c = { commit: "synthetic", command: "synthetic test table" };
  const metrics: MetricRow[] = [];
  const samples: SampleRow[] = [];
  const add = (
    option: string,
    seed: number,
    step: number,
    metric: MetricRow["metric"],
    setting: string,
    value: number,
    n: number,
    acc: boolean,
  ) => {
    metrics.push({ option, seed, step, metric, setting, value, n, ...c });
    const ones = Math.round(value * n);
    for (let i = 0; i < n; i++) {
      const v = acc ? (i < ones ? 1 : 0) : value;
      samples.push({
        option,
        seed,
        step,
        metric,
        setting,
        sample: i,
        value: v,
        offset: null,
        wording: "",
      });
    }
  };
  add("base", 0, 0, "near_bpb", "ctx=16", baseNear, 32, false);
  add("base", 0, 0, "near_retrieval_acc", "ctx=82;offset=1..34;wording=training", 1, 24, true);
  add("base", 0, 0, "long_retrieval_acc", "ctx=512;offset=160..480;wording=training", 0, 40, true);
  for (const [option, s] of Object.entries(specs)) {
    for (const seed of [0, 1, 2]) {
      add(option, seed, 60, "near_bpb", "ctx=16", s.near, 32, false);
      add(
        option,
        seed,
        60,
        "near_retrieval_acc",
        "ctx=82;offset=1..34;wording=training",
        s.nearPk ?? 1,
        24,
        true,
      );
      add(
        option,
        seed,
        60,
        "long_retrieval_acc",
        "ctx=512;offset=160..480;wording=training",
        s.long,
        40,
        true,
      );
      metrics.push({
        option,
        seed,
        step: 60,
        metric: "new_params",
        setting: "",
        value: s.params,
        n: 1,
        ...c,
      });
    }
    add(option, 0, 0, "latency_ratio", "ctx=512", s.latency, 5, false);
  }
  return { metrics, samples };
}

const ALL_GOOD: Record<string, Spec> = {
  rope: { near: 2.0, long: 0.1, params: 0, latency: 1.0 },
  pi: { near: 2.1, long: 0.9, params: 0, latency: 1.0 }, // +5%: fails near
  ntk: { near: 2.01, long: 0.7, params: 0, latency: 1.0 },
  yarn: { near: 2.01, long: 0.9, params: 0, latency: 1.01 },
  alibi: { near: 2.02, long: 0.6, params: 0, latency: 1.05 },
  t5: { near: 2.02, long: 0.65, params: 64, latency: 3.0 }, // fails latency
};

/** The value of `option`'s check of `constraint`. */
function checkOf(d: Decision, option: string, constraint: string): ConstraintCheck {
  const k = d.verdicts.find((v) => v.option === option)?.checks.find((c) =>
    c.constraint === constraint
  );
  assert.ok(k, `${option} has a ${constraint} check`);
  return k;
}

/**
 * What the sentence must carry, not its wording: the recommended option's id, the preset, the
 * given numbers, and the hedges the decision calls for: "uncertain" exactly when one of the
 * recommended option's intervals contains its bound (naming that constraint), and, when no
 * option passes, that fact with the failing constraints named.
 */
function assertSentence(d: Decision, o: { preset?: string; numbers?: string[] } = {}): void {
  const s = d.sentence;
  assert.ok(s.includes(`\`${d.recommended}\``), `names \`${d.recommended}\`: ${s}`);
  if (o.preset) assert.ok(s.includes(o.preset), `names the preset: ${s}`);
  for (const n of o.numbers ?? []) assert.ok(s.includes(n), `states ${n}: ${s}`);
  const verdict = d.verdicts.find((v) => v.option === d.recommended)!;
  const uncertain = verdict.checks.filter((k) => k.uncertain);
  assert.equal(/uncertain/i.test(s), uncertain.length > 0, `uncertainty hedge: ${s}`);
  for (const k of uncertain) assert.ok(s.includes(k.label), `names uncertain ${k.label}: ${s}`);
  assert.equal(/no option passes/i.test(s), !d.passesAll, `says whether any option passes: ${s}`);
  if (!d.passesAll) {
    for (const k of verdict.checks.filter((c) => !c.pass)) {
      assert.ok(s.includes(k.label), `names failing ${k.label}: ${s}`);
    }
  }
}

Deno.test("decide: the passing option with the best long-range retrieval wins (yarn)", () => {
  const d = decide(summary(ALL_GOOD), { preset: "tiny" });
  assert.equal(d.recommended, "yarn");
  assert.equal(d.passesAll, true);
  assert.deepEqual(d.verdicts.find((v) => v.option === "pi")!.failing, ["near_regression"]);
  assert.deepEqual(d.verdicts.find((v) => v.option === "t5")!.failing, ["latency"]);
  assert.ok(Math.abs(checkOf(d, "yarn", "long_retrieval").value - 0.9) < 1e-9);
  assert.ok(Math.abs(checkOf(d, "yarn", "near_regression").value - 0.005) < 1e-9); // 2.01 / 2 - 1
  assertSentence(d, { preset: "tiny", numbers: ["0.90", "0.5%"] });
  assert.ok(!/`pi`|`ntk`/.test(d.sentence), "only the winner is named");
  // yarn's margins: near (0.02 - 0.005) / 0.02 = 0.75 < long 0.8 < latency 0.9 < params 1.
  assert.equal(d.risk.constraint, "near_regression");
  assert.equal(d.risk.variant, "short_replay");
  assert.ok(d.risk.sentence.includes(d.risk.check.label), d.risk.sentence);
});

Deno.test("decide: ALiBi wins when it has the best retrieval among those passing", () => {
  const specs = { ...ALL_GOOD, alibi: { near: 2.0, long: 0.95, params: 0, latency: 1.0 } };
  const d = decide(summary(specs));
  assert.equal(d.recommended, "alibi");
  assert.equal(checkOf(d, "alibi", "long_retrieval").value, 0.95);
  assertSentence(d, { numbers: ["0.95"] });
  assert.equal(d.ranking[0], "alibi");
});

Deno.test("decide: T5 wins when its latency and table size pass", () => {
  const specs = { ...ALL_GOOD, t5: { near: 2.0, long: 0.97, params: 64, latency: 1.09 } };
  const d = decide(summary(specs));
  assert.equal(d.recommended, "t5");
  assert.equal(checkOf(d, "t5", "new_params").value, 64);
  assertSentence(d, { numbers: ["64"] });
  // Latency (1.1 - 1.09)/0.1 = 0.1 is its least margin: the risk follows.
  assert.equal(d.risk.constraint, "latency");
  assert.ok(d.risk.sentence.includes("1.09"), d.risk.sentence);
  // The latency interval contains its bound: the sentence must hedge (assertSentence checks it).
  assert.equal(checkOf(d, "t5", "latency").uncertain, true);
  assertSentence(decide(summary(ALL_GOOD)));
});

Deno.test("decide: none passes -> the closest, naming the failing constraint", () => {
  const specs: Record<string, Spec> = {
    pi: { near: 2.2, long: 0.9, params: 0, latency: 1.0 }, // fails near by 8 percentage points
    ntk: { near: 2.0, long: 0.3, params: 0, latency: 1.0 }, // fails long by 0.2 / 0.5 = 0.4
    t5: { near: 2.3, long: 0.1, params: 64, latency: 4 }, // fails three
  };
  const d = decide(summary(specs), { preset: "course" });
  assert.equal(d.passesAll, false);
  assert.equal(d.recommended, "ntk");
  assert.deepEqual(d.ranking, ["ntk", "pi", "t5"]);
  assert.deepEqual(d.verdicts.find((v) => v.option === "ntk")!.failing, ["long_retrieval"]);
  assert.equal(checkOf(d, "ntk", "long_retrieval").value, 0.3);
  assertSentence(d, { preset: "course", numbers: ["0.30"] });
  assert.equal(d.risk.constraint, "long_retrieval");
  assert.equal(d.risk.variant, "copy_rows");
  assert.ok(d.risk.sentence.includes("long-range retrieval"), d.risk.sentence);
});

Deno.test("decide: ties on retrieval are broken by near-range regression, then registry order", () => {
  const tie = {
    ntk: { near: 2.02, long: 0.8, params: 0, latency: 1.0 },
    yarn: { near: 2.01, long: 0.8, params: 0, latency: 1.0 },
  };
  const d = decide(summary(tie));
  assert.equal(d.recommended, "yarn");
  assert.deepEqual(d.tiedWith, ["ntk"]);
  assert.equal(d.tieBrokenBy, "near-range regression");
  assertSentence(d);
  // The tie and what broke it are stated: the tied option and the deciding criterion.
  assert.ok(d.sentence.includes("`ntk`") && d.sentence.includes("near-range regression"));
  const exact = {
    yarn: { near: 2.01, long: 0.8, params: 0, latency: 1.0 },
    ntk: { near: 2.01, long: 0.8, params: 0, latency: 1.0 },
  };
  const e = decide(summary(exact));
  assert.equal(e.recommended, "ntk"); // registry order: rope, pi, ntk, yarn, ...
  assert.equal(e.tieBrokenBy, "registry order");
});

Deno.test("decide: values exactly at a threshold pass; just beyond fails", () => {
  const at = { yarn: { near: 2.04, nearPk: 0.9, long: 0.5, params: 4096, latency: 1.1 } };
  const d = decide(summary(at));
  assert.equal(d.passesAll, true, JSON.stringify(d.verdicts[0].checks));
  for (const k of d.verdicts[0].checks) assert.ok(k.margin >= 0 && k.margin < 1e-6, k.constraint);
  const beyond = [
    { near: 2.0401, long: 0.5, params: 0, latency: 1 },
    { near: 2.0, long: 0.4999, params: 0, latency: 1 },
    { near: 2.0, long: 0.5, params: 4097, latency: 1 },
    { near: 2.0, long: 0.5, params: 0, latency: 1.1001 },
    { near: 2.0, nearPk: 0.8999, long: 0.5, params: 0, latency: 1 },
  ];
  const ids = ["near_regression", "long_retrieval", "new_params", "latency", "near_retrieval"];
  beyond.forEach((s, i) => {
    const v = decide(summary({ yarn: s })).verdicts[0];
    assert.deepEqual(v.failing, [ids[i]]);
  });
});

Deno.test("decide: a custom rule changes the answer (thresholds are data)", () => {
  const strictParams: DecisionRule = {
    ...DECISION_RULE,
    constraints: DECISION_RULE.constraints.map((c) =>
      c.id === "new_params" ? { ...c, threshold: 0, scale: 1 } : c
    ),
  };
  const specs = { ...ALL_GOOD, t5: { near: 2.0, long: 0.97, params: 64, latency: 1.0 } };
  assert.equal(decide(summary(specs)).recommended, "t5");
  assert.equal(decide(summary(specs), { rule: strictParams }).recommended, "yarn");
});

Deno.test("decide: a raw metrics DataFrame and its summarize() give the same answer", () => {
  const specs = { ...ALL_GOOD, alibi: { near: 2.0, long: 0.95, params: 0, latency: 1.0 } };
  const df = metricsFrame(metricRows(specs));
  const a = decide(df, { resamples: 50 });
  const b = decide(summarize(df, { resamples: 50 }));
  assert.equal(a.recommended, "alibi");
  assert.equal(b.recommended, "alibi");
  assert.equal(a.sentence.split(" (95% CI")[0], b.sentence.split(" (95% CI")[0]);
  const table = decisionTable(a);
  assert.equal(table.length, 6 * DECISION_RULE.constraints.length);
  assert.equal(table[0].option, "alibi");
});

Deno.test("decide: bad input gives errors that name what is missing", () => {
  const noLong = summary(ALL_GOOD).filter((r) =>
    !(r.option === "t5" && r.metric === "long_retrieval_acc")
  );
  assert.throws(
    () => decide(noLong),
    (e: Error) => e instanceof TypeError && /t5 has no long_retrieval_acc/.test(e.message),
  );
  const noBase = summary(ALL_GOOD).filter((r) => r.option !== "base");
  assert.throws(
    () => decide(noBase),
    (e: Error) => e instanceof TypeError && /base near_bpb/.test(e.message),
  );
  assert.throws(
    () => decide(summary(ALL_GOOD), { options: ["yarn", "xpos"] }),
    (e: Error) => e instanceof TypeError && /xpos have no rows/.test(e.message),
  );
  assert.throws(
    () => decide(summary({}).filter((r) => r.option === "base")),
    /no candidate option/,
  );
  assert.throws(
    () => decide(summary(ALL_GOOD), { rule: { ...DECISION_RULE, rankBy: "speed" as "latency" } }),
    RangeError,
  );
  const nullMean = summary(ALL_GOOD).map((r) =>
    r.option === "pi" && r.metric === "latency_ratio"
      ? { ...r, mean: null as unknown as number }
      : r
  );
  assert.throws(() => decide(nullMean), /pi has no latency_ratio/);
});

Deno.test("formatValue and helpers", () => {
  assert.equal(formatValue(0.004, "percent"), "+0.4%");
  assert.equal(formatValue(-0.01, "percent"), "-1.0%");
  assert.equal(formatValue(4096, "count"), "4,096");
  assert.equal(formatValue(1.234, "ratio"), "1.23x");
  const law = fitPowerLaw([[1024, 3], [2048, 12], [4096, 48]]);
  assert.ok(Math.abs(law.k - 2) < 1e-9);
  assert.ok(Math.abs(law.at(8192) - 192) < 1e-6);
});

Deno.test("fullScaleEstimate extrapolates from a bench table", () => {
  const rows = [1024, 2048, 4096].map((n) => ({
    impl: "fused",
    backend: "wasm",
    mode: "none",
    n: String(n),
    heads: "4",
    d: "64",
    status: "ok",
    ms: String(4 * (n / 1024) ** 2),
    wasmHeapMiB: String(n / 256),
  }));
  const full = getPreset("full");
  const est = fullScaleEstimate({ attention: rows, train: null, preset: full });
  assert.ok(Math.abs(est.attentionExponent - 2) < 1e-9);
  // Per head at 32,768: 1 ms x 32^2 = 1024 ms; x heads x layers.
  const expected = (1024 * full.numHeads * full.numLayers) / 1000;
  assert.ok(Math.abs(est.attentionForwardSeconds - expected) < 1e-6);
  assert.ok(est.memoryGiB.total > est.memoryGiB.activations);
  assert.match(est.restSource, /absent/);
});

Deno.test("notebook 09 follows a synthetic results table in which another option wins", async () => {
  const dir = await Deno.makeTempDir({ prefix: "decision-test-" });
  // ALiBi wins here; the tiny results (if any) would not give this.
  const specs = { ...ALL_GOOD, alibi: { near: 2.0, long: 0.99, params: 0, latency: 1.0 } };
  const tables = syntheticTables(specs);
  await writeMetrics(join(dir, "metrics.csv"), tables.metrics);
  await Deno.writeTextFile(join(dir, "samples.csv"), formatSamplesCsv(tables.samples));
  await Deno.writeTextFile(join(dir, "run.json"), JSON.stringify({ preset: "tiny" }));
  const inputs = await loadDecisionInputs({ dir });
  assert.equal(inputs.commands[0], "synthetic test table");
  const module = await writeNotebookModule(join(ROOT, "notebooks/09_decision.ipynb"));
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", module],
    cwd: join(ROOT, "notebooks"),
    env: { COURSE_PRESET: "tiny", COURSE_NO_PNG: "1", COURSE_RESULTS_DIR: dir },
    stdout: "piped",
    stderr: "piped",
  }).output();
  const stdout = new TextDecoder().decode(out.stdout);
  const stderr = new TextDecoder().decode(out.stderr);
  assert.equal(out.code, 0, stderr.slice(-3000));
  const recommendation = stdout.split("\n").find((l) => /recommendation/i.test(l)) ?? "";
  // The first option the recommendation names is the winner.
  assert.equal(recommendation.match(/`([a-z0-9+]+)`/)?.[1], "alibi", recommendation);
  assert.match(stdout, /synthetic test table/); // the source of the table is said
  // The paired margin over the runner-up comes from samples.csv: the runner-up is named.
  assert.match(stdout, /runner-up[^\n]*`yarn`/);
  await Deno.remove(dir, { recursive: true });
});

Deno.test("loadDecisionInputs: a folder without metrics.csv is a clear error", async () => {
  const dir = await Deno.makeTempDir({ prefix: "decision-empty-" });
  await assert.rejects(() => loadDecisionInputs({ dir }), /metrics\.csv is missing/);
  await Deno.remove(dir, { recursive: true });
});

Deno.test("decide: an option failing only by checks whose interval holds the bound is named as within reach", () => {
  const rows = [
    { option: "base", metric: "near_bpb", mean: 2, ci_low: 2, ci_high: 2, seeds: 1 },
    ...["yarn", "ntk"].flatMap((option) => [
      { option, metric: "near_bpb", mean: 2.01, ci_low: 2.0, ci_high: 2.02, seeds: 5 },
      { option, metric: "near_retrieval_acc", mean: 0.95, ci_low: 0.9, ci_high: 1, seeds: 5 },
      { option, metric: "new_params", mean: 0, ci_low: null, ci_high: null, seeds: 5 },
      { option, metric: "latency_ratio", mean: 1.0, ci_low: 0.98, ci_high: 1.02, seeds: 1 },
    ]),
    {
      option: "yarn",
      metric: "long_retrieval_acc",
      mean: 0.7,
      ci_low: 0.6,
      ci_high: 0.8,
      seeds: 5,
    },
    // ntk misses the long-range bound by its point estimate only: its interval holds 0.5.
    {
      option: "ntk",
      metric: "long_retrieval_acc",
      mean: 0.45,
      ci_low: 0.3,
      ci_high: 0.6,
      seeds: 5,
    },
  ];
  const d = decide(rows, { preset: "tiny" });
  assert.equal(d.recommended, "yarn");
  assert.match(d.sentence, /within reach: `ntk`/);
  const clear = rows.map((r) =>
    r.option === "ntk" && r.metric === "long_retrieval_acc"
      ? { ...r, ci_low: 0.35, ci_high: 0.45 }
      : r
  );
  assert.doesNotMatch(decide(clear, { preset: "tiny" }).sentence, /within reach/);
});

Deno.test("riskEvidence locates the loss from the paired step-0 and fine-tune differences", () => {
  const c = DECISION_RULE.constraints.find((x) => x.id === "near_retrieval")!;
  // 1/0 outcomes on 60 examples: base 1s; the option at step 0 and fine-tuned with given rates.
  const rows = (zeroRate: number, tunedRate: number): SampleRow[] => {
    const out: SampleRow[] = [];
    const add = (option: string, seed: number, step: number, rate: number) => {
      for (let sample = 0; sample < 60; sample++) {
        const value = (sample * 7 + seed * 13) % 60 < rate * 60 ? 1 : 0;
        out.push({
          option,
          seed,
          step,
          metric: "near_retrieval_acc",
          setting: "near",
          sample,
          value,
          offset: null,
          wording: "",
        });
      }
    };
    add("base", 0, 0, 1);
    add("yarn", 0, 0, zeroRate);
    for (const seed of [0, 1, 2]) add("yarn", seed, 16, tunedRate);
    return out;
  };
  assert.match(riskEvidence(rows(0.1, 0.1), "yarn", c), /already there at step 0/);
  assert.match(
    riskEvidence(rows(1, 0.1), "yarn", c),
    /conversion keeps it and the fine-tune loses/,
  );
  assert.match(riskEvidence(rows(0.1, 0.6), "yarn", c), /fine-tune wins part of it back/);
  assert.match(riskEvidence(rows(1, 1), "yarn", c), /no loss beyond the noise/);
});

Deno.test("steps to threshold: step 0 is stated once with its interval, seeds count fine-tune budgets", () => {
  const samples: SampleRow[] = [];
  for (let sample = 0; sample < 40; sample++) {
    samples.push({
      option: "yarn",
      seed: 0,
      step: 0,
      metric: "long_retrieval_acc",
      setting: "long",
      sample,
      value: sample % 2, // 15 of the first 30
      offset: null,
      wording: "",
    });
  }
  const conv = conversionAtThreshold(samples, 30);
  assert.deepEqual([conv[0].hits, conv[0].examples], [15, 30]);
  assert.ok(conv[0].interval.low < 0.5 && conv[0].interval.high > 0.5);
  const rows = [0, 1, 2].map((seed) => ({
    option: "yarn",
    seed,
    steps: seed === 2 ? null : 16,
    censored: seed === 2,
    budget: 128,
    threshold: 0.5,
    examples: 30,
  }));
  const s = thresholdSentence(rows, [16, 32], conv);
  assert.match(s, /`yarn` 2\/3 seeds reach it \(2 by 16, 2 by 32; 1 censored at 128\)/);
  assert.match(
    s,
    /At step 0 \(the conversion alone, one evaluation, counted once\): `yarn` 15\/30/,
  );
  assert.match(s, /interval holds it/);
});

Deno.test("scale: the training extrapolation reads one worker's clean rows", () => {
  const row = (impl: string, note = "") => ({ impl, note, seq_len: "256", tokens_per_s: "1" });
  const rows = [
    row("tfjs-wasm-1w"),
    row("tfjs-wasm-2w"),
    row("tfjs-wasm-1w", "contaminated: other processes used 40% of the cores"),
    row("pytorch-chunked"),
  ];
  assert.deepEqual(ourTrainRows(rows), [rows[0]]);
  assert.deepEqual(ourTrainRows([row("tfjs-wasm")]), [row("tfjs-wasm")], "the old CSV's rows");
  assert.deepEqual(ourTrainRows([rows[2]]), [rows[2]], "contaminated rows when nothing else");
});
