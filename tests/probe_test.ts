import assert from "node:assert/strict";
import { initBackend } from "../src/backend.ts";
import {
  attentionMap,
  baseCheckpointPath,
  captureQK,
  loadBaseModel,
  meanQK,
  scoreCurve,
} from "../src/eval/probe.ts";
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
