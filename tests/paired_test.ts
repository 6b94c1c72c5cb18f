/**
 * Paired statistics (src/eval/paired.ts): intervals cover the truth, pairing removes the shared
 * example difficulty, single-evaluation cells resample examples only, comparisons are hedged.
 */
import assert from "node:assert/strict";
import { compareSentence, pairedDifference, pairedSummary, tQuantile } from "../src/eval/paired.ts";
import type { SampleRow } from "../src/eval/results.ts";
import { Rng } from "../src/data/rng.ts";
import { testRng } from "./seeded.ts";

/**
 * Rows of a synthetic experiment: value = difficulty[example] + effect[option] + a seed shift shared
 * by all options + (with `interaction`) fine-tune luck of each option x seed + noise.
 */
function synth(
  rng: Rng,
  o: {
    options: Record<string, number>;
    seeds: number;
    examples: number;
    difficulty: number;
    interaction?: number;
  },
): SampleRow[] {
  const diff = Array.from({ length: o.examples }, () => rng.normal() * o.difficulty);
  const seedShift = Array.from({ length: o.seeds }, () => rng.normal() * 0.05);
  const rows: SampleRow[] = [];
  for (const [option, effect] of Object.entries(o.options)) {
    for (let s = 0; s < o.seeds; s++) {
      const luck = rng.normal() * (o.interaction ?? 0);
      for (let i = 0; i < o.examples; i++) {
        rows.push({
          option,
          seed: s,
          step: 8,
          metric: "near_bpb",
          setting: "ctx=64",
          sample: i,
          value: 2 + diff[i] + effect + seedShift[s] + luck + rng.normal() * 0.05,
          offset: null,
          wording: "",
        });
      }
    }
  }
  return rows;
}

Deno.test("paired difference: covers the true effect; pairing removes shared example difficulty", () => {
  const rng = testRng("paired difference", 1);
  const rows = synth(rng, { options: { a: 0.1, b: 0 }, seeds: 5, examples: 60, difficulty: 1 });
  const d = pairedDifference(rows, { metric: "near_bpb", step: 8, a: "a", b: "b" });
  assert.ok(d.low <= 0.1 && 0.1 <= d.high, `CI ${d.low}..${d.high} must cover 0.1`);
  assert.ok(d.low > 0, "a large effect against small noise is told apart");
  const s = pairedSummary(rows, { metric: "near_bpb", step: 8 });
  const a = s.get("a")!, b = s.get("b")!;
  // Each option alone carries the example difficulty (sd 1 / sqrt(60)): much wider than the pair.
  assert.ok(d.high - d.low < 0.5 * (a.high - a.low), "paired interval is narrower");
  assert.ok(a.low < b.high, "the unpaired intervals overlap although the difference is clear");
});

// With 5 seeds and fine-tune luck per option x seed (the case a crossed percentile bootstrap
// under-covered), the two-way interval must still cover near 95%: bits/byte-like values, and 0/1
// outcomes whose per-example probability moves with the seed.
Deno.test("paired difference: coverage of 95% intervals is near nominal (simulated experiments)", () => {
  const rng = testRng("coverage", 2);
  let covered = 0;
  const sims = 200;
  for (let k = 0; k < sims; k++) {
    const rows = synth(rng, {
      options: { a: 0.03, b: 0 },
      seeds: 5,
      examples: 40,
      difficulty: 0.5,
      interaction: 0.03,
    });
    const d = pairedDifference(rows, { metric: "near_bpb", step: 8, a: "a", b: "b" });
    if (d.low <= 0.03 && 0.03 <= d.high) covered++;
  }
  // Binomial(200, 0.95) falls below 180 with probability about 0.1%; at 0.85 coverage it
  // reaches 180 with probability about 0.01%.
  assert.ok(covered >= 180, `covered ${covered}/${sims}`);

  const sigmoid = (x: number) => 1 / (1 + Math.exp(-x));
  // The estimand: the expected difference over examples and fine-tune luck (both are sampled).
  let truth = 0;
  const draws = 100_000;
  for (let j = 0; j < draws; j++) {
    const e = rng.normal() * 1.5;
    truth += sigmoid(e + 0.4 + rng.normal() * 0.3) - sigmoid(e + rng.normal() * 0.3);
  }
  truth /= draws;
  let binCovered = 0;
  const binSims = 100;
  for (let k = 0; k < binSims; k++) {
    const ease = Array.from({ length: 100 }, () => rng.normal() * 1.5);
    const rows: SampleRow[] = [];
    const luck = new Map<string, number>();
    for (const [option, effect] of [["a", 0.4], ["b", 0]] as const) {
      for (let seed = 0; seed < 5; seed++) {
        luck.set(`${option}${seed}`, rng.normal() * 0.3);
        ease.forEach((e, sample) =>
          rows.push({
            option,
            seed,
            step: 8,
            metric: "long_retrieval_acc",
            setting: "long",
            sample,
            value: rng.next() < sigmoid(e + effect + luck.get(`${option}${seed}`)!) ? 1 : 0,
            offset: null,
            wording: "",
          })
        );
      }
    }
    const d = pairedDifference(rows, { metric: "long_retrieval_acc", step: 8, a: "a", b: "b" });
    if (d.low <= truth && truth <= d.high) binCovered++;
  }
  // Binomial(100, 0.95) falls below 87 with probability about 0.5%.
  assert.ok(binCovered >= 87, `0/1 outcomes: covered ${binCovered}/${binSims}`);
});

