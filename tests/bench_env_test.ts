import assert from "node:assert/strict";
import { parsePeerSpec } from "../src/bench/train_util.ts";
import {
  checkedAdapter,
  contextCells,
  csvField,
  intFlag,
  LOAD_LIMIT,
  loadNote,
  summarize,
  toCsv,
} from "../src/bench/env_util.ts";
import { describeAdapter } from "../src/backend.ts";

Deno.test("summarize: median of odd and even counts, range; empty refused", () => {
  assert.deepEqual(summarize([3, 1, 2]), { median: 2, min: 1, max: 3, n: 3 });
  assert.deepEqual(summarize([4, 1, 3, 2]), { median: 2.5, min: 1, max: 4, n: 4 });
  assert.throws(() => summarize([]), /at least one value/);
});

Deno.test("loadNote marks a run contaminated above the limit, before or after", () => {
  assert.equal(loadNote(0.2, LOAD_LIMIT), "");
  assert.match(loadNote(0.2, 3.1), /contaminated: load average 3.10 > 1.5/);
  assert.match(loadNote(2, 0.1), /contaminated/);
  assert.match(String(contextCells("unused: x (software)", 0, 9).at(-1)), /^contaminated/);
  assert.match(String(contextCells("llvmpipe (software)", 0, 0).at(-1)), /^software adapter$/);
});

Deno.test("CSV fields are quoted when needed; flags name themselves", () => {
  assert.equal(csvField('a "b", c'), '"a ""b"", c"');
  assert.equal(csvField(NaN), "");
  assert.equal(toCsv(["x", "y"], [[1, "a,b"]]), 'x,y\n1,"a,b"\n');
  assert.equal(intFlag("steps", "10", 1), 10);
  assert.throws(() => intFlag("steps", "0", 1), /--steps must be an integer >= 1; got "0"/);
});

Deno.test("a software WebGPU adapter is refused for timing unless allowed", async () => {
  const a = await describeAdapter();
  if (!a.available || !a.isFallbackAdapter) return; // only meaningful where the adapter is software
  await assert.rejects(checkedAdapter("webgpu", false), /software one.*--allow-software/);
  assert.equal((await checkedAdapter("webgpu", true)).isFallbackAdapter, true);
  assert.equal((await checkedAdapter("wasm", false)).isFallbackAdapter, true);
});

Deno.test("bench train --peer: attn[:chunk][@threads][+avx512][xprocs] parsed, bad entries name the form", () => {
  assert.deepEqual(parsePeerSpec("full"), {
    attn: "full",
    threads: 2,
    avx512: false,
    blas1: false,
    procs: 1,
  });
  assert.deepEqual(parsePeerSpec("chunked", 128), {
    attn: "chunked",
    chunk: 128,
    threads: 2,
    avx512: false,
    blas1: false,
    procs: 1,
  });
  assert.deepEqual(parsePeerSpec("chunked:64@1+avx512"), {
    attn: "chunked",
    chunk: 64,
    threads: 1,
    avx512: true,
    blas1: false,
    procs: 1,
  });
  assert.deepEqual(parsePeerSpec("chunked:64@1x2"), {
    attn: "chunked",
    chunk: 64,
    threads: 1,
    avx512: false,
    blas1: false,
    procs: 2,
  });
  assert.deepEqual(parsePeerSpec("chunked:64+blas1"), {
    attn: "chunked",
    chunk: 64,
    threads: 2,
    avx512: false,
    blas1: true,
    procs: 1,
  });
  assert.deepEqual(parsePeerSpec("full@1"), {
    attn: "full",
    threads: 1,
    avx512: false,
    blas1: false,
    procs: 1,
  });
  for (
    const bad of [
      "full:64",
      "chunked:0",
      "sdpa",
      "full@0",
      "chunked:64+avx2",
      "full@1x0",
      "fullx",
      "",
    ]
  ) {
    assert.throws(() => parsePeerSpec(bad), /--peer entries are full\|chunked/, bad);
  }
});

Deno.test("bench train rows: ours against the fastest peer's median; peers carry no ratio", async () => {
  const { summaryRows } = await import("../src/bench/train.ts");
  const { OtherCpu } = await import("../src/util/cpu_share.ts");
  const { getPreset } = await import("../src/model/presets.ts");
  const impl = (name: string) => ({ name, measure: () => Promise.resolve({ tps: 0, config: "" }) });
  const rows = summaryRows(getPreset("tiny"), {
    t: 256,
    batch: 16,
    impls: [
      impl("tfjs-wasm-2w"),
      impl("pytorch-full@2"),
      impl("pytorch-chunked:64@1x2"),
      impl("tfjs-wasm-1w"),
    ],
    tps: [[900, 1000, 1100], [500, 400, 600], [2000, 1900, 2100], []],
    configs: ["", "", "", ""],
    loads: [0.1, 0.2],
    other: new OtherCpu(),
  }, { steps: 3, warmup: 1, backend: "wasm", adapter: "", commit: "abc" });
  assert.equal(rows.length, 3, "an implementation never measured gives no row");
  const col = (name: string) => rows.find((r) => r[3] === name)!;
  assert.equal(col("tfjs-wasm-2w")[8], 1000, "median of the repeats");
  assert.equal(col("tfjs-wasm-2w")[11], 0.5, "1000 / the best peer's median 2000");
  assert.equal(col("pytorch-chunked:64@1x2")[11], "");
  // Per-repeat pairs: 900/2000, 1000/1900, 1100/2100.
  assert.deepEqual(col("tfjs-wasm-2w").slice(12, 14), [0.45, 0.526]);
  assert.deepEqual(col("pytorch-full@2").slice(12, 14), ["", ""]);
  assert.equal(col("tfjs-wasm-2w")[14], "900.0;1000.0;1100.0", "every repeat, in order");
});
