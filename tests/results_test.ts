import assert from "node:assert/strict";
import {
  formatMetricsCsv,
  METRIC_COLUMNS,
  type MetricRow,
  parseMetricsCsv,
  parseSetting,
  readMetrics,
  summarizeRows,
  writeMetrics,
} from "../src/eval/results.ts";
import { loadMetrics, metricsFrame, summarize } from "../src/eval/results_frame.ts";

/** A tiny synthetic results table: base + one option, two seeds, two eval steps. */
function synthetic(): MetricRow[] {
  const c = { commit: "abc123", command: 'deno task retrofit --preset tiny --note "a,b"' };
  const rows: MetricRow[] = [
    {
      option: "base",
      seed: 0,
      step: 0,
      metric: "near_bpb",
      setting: "ctx=64;offset<=16",
      value: 2.5,
      n: 640,
      ...c,
    },
    {
      option: "base",
      seed: 0,
      step: 0,
      metric: "long_passkey_acc",
      setting: "ctx=512;depth=0.5",
      value: 0,
      n: 10,
      ...c,
    },
  ];
  for (const seed of [0, 1]) {
    for (const step of [0, 10]) {
      rows.push(
        {
          option: "pi",
          seed,
          step,
          metric: "near_bpb",
          setting: "ctx=64;offset<=16",
          value: 2.4 + seed * 0.1 - step * 0.01,
          n: 640,
          ...c,
        },
        {
          option: "pi",
          seed,
          step,
          metric: "long_passkey_acc",
          setting: "ctx=512;depth=0",
          value: step ? 0.5 + 0.1 * seed : 0,
          n: 10,
          ...c,
        },
        {
          option: "pi",
          seed,
          step,
          metric: "long_passkey_acc",
          setting: "ctx=512;depth=1",
          value: step ? 0.9 : 0,
          n: 10,
          ...c,
        },
      );
    }
    rows.push(
      {
        option: "pi",
        seed,
        step: 10,
        metric: "steps_to_threshold",
        setting: "threshold=0.8",
        value: seed ? null : 10,
        n: 1,
        ...c,
      },
    );
  }
  return rows;
}

Deno.test("metrics.csv: exact header, round trip with quoting and empty values", () => {
  const rows = synthetic();
  const text = formatMetricsCsv(rows);
  assert.equal(text.split("\n")[0], "option,seed,step,metric,setting,value,n,commit,command");
  assert.deepEqual([...METRIC_COLUMNS], text.split("\n")[0].split(","));
  assert.deepEqual(parseMetricsCsv(text), rows);
  assert.throws(() => parseMetricsCsv("a,b\n1,2\n"), TypeError);
  assert.throws(() => parseMetricsCsv(text.replace("near_bpb", "nope")), TypeError);
});

Deno.test("loadMetrics reads a written file as a polars frame with the schema columns", async () => {
  const dir = await Deno.makeTempDir();
  await writeMetrics(`${dir}/metrics.csv`, synthetic());
  const df = await loadMetrics("tiny", { path: `${dir}/metrics.csv` });
  assert.deepEqual(df.columns, [...METRIC_COLUMNS]);
  assert.equal(df.height, synthetic().length);
  assert.equal(df.getColumn("value").nullCount(), 1);
  // The plain rows say the same, and summarise the same.
  const rows = await readMetrics(`${dir}/metrics.csv`);
  assert.deepEqual(rows, synthetic());
  assert.deepEqual(summarizeRows(rows, { resamples: 100 }), summarizeRows(df, { resamples: 100 }));
  await Deno.remove(dir, { recursive: true });
});

