/**
 * Notebook 10's reading of the ablations (src/decision/ablations.ts): the PI near-range cost per s
 * is paired against the base model, the trend verdict follows the intervals, and a part that has
 * not run gives no rows (never a typed-in number).
 */
import assert from "node:assert/strict";
import {
  ablationFindings,
  piCell,
  piScaleCurve,
  piTrend,
  piTrendVerdict,
  withRopeControl,
} from "../src/decision/ablations.ts";
import type { SampleRow } from "../src/eval/results.ts";
import type { EvidenceDecision } from "../src/decision/evidence.ts";
import { realCaseAnswer, transferTable } from "../src/decision/transfer.ts";
import { COURSE_HEAD, FULL_SCALE_HEADS } from "../src/decision/full_scale.ts";
import { testRng } from "./seeded.ts";

/** near_bpb windows: base at 2.0 per window, PI at s costs `cost(s)` bits more, fine-tunes noisy. */
function rows(cost: (s: number) => number, seeds = [0, 1, 2]): SampleRow[] {
  const rng = testRng("ablations", 7);
  const difficulty = Array.from({ length: 40 }, () => rng.normal() * 0.3);
  const out: SampleRow[] = [];
  const push = (option: string, seed: number, step: number, shift: number) =>
    difficulty.forEach((d, sample) =>
      out.push({
        option,
        seed,
        step,
        metric: "near_bpb",
        setting: "ctx=64",
        sample,
        value: 2 + d + shift + rng.normal() * 0.01,
        offset: null,
        wording: "",
      })
    );
  push("base", 0, 0, 0);
  for (const [option, s] of [["pi_s2", 2], ["pi_s4", 4], ["pi", 8]] as const) {
    push(option, 0, 0, cost(s));
    for (const k of seeds) push(option, k, 16, cost(s) / 4 + rng.normal() * 0.01);
  }
  return out;
}

Deno.test("PI curve: cost relative to the base, paired; the trend verdict follows the intervals", () => {
  const grows = rows((s) => 0.1 * s);
  const curve = piScaleCurve(grows);
  assert.deepEqual(curve.map((p) => [p.s, p.when]), [
    [2, "step 0"],
    [2, "fine-tuned"],
    [4, "step 0"],
    [4, "fine-tuned"],
    [8, "step 0"],
    [8, "fine-tuned"],
  ]);
  const s8 = curve.find((p) => p.s === 8 && p.when === "step 0")!.nearCost;
  assert.ok(Math.abs(s8.mean - 0.4) < 0.02, `s = 8 costs 0.8 / 2.0 = 40%, got ${s8.mean}`);
  assert.equal(
    piTrendVerdict(piTrend(grows), "step 0"),
    "grows with s at every step measured",
  );
  const flat = rows(() => 0.2);
  assert.equal(
    piTrendVerdict(piTrend(flat), "step 0"),
    "cannot be told apart between any two factors",
  );
  // One fine-tune seed: no interval, so no verdict either way.
  assert.equal(
    piTrendVerdict(piTrend(rows((s) => 0.1 * s, [0])), "fine-tuned"),
    "cannot be told yet: a fine-tune with one seed has no interval",
  );
  assert.match(piTrend(flat)[0].sentence, /cannot be told apart/);
});

Deno.test("ablation findings: parts that have not run give no rows", () => {
  const f = ablationFindings(rows((s) => 0.1 * s));
  assert.equal(f.yarnMatched.length, 0);
  assert.equal(f.dynamicZero.length, 0);
  assert.equal(f.dynamicOnFinetuned.length, 0);
  assert.deepEqual(ablationFindings([]).pi, []);
});

Deno.test("real-case answer: confidence follows the margin's interval and the constraints", () => {
  const interval = (mean: number, low: number, high: number) => ({
    mean,
    low,
    high,
    seeds: 5,
    examples: 100,
  });
  const check = (pass: boolean, uncertain: boolean) => ({
    label: "near-range retrieval",
    pass,
    uncertain,
  });
  const decision = (passesAll: boolean, low: number, uncertain = true) =>
    ({
      recommended: "yarn",
      passesAll,
      verdicts: [{ option: "yarn", checks: [check(passesAll, uncertain)] }],
      margin: { b: "ntk", constraint: "long_range", interval: interval(0.2, low, 0.4) },
      rule: { constraints: [{ id: "long_range", label: "long-range retrieval" }] },
    }) as unknown as EvidenceDecision;
  const table = transferTable(COURSE_HEAD, FULL_SCALE_HEADS[0]);
  assert.equal(realCaseAnswer(decision(true, 0.1), table, []).confidence, "high");
  const moderate = realCaseAnswer(decision(false, 0.1), table, []);
  assert.equal(moderate.confidence, "moderate");
  assert.match(moderate.measured, /fails near-range retrieval/);
  const clear = realCaseAnswer(decision(false, 0.1, false), table, []);
  assert.equal(clear.confidence, "low", "a clear failure caps the confidence");
  assert.match(clear.recommendation, /clearly fails a constraint/);
  const low = realCaseAnswer(decision(true, -0.1), table, []);
  assert.equal(low.confidence, "low");
  assert.match(low.measured, /cannot be told apart from the runner-up `ntk`/);
  assert.match(low.recommendation, /inside the noise/);
});

Deno.test("piCell: a one-seed fine-tune has no interval and says so", () => {
  const p = piScaleCurve(rows((s) => 0.1 * s, [0])).find((x) => x.when === "fine-tuned")!;
  assert.match(piCell(p), /\(1 seed: no interval\)$/);
});

Deno.test("withRopeControl: the main run's fine-tuned rope joins only when the base rows agree", () => {
  const abl = rows((s) => 0.1 * s, [0, 1]);
  const rope = abl.filter((r) => r.option === "pi_s2" && r.step > 0).map((r) => ({
    ...r,
    option: "rope",
  }));
  const main = [...abl.filter((r) => r.option === "base"), ...rope, { ...rope[0], seed: 7 }];
  const merged = withRopeControl(abl, main);
  assert.equal(
    merged.filter((r) => r.option === "rope").length,
    rope.length,
    "seed 7 is not an ablation seed",
  );
  assert.ok(piTrend(merged).some((l) => l.label === "s = 2 - s = 1 (fine-tuned)"));
  const otherBase = main.map((r) => r.option === "base" ? { ...r, value: r.value! + 1 } : r);
  assert.equal(withRopeControl(abl, otherBase).length, abl.length, "another base: nothing joins");
});
