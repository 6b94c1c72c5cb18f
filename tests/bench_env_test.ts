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

Deno.test("bench train --peer: attn[:chunk][@threads][+avx512] parsed, bad entries name the form", () => {
  assert.deepEqual(parsePeerSpec("full"), { attn: "full", threads: 2, avx512: false });
  assert.deepEqual(parsePeerSpec("chunked", 128), {
    attn: "chunked",
    chunk: 128,
    threads: 2,
    avx512: false,
  });
  assert.deepEqual(parsePeerSpec("chunked:64@1+avx512"), {
    attn: "chunked",
    chunk: 64,
    threads: 1,
    avx512: true,
  });
  assert.deepEqual(parsePeerSpec("full@1"), { attn: "full", threads: 1, avx512: false });
  for (const bad of ["full:64", "chunked:0", "sdpa", "full@0", "chunked:64+avx2", ""]) {
    assert.throws(() => parsePeerSpec(bad), /--peer entries are full\|chunked/, bad);
  }
});
