/**
 * Question (ii) read from native ALiBi / T5 models (src/decision/native.ts): native rows pair with
 * the main run's examples (another plan is refused), the comparisons have the right signs, and the
 * verdict follows the intervals and the L0 check.
 */
import assert from "node:assert/strict";
import {
  accuracyByOffset,
  binnedPositions,
  lengthVerdict,
  nativeFindings,
  nativeLevelRows,
  nativeVerdict,
  parseOffsetRows,
  withNative,
} from "../src/decision/native.ts";
import type { MetricName, SampleRow } from "../src/eval/results.ts";
import { testRng } from "./seeded.ts";

const N = 60;

/** 0/1 retrieval rows: example e is correct when its uniform draw is below `p`. */
function acc(
  option: string,
  metric: MetricName,
  p: number,
  seeds: number[],
  step: number,
  rng: ReturnType<typeof testRng>,
): SampleRow[] {
  return seeds.flatMap((seed) =>
    Array.from({ length: N }, (_, sample) => ({
      option,
      seed,
      step,
      metric,
      setting: "ctx=2048",
      sample,
      value: rng.next() < p ? 1 : 0,
      offset: null,
      wording: "training",
    }))
  );
}

function main(rng: ReturnType<typeof testRng>): SampleRow[] {
  return [
    ...acc("base", "near_retrieval_acc", 0.95, [0], 0, rng),
    ...acc("base", "long_retrieval_acc", 0.02, [0], 0, rng),
    ...acc("alibi", "long_retrieval_acc", 0.05, [0], 0, rng),
    ...acc("alibi", "long_retrieval_acc", 0.1, [0, 1, 2], 128, rng),
  ];
}

Deno.test("native rows are relabelled and paired; a native model that extrapolates is told so", () => {
  const rng = testRng("native", 1);
  const m = main(rng);
  const native = [
    ...acc("base", "near_retrieval_acc", 0.95, [0], 0, rng),
    ...acc("base", "long_retrieval_acc", 0.9, [0], 0, rng),
  ];
  const all = withNative(m, { alibi: native });
  assert.equal(all.filter((r) => r.option === "native_alibi").length, 2 * N);
  const [f] = nativeFindings(all, 0.5);
  assert.equal(f.family, "alibi");
  const long = f.lines.filter((l) => l.label.includes("long-range"));
  assert.equal(long.length, 3, "against the base, the swap at step 0 and the swap fine-tuned");
  for (const l of long) {
    assert.ok(l.interval.low > 0, `${l.label}: native ahead (${l.interval.low})`);
  }
  assert.match(long[2].sentence, /native alibi is ahead of alibi swapped in \(fine-tuned\)/);
  assert.equal(long[2].interval.seeds, 3, "the fine-tuned side brings its seeds");
  assert.match(f.verdict, /reaches the long band/);
});

Deno.test("native verdict: no retrieval at L0 is reported as such, not as a failure to extrapolate", () => {
  const i = (mean: number, low: number, high: number) => ({
    mean,
    low,
    high,
    seeds: 1,
    examples: N,
  });
  assert.match(
    nativeVerdict("t5", i(0.05, 0, 0.12), i(0, 0, 0.06), 0.5),
    /did not learn retrieval even within L0/,
  );
  assert.match(
    nativeVerdict("t5", i(0.95, 0.9, 1), i(0.1, 0.03, 0.2), 0.5),
    /does not reach the long band/,
  );
  assert.match(
    nativeVerdict("t5", i(0.95, 0.9, 1), i(0.5, 0.38, 0.62), 0.5),
    /straddles the bound/,
  );
  assert.match(
    nativeVerdict("t5", i(0.45, 0.32, 0.58), i(0.02, 0, 0.06), 0.5),
    /retrieval within L0 is itself uncertain/,
    "a near interval holding the bound is no basis for 'does not extrapolate'",
  );
  assert.match(
    nativeVerdict("t5", i(0.95, 0.9, 1), i(0.9, 0.8, 0.97), 0.5),
    /one pretraining seed/,
  );
  assert.match(nativeVerdict("t5", undefined, undefined, 0.5), /pending/);
});