Deno.test("a cell evaluated once (step 0) resamples examples only; counted once", () => {
  const rows: SampleRow[] = [];
  for (let i = 0; i < 10; i++) {
    rows.push({
      option: "yarn",
      seed: 0,
      step: 0,
      metric: "long_retrieval_acc",
      setting: "x",
      sample: i,
      value: i < 6 ? 1 : 0,
      offset: 700 + i,
      wording: "is:pass key",
    });
  }
  const s = pairedSummary(rows, { metric: "long_retrieval_acc", step: 0 })
    .get("yarn")!;
  assert.equal(s.mean, 0.6);
  assert.equal(s.seeds, 1);
  assert.equal(s.examples, 10, "10 distinct examples, not 10 x seeds");
  // Binomial-like spread of 6/10: the interval is wide (about 0.3 to 0.9).
  assert.ok(s.low <= 0.35 && s.high >= 0.85, `${s.low}..${s.high}`);
});

Deno.test("paired statistics refuse options scored on different examples, and missing options", () => {
  const rng = testRng("refuse");
  const rows = synth(rng, { options: { a: 0, b: 0 }, seeds: 2, examples: 5, difficulty: 1 });
  const short = rows.filter((r) => !(r.option === "b" && r.sample === 4));
  assert.throws(
    () => pairedDifference(short, { metric: "near_bpb", step: 8, a: "a", b: "b" }),
    /misses some examples/,
  );
  assert.throws(
    () => pairedDifference(rows, { metric: "near_bpb", step: 8, a: "a", b: "zz" }),
    /no near_bpb samples for option "zz"/,
  );
});

Deno.test("comparison sentences follow the interval: 'cannot be told apart' when it holds 0", () => {
  const f = (x: number) => x.toFixed(2);
  const o = { quantity: "long-range retrieval", higherIsBetter: true, format: f };
  const tie = compareSentence("YaRN", "NTK", {
    mean: 0.05,
    low: -0.02,
    high: 0.12,
    seeds: 5,
    examples: 100,
  }, o);
  assert.match(tie, /cannot be told apart/);
  assert.doesNotMatch(tie, /ahead/);
  const win = compareSentence("YaRN", "NTK", {
    mean: 0.2,
    low: 0.1,
    high: 0.3,
    seeds: 5,
    examples: 100,
  }, o);
  assert.match(win, /YaRN is ahead of NTK/);
  const lose = compareSentence("YaRN", "NTK", {
    mean: -0.2,
    low: -0.3,
    high: -0.1,
    seeds: 5,
    examples: 100,
  }, o);
  assert.match(lose, /NTK is ahead of YaRN/);
  const lowerBetter = compareSentence("A", "B", {
    mean: 0.2,
    low: 0.1,
    high: 0.3,
    seeds: 5,
    examples: 9,
  }, {
    ...o,
    higherIsBetter: false,
  });
  assert.match(lowerBetter, /B is ahead of A/);
});

Deno.test("latency rounds are averaged geometrically: one slow round does not dominate", () => {
  const rows: SampleRow[] = [];
  const ratios = [1.0, 1.0, 1.0, 1.0, 9.0]; // one round on a busy machine
  for (const [sample, value] of ratios.entries()) {
    rows.push({
      option: "alibi",
      seed: 0,
      step: 0,
      metric: "latency_ratio",
      setting: "ctx=512",
      sample,
      value,
      offset: null,
      wording: "",
    });
  }
  const s = pairedSummary(rows, { metric: "latency_ratio", step: 0 }).get("alibi")!;
  assert.ok(Math.abs(s.mean - Math.exp(Math.log(9) / 5)) < 1e-12, `geometric mean, got ${s.mean}`);
  const plain = pairedSummary(rows, {
    metric: "latency_ratio",
    step: 0,
    scale: "linear",
  });
  assert.equal(plain.get("alibi")!.mean, 2.6);
  rows.push({ ...rows[0], sample: 5, value: 0 });
  assert.throws(() => pairedSummary(rows, { metric: "latency_ratio", step: 0 }), /must be > 0/);
});

