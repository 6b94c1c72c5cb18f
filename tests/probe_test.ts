import assert from "node:assert/strict";
import { initBackend } from "../src/backend.ts";
import {
  attentionMap,
  bandBits,
  baseCheckpointPath,
  captureQK,
  loadBaseModel,
  meanQK,
  scoreCurve,
  t5TableGradient,
} from "../src/eval/probe.ts";
import { loadCorpus } from "../src/data/corpus.ts";
import { convert, T5_TABLE } from "../src/retrofit/registry.ts";
import { exists } from "../src/util/files.ts";
import { getPreset } from "../src/model/presets.ts";
import { ropeInvFreq, ropeRotate } from "../src/positions/rope.ts";

Deno.test("probe: captured q/k, score against offset and attention maps agree with the math", async () => {
  await initBackend({ backend: "cpu" });
  const preset = getPreset("tiny");
  const base = await loadBaseModel(preset);
  // The shipped tiny checkpoint when there is one, else a seeded model stands in.
  assert.equal(base.shipped, await exists(baseCheckpointPath("tiny")));
  const tokens = Array.from({ length: 24 }, (_, i) => (i * 37) % 256);
  const qk = captureQK(base.config, base.weights, tokens, 1);
  const d = qk.headDim, T = qk.tokens;
  const { invFreq } = ropeInvFreq(d, base.config.ropeBase, { type: "default" });
  const at = (a: Float32Array, h: number, t: number) =>
    a.subarray((h * T + t) * d, (h * T + t + 1) * d);
  const rotated = ropeRotate(at(qk.q, 1, 9), invFreq, 9);
  rotated.forEach((v, j) => assert.ok(Math.abs(v - at(qk.qRotated, 1, 9)[j]) < 1e-4));
  // the score curve of (q, k) at offset 5 is the dot product of q at 12 and k at 7, over sqrt(d)
  const pair = { q: Array.from(at(qk.q, 0, 3)), k: Array.from(at(qk.k, 0, 4)) };
  const want = ropeRotate(pair.q, invFreq, 12).reduce(
    (s, v, j) => s + v * ropeRotate(pair.k, invFreq, 7)[j],
    0,
  ) / Math.sqrt(d);
  assert.ok(Math.abs(scoreCurve(pair, invFreq, [5])[0] - want) < 1e-9);
  assert.equal(meanQK(qk, 0).q.length, d);
  const { map, queries } = attentionMap(qk, 0, { rows: 4, cols: 6, bias: (i, j) => -(i - j) });
  assert.deepEqual(queries, [5, 11, 17, 23]);
  for (const row of map) assert.ok(Math.abs(row.reduce((s, v) => s + v, 0) - 1) < 1e-9);
  assert.throws(() => captureQK(base.config, base.weights, tokens, 9), /layer must be an integer/);
  assert.throws(() => meanQK(qk, 7), /head must be an integer in \[0, 1\]/);
});

Deno.test("probe: the T5 table's gradient follows attention; band losses are per window", async () => {
  await initBackend({ backend: "cpu" });
  const preset = getPreset("tiny");
  const base = await loadBaseModel(preset);
  const tokens = Array.from({ length: 65 }, (_, i) => (i * 37) % 256);
  const H = base.config.numHeads;
  // an ALiBi-shaped start so steep that head 0 never looks past distance 1: its far buckets
  // get exactly no gradient, while a zero table gives every bucket some
  const steep = convert("t5", base.config, base.weights, { targetLength: 64, numBuckets: 8 });
  const table = steep.weights.get(T5_TABLE)!;
  const data = Float32Array.from(table.data, (v, i) => (i % H === 0 ? 1000 * v : v));
  steep.weights.set(T5_TABLE, { ...table, data });
  const g = t5TableGradient(steep.config, steep.weights, tokens);
  assert.equal(g.length, 8 * H);
  assert.equal(g[7 * H], 0, "head 0, last bucket: no attention, no gradient");
  const zero = convert("t5", base.config, base.weights, {
    targetLength: 64,
    numBuckets: 8,
    t5Init: "zero",
  });
  const gz = t5TableGradient(zero.config, zero.weights, tokens);
  assert.ok(Math.abs(gz[7 * H]) > 0, "a zero table: the last bucket learns");
  assert.throws(() => t5TableGradient(base.config, base.weights, tokens), /t5 positions/);
  const { heldOut } = await loadCorpus();
  const bands = [{ name: "a", from: 0, to: 8 }, { name: "b", from: 8, to: 16 }];
  const res = bandBits(base.config, base.weights, heldOut, { seqLen: 16, windows: 2, bands });
  assert.deepEqual(res.map((b) => [b.name, b.perWindow.length]), [["a", 2], ["b", 2]]);
  assert.ok(res.every((b) => b.perWindow.every((v) => v > 0 && Number.isFinite(v))));
  assert.throws(
    () =>
      bandBits(base.config, base.weights, heldOut, {
        seqLen: 16,
        windows: 1,
        bands: [{ name: "x", from: 8, to: 20 }],
      }),
    /band x must lie in/,
  );
});