Deno.test("a native folder scored on other examples is refused, naming the family", () => {
  const rng = testRng("native", 2);
  const m = main(rng);
  const other = acc("base", "near_retrieval_acc", 0.9, [0], 0, rng).map((r) => ({
    ...r,
    setting: "ctx=999",
  }));
  assert.throws(() => withNative(m, { t5: other }), /native t5: its examples differ/);
  assert.deepEqual(nativeFindings(withNative(m, {}), 0.5), [], "no native rows: no findings");
});

Deno.test("level table: base, native, swap at step 0 and fine-tuned, each from its own cell", () => {
  const rng = testRng("native", 3);
  const native = [
    ...acc("base", "near_retrieval_acc", 0.95, [0], 0, rng),
    ...acc("base", "long_retrieval_acc", 0.9, [0], 0, rng),
  ];
  const rows = nativeLevelRows(withNative(main(rng), { alibi: native }));
  assert.deepEqual(rows.map((r) => r.model), [
    "RoPE base (no fine-tune)",
    "native alibi (no fine-tune)",
    "alibi swapped in, step 0",
    "alibi swapped in, fine-tuned",
  ]);
  assert.match(rows[3]["long-range retrieval"], /\(3 seeds\)$/);
  assert.equal(rows[2]["near-range retrieval"], "", "no near rows for the swap: empty, not zero");
});

Deno.test("bits/byte by position: binned means; a bad bin or header is refused", () => {
  const csv = "position,bits_per_byte\n0,1\n1,3\n2,5\n";
  assert.deepEqual(binnedPositions(csv, 2), [{ x: 0.5, y: 2 }, { x: 2, y: 5 }]);
  assert.throws(() => binnedPositions(csv, 0), /bin must be an integer >= 1/);
  assert.throws(() => binnedPositions("a,b\n", 2), /position,bits_per_byte/);
});

Deno.test("native model card: every number read from the curves and the report", async () => {
  const { nativeCard, offsetRanges, stageSummary, STAGES } = await import(
    "../src/tools/native_card.ts"
  );
  const curve = (steps: number, secs: number) =>
    `step,loss,lr,grad_norm,tokens,elapsed_s\n1,5.5,1e-4,1,4096,1.0\n${steps},1.234,1e-4,1,8192,${secs}\n`;
  assert.deepEqual(stageSummary(curve(700, 1400.4)), { steps: 700, loss: 1.234, seconds: 1400.4 });
  assert.throws(() => stageSummary("step,loss\n"), /no rows|lacks the column/);
  const curves = Object.fromEntries(STAGES.map((id, i) => [id, curve(100 * (i + 1), 1000 + i)]));
  const report = {
    checkpoint: "x",
    step: "400",
    contextLength: 256,
    heldOutBitsPerByte: 2.111,
    heldOutBytes: 16384,
    unigramBitsPerByte: 4.429,
    passkeyAccuracyUpToL0: 0.75,
    passkeyMinAccuracyUpToL0: 0.5,
    multiKeyAccuracyAtL0: 0.1,
    passkeyAccuracyAtL0ByWording: { canonical: 1, varied: 0.9, heldout: 0, heldout_tail: 0.8 },
    passkeyAccuracyAt8xL0: 0.6,
    passkeyAccuracyAt8xL0BeyondL0: 0.5,
    bitsPerByteAt8xL0: { belowL0: 2.2, beyondL0: 2.3 },
    evalSeconds: 100,
  };
  const offsets = offsetRanges(
    "kind,length,offset,correct,total,accuracy\npasskey,256,80,1,1,1\npasskey,256,232,1,1,1\npasskey,2048,80,0,1,0\npasskey,2048,2024,0,1,0\n",
  );
  const card = nativeCard("t5", curves, report, 5413, {
    type: "t5",
    numBuckets: 32,
    maxDistance: 99,
  }, offsets);
  assert.match(
    card,
    /32 buckets, maxDistance 99/,
    "the bucket setting read from the model's config",
  );
  assert.match(card, /passkey at L0, offsets 80-232/);
  assert.match(card, /offsets 80-2024 \(beyond L0 only\) \| 60\.0% \(50\.0%\)/);
  assert.match(card, /bits\/byte at L0 \| 2\.111/);
  assert.match(
    card,
    /Wall time 6,015 s of one core \(the RoPE base: 5,413 s\)/,
    "1000 + ... + 1005",
  );
  assert.match(card, /\| 3d \| 600 \| 1\.234 \| 1005 s \|/);
  assert.match(card, /1\.00 \/ 0\.90 \/ 0\.00 \/ 0\.80/);
});