/** 0/1 rows: option x seeds x n examples, each correct with probability p (seeded). */
function binaryRows(option: string, step: number, seeds: number[], n: number, p: number, rng: Rng) {
  return seeds.flatMap((seed) =>
    Array.from({ length: n }, (_, sample): SampleRow => ({
      option,
      seed,
      step,
      metric: "long_retrieval_acc",
      setting: "x",
      sample,
      value: rng.next() < p ? 1 : 0,
      offset: 700,
      wording: "is:pass key",
    }))
  );
}

Deno.test("a fine-tune with one seed has no interval; comparisons with it are not made", () => {
  const rng = testRng("one seed");
  const rows = [
    ...binaryRows("yarn", 128, [0], 50, 0.6, rng),
    ...binaryRows("rope", 128, [0, 1, 2], 50, 0.2, rng),
  ];
  const s = pairedSummary(rows, { metric: "long_retrieval_acc", step: 128 });
  assert.ok(Number.isNaN(s.get("yarn")!.low), "one seed: fine-tune luck is unmeasured");
  assert.ok(Number.isFinite(s.get("rope")!.low));
  const d = pairedDifference(rows, {
    metric: "long_retrieval_acc",
    step: 128,
    a: "yarn",
    b: "rope",
  });
  assert.ok(Number.isNaN(d.low));
  const text = compareSentence("YaRN", "RoPE", d, {
    quantity: "long-range retrieval",
    higherIsBetter: true,
    format: (x) => x.toFixed(2),
  });
  assert.match(text, /cannot be compared yet/);
  assert.doesNotMatch(text, /ahead/);
});

Deno.test("a cell at 0 of 100 is not known to be exactly 0 (Wilson bound); budgets must match", () => {
  const rng = testRng("boundary");
  const rows = [
    ...binaryRows("alibi", 128, [0, 1, 2, 3, 4], 100, 0, rng),
    ...binaryRows("yarn", 128, [0, 1, 2, 3, 4], 100, 0, rng),
    ...binaryRows("pi", 64, [0, 1, 2, 3, 4], 100, 0.5, rng),
    ...binaryRows("base", 0, [0], 100, 0, rng),
  ];
  const s = pairedSummary(rows, { metric: "long_retrieval_acc", step: 128 }).get("alibi")!;
  assert.equal(s.mean, 0);
  assert.ok(
    s.high > 0.03 && s.high < 0.05,
    `Wilson upper bound of 0/100 is about 0.037; got ${s.high}`,
  );
  const d = pairedDifference(rows, {
    metric: "long_retrieval_acc",
    step: 128,
    a: "alibi",
    b: "yarn",
  });
  assert.ok(d.low < 0 && d.high > 0, "two cells at 0 cannot be told apart, with a nonzero width");
  assert.throws(
    () =>
      pairedDifference(rows, { metric: "long_retrieval_acc", step: "final", a: "alibi", b: "pi" }),
    /compare fine-tunes at the same budget/,
  );
  const vsBase = pairedDifference(rows, {
    metric: "long_retrieval_acc",
    step: 128,
    a: "alibi",
    b: "base",
    bStep: 0,
  });
  assert.equal(vsBase.mean, 0);
});

Deno.test("t quantiles match tabulated values, fractional df included (not rounded)", () => {
  const table = [
    [1, 12.7062],
    [2, 4.3027],
    [3, 3.1824],
    [4, 2.7764],
    [5, 2.5706],
    [6, 2.4469],
    [10, 2.2281],
    [20, 2.0860],
    [29, 2.0452],
    [30, 2.0423],
    [1e9, 1.9600],
  ];
  for (const [df, t] of table) {
    const q = tQuantile(0.975, df);
    assert.ok(Math.abs(q - t) < 2e-4 * t, `df ${df}: ${q} vs ${t}`);
  }
  // Between whole df the quantile lies strictly between its neighbours: 1.6 df is not 2 df.
  const q16 = tQuantile(0.975, 1.6);
  assert.ok(q16 < 12.7062 && q16 > 4.3027 + 0.5, `df 1.6: ${q16}`);
  assert.ok(Math.abs(tQuantile(0.025, 4) + 2.7764) < 1e-3, "lower tail is the mirror image");
});