Deno.test("the decision path runs without the polars add-on (as in the grading sandbox)", async () => {
  // nodejs-polars needs --allow-sys at load: run the decision path without it (like the sandbox).
  const root = new URL("..", import.meta.url);
  const probe = (imports: string, body: string) => `${imports}\n${body}`;
  const src = (p: string) => new URL(p, root).href;
  const run = async (code: string) => {
    const dir = await Deno.makeTempDir();
    await Deno.writeTextFile(`${dir}/probe.ts`, code);
    const out = await new Deno.Command(Deno.execPath(), {
      args: [
        "run",
        "--no-prompt",
        "--allow-read",
        "--allow-env",
        `--config=${new URL("deno.json", root).pathname}`,
        `${dir}/probe.ts`,
      ],
      cwd: root.pathname,
      stdout: "piped",
      stderr: "piped",
    }).output();
    await Deno.remove(dir, { recursive: true });
    return {
      code: out.code,
      stdout: new TextDecoder().decode(out.stdout),
      stderr: new TextDecoder().decode(out.stderr),
    };
  };
  const ok = await run(probe(
    `import { loadDecisionInputs } from "${src("src/decision/inputs.ts")}";
     import { decide } from "${src("src/decision/rule.ts")}";
     import { summarizeRows } from "${src("src/eval/results.ts")}";`,
    `const inputs = await loadDecisionInputs({ dir: "assets/results/tiny" });
     const d = decide(summarizeRows(inputs.metrics, { resamples: 50 }), { preset: inputs.preset });
     console.log(JSON.stringify({ recommended: d.recommended, rows: inputs.metrics.length }));`,
  ));
  assert.equal(ok.code, 0, ok.stderr);
  const r = JSON.parse(ok.stdout.trim().split("\n").at(-1)!);
  assert.ok(r.rows > 0 && typeof r.recommended === "string");
  // The probe can fail: the DataFrame module does load polars, and is refused the same way.
  const refused = await run(probe(
    `import { loadMetrics } from "${src("src/eval/results_frame.ts")}";`,
    `console.log((await loadMetrics("tiny")).height);`,
  ));
  assert.notEqual(refused.code, 0);
  assert.match(refused.stderr, /allow-sys/);
});

Deno.test("summarize: final step per option, mean over seeds, CI brackets the mean", () => {
  const df = metricsFrame(synthetic());
  const rows = summarizeRows(df, { resamples: 500 });
  const pass = rows.find((r) => r.option === "pi" && r.metric === "long_passkey_acc")!;
  assert.equal(pass.step, 10);
  assert.equal(pass.setting, "*");
  assert.ok(Math.abs(pass.mean! - (0.7 + 0.75) / 2) < 1e-12);
  assert.ok(pass.ci_low! <= pass.mean! && pass.mean! <= pass.ci_high!);
  assert.ok(pass.ci_high! > pass.ci_low!, "accuracy CI includes sampling noise");
  assert.equal(pass.n, 40);
  const base = rows.find((r) => r.option === "base" && r.metric === "near_bpb")!;
  assert.equal(base.step, 0);
  assert.equal(base.mean, 2.5);
  const thr = rows.find((r) => r.metric === "steps_to_threshold")!;
  assert.equal(thr.seeds, 1);
  assert.equal(thr.missing, 1);
  assert.equal(thr.mean, 10);
  const by = summarizeRows(df, { bySetting: true, resamples: 100 });
  assert.equal(by.filter((r) => r.option === "pi" && r.metric === "long_passkey_acc").length, 2);
  const frame = summarize(df, { resamples: 100 });
  assert.deepEqual(frame.columns, [
    "option",
    "metric",
    "setting",
    "step",
    "mean",
    "ci_low",
    "ci_high",
    "seeds",
    "missing",
    "n",
  ]);
  assert.equal(rows[0].option, "base");
});

Deno.test("parseSetting splits key=value pairs", () => {
  assert.deepEqual(parseSetting("ctx=2048;depth=0.5"), { ctx: "2048", depth: "0.5" });
  assert.deepEqual(parseSetting("ctx=64;offset<=16"), { ctx: "64", offset: "16" });
  assert.deepEqual(parseSetting(""), {});
});