Deno.test("length verdict: short offsets inside 8 x L0 prompts and bits/byte past L0, kept apart from reach", () => {
  const csv = (ok: number) =>
    "kind,length,offset,correct,total,accuracy\n" +
    [80, 128, 232].map((o) => `passkey,2048,${o},${ok},10,${ok / 10}`).join("\n") +
    "\npasskey,2048,2024,0,10,0\npasskey,256,80,10,10,1\n";
  const alibi = lengthVerdict(
    "alibi",
    parseOffsetRows(csv(10)),
    { belowL0: 2.37, beyondL0: 2.27 },
    256,
    0.5,
    0.02,
  );
  assert.equal(alibi.retrieval.examples, 30, "offsets <= L0 at 8 x L0 only");
  assert.match(alibi.verdict, /extrapolates in length: .*30\/30/);
  const t5 = lengthVerdict(
    "t5",
    parseOffsetRows(csv(0)),
    { belowL0: 2.53, beyondL0: 3.64 },
    256,
    0.5,
    0.02,
  );
  assert.match(t5.verdict, /does not extrapolate in length/);
  const mixed = lengthVerdict(
    "t5",
    parseOffsetRows(csv(10)),
    { belowL0: 2.53, beyondL0: 3.64 },
    256,
    0.5,
    0.02,
  );
  assert.match(mixed.verdict, /only in part/);
  assert.throws(() => parseOffsetRows("a,b\n1,2"), /lacks the column "kind"/);
});

Deno.test("accuracy by offset bin, and duplicated native rows are refused", () => {
  const row = (sample: number, offset: number, value: number): SampleRow => ({
    option: "native_t5",
    seed: 0,
    step: 0,
    metric: "long_retrieval_acc",
    setting: "s",
    sample,
    value,
    offset,
    wording: "w",
  });
  const rows = [row(0, 640, 0), row(1, 700, 0), row(2, 1800, 1), row(3, 1919, 1)];
  const bins = accuracyByOffset(rows, "native_t5", "long_retrieval_acc", 2);
  assert.deepEqual(bins.map((b) => [b.k, b.n]), [[0, 2], [2, 2]]);
  assert.equal(bins[0].from, 640);
  const main = rows.map((r) => ({ ...r, option: "base" }));
  const dup = [main[0], main[0], main[2], main[3]];
  assert.throws(() => withNative(main, { t5: dup }), /4 rows, 3 distinct/);
});

Deno.test("native provenance: the folder must pin the family's own checkpoint", async () => {
  const { nativeProvenance } = await import("../src/decision/real_case.ts");
  const dir = await Deno.makeTempDir();
  const tiny = new URL("../assets/checkpoints/tiny/model.safetensors", import.meta.url).pathname;
  assert.match(await nativeProvenance("alibi", dir, tiny) ?? "", /not made by the pipeline/);
  await Deno.mkdir(`${dir}/runs`);
  await Deno.writeTextFile(`${dir}/runs/base.sha256`, "0".repeat(64));
  assert.match(await nativeProvenance("alibi", dir, tiny) ?? "", /is a rope model, not alibi/);
  assert.match(await nativeProvenance("t5", dir, `${dir}/none`) ?? "", /no readable checkpoint/);
  // The shipped native model and its folder agree; the other family's folder does not.
  const root = new URL("../assets/", import.meta.url).pathname;
  const alibi = `${root}checkpoints/course/native_alibi/model.safetensors`;
  assert.equal(
    await nativeProvenance("alibi", `${root}results/course_ablations/native_alibi`, alibi),
    null,
  );
  assert.match(
    await nativeProvenance("alibi", `${root}results/course_ablations/native_t5`, alibi) ?? "",
    /evaluated on another checkpoint/,
  );
  await Deno.remove(dir, { recursive: true });
});
