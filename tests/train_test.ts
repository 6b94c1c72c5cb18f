import assert from "node:assert/strict";
import * as tf from "@tensorflow/tfjs";
import { initBackend } from "../src/backend.ts";
import { loadCorpus } from "../src/data/corpus.ts";
import { learningRate } from "../src/train/schedule.ts";
import { AdamW, clipByGlobalNorm } from "../src/train/adamw.ts";
import { mixtureBatch } from "../src/train/mixture.ts";
import { readCurve, train } from "../src/train/trainer.ts";
import { decode } from "../src/data/tokenizer.ts";

await initBackend({ backend: "wasm" });
const corpus = await loadCorpus();
const quiet = () => {};

Deno.test("schedule: warmup, peak, cosine to the floor", () => {
  const o = { peak: 1e-3, warmupSteps: 10, totalSteps: 110, minRatio: 0.1 };
  assert.ok(Math.abs(learningRate(0, o) - 1e-4) < 1e-12);
  assert.ok(Math.abs(learningRate(9, o) - 1e-3) < 1e-12);
  assert.ok(Math.abs(learningRate(10, o) - 1e-3) < 1e-12);
  assert.ok(Math.abs(learningRate(60, o) - 0.55e-3) < 1e-9);
  assert.ok(Math.abs(learningRate(110, o) - 1e-4) < 1e-12);
  assert.ok(Math.abs(learningRate(500, o) - 1e-4) < 1e-12);
  for (let s = 11; s < 110; s++) assert.ok(learningRate(s, o) <= learningRate(s - 1, o));
  assert.throws(() => learningRate(-1, o), /step must be/);
  assert.throws(() => learningRate(0, { ...o, peak: 0 }), /peak must be > 0/);
});

Deno.test("global-norm clipping and one AdamW step match hand computation", () => {
  const g = new Map<string, tf.Tensor>([["a", tf.tensor1d([3, 0])], ["b", tf.tensor1d([4])]]);
  const { grads, norm } = clipByGlobalNorm(g, 1);
  assert.ok(Math.abs(norm - 5) < 1e-6);
  assert.deepEqual([...grads.get("a")!.dataSync()].map((x) => +x.toFixed(6)), [0.6, 0]);
  assert.equal(clipByGlobalNorm(g, 10).grads, g);
  const p = new Map([["w", tf.variable(tf.tensor1d([1, -2]))]]);
  const opt = new AdamW(p, { weightDecay: 0.5, beta1: 0.9, beta2: 0.99, eps: 0 });
  opt.apply(new Map([["w", tf.tensor1d([0.1, -3])]]), 0.1);
  // First step: m_hat/sqrt(v_hat) = sign(g); decoupled decay multiplies by (1 - lr*wd).
  const w = p.get("w")!.dataSync();
  assert.ok(Math.abs(w[0] - (1 * 0.95 - 0.1)) < 1e-6);
  assert.ok(Math.abs(w[1] - (-2 * 0.95 + 0.1)) < 1e-6);
});

Deno.test("mixture: deterministic per step, task rows end with the answer", () => {
  const o = { batch: 6, seqLen: 256, seed: 3, taskFraction: 0.5 };
  const a = mixtureBatch(corpus.train, o, 5), b = mixtureBatch(corpus.train, o, 5);
  assert.deepEqual(a.tokens, b.tokens);
  assert.notDeepEqual(a.tokens, mixtureBatch(corpus.train, o, 6).tokens);
  const all = mixtureBatch(corpus.train, { ...o, taskFraction: 1 }, 0);
  assert.equal(all.taskRows, 6);
  for (let r = 0; r < 6; r++) {
    const row = decode(all.tokens.subarray(r * 257, (r + 1) * 257));
    assert.match(row, /pass key is \d{5}$/);
    assert.equal(all.weights[r * 256 + 255], 4);
    assert.equal(all.weights[r * 256 + 250], 1);
  }
});

Deno.test("tiny preset: loss decreases", async () => {
  const dir = await Deno.makeTempDir();
  const r = await train({
    preset: "tiny",
    steps: 40,
    batch: 8,
    lr: 3e-3,
    outDir: dir,
    corpus,
    log: quiet,
  });
  const first = r.curve.slice(0, 5).reduce((s, x) => s + x.loss, 0) / 5;
  const last = r.curve.slice(-5).reduce((s, x) => s + x.loss, 0) / 5;
  assert.ok(last < first - 1, `loss ${first} -> ${last}`);
  assert.equal((await readCurve(`${dir}/curve.csv`)).length, 40);
  r.model.dispose();
  await Deno.remove(dir, { recursive: true });
});

Deno.test("resume gives the same weights as not stopping; mismatched resume is refused", async () => {
  const a = await Deno.makeTempDir(), b = await Deno.makeTempDir();
  const base = { preset: "tiny", steps: 8, batch: 4, corpus, log: quiet, checkpointEvery: 3 };
  const straight = await train({ ...base, outDir: a });
  const part = await train({ ...base, outDir: b, stopAfter: 5 });
  assert.equal(part.stepsDone, 5);
  part.model.dispose();
  const resumed = await train({ ...base, outDir: b });
  assert.equal(resumed.resumedFrom, 5);
  assert.equal(resumed.stepsDone, 8);
  const wa = straight.model.weights(), wb = resumed.model.weights();
  for (const [k, v] of wa) assert.deepEqual(wb.get(k)!.data, v.data, k);
  assert.deepEqual(
    resumed.curve.map((r) => r.loss.toFixed(6)), // rows before the stop come from the CSV
    straight.curve.map((r) => r.loss.toFixed(6)),
  );
  await assert.rejects(
    train({ ...base, outDir: b, batch: 5 }),
    /run options differ \(batch: 4 vs 5\)/,
  );
  straight.model.dispose();
  resumed.model.dispose();
  await Deno.remove(a, { recursive: true });
  await Deno.remove(b, { recursive: true });
});

Deno.test("mixture copy rows: a span repeats later, its copyable bytes weighted", () => {
  const o = { batch: 32, seqLen: 256, seed: 4, taskFraction: 0.3, copyFraction: 0.4 };
  const m = mixtureBatch(corpus.train, o, 2);
  let copyRows = 0;
  for (let r = 0; r < 32; r++) {
    const w = m.weights.subarray(r * 256, (r + 1) * 256);
    const all = [...w.keys()].filter((i) => w[i] === 4);
    if (all.length === 0 || all.at(-1) === 255) continue; // none, or a passkey row
    copyRows++;
    const row = m.tokens.subarray(r * 257, (r + 1) * 257);
    const idx = all.filter((i) => i < 85); // the first of the three repeats
    // The weighted targets are the repeat's bytes (from its 5th on): the whole repeat equals an
    // earlier stretch of the row, `shift` bytes back.
    const start = idx[0] + 1, end = idx.at(-1)! + 2;
    const shift = [...Array(start + 1).keys()].slice(8).find((d) =>
      row.subarray(start - d, end - d).every((v, k) => v === row[start + k])
    );
    assert.ok(shift !== undefined, `row ${r}: no earlier copy found`);
  }
  assert.ok(copyRows >= 6 && copyRows <= 22, `copy rows ${copyRows}`);
  assert.equal(m.taskRows + copyRows <= 32, true);
  // copyFraction 0 keeps the default batches unchanged.
  const base = { batch: 6, seqLen: 256, seed: 3, taskFraction: 0.5 };
  assert.deepEqual(
    mixtureBatch(corpus.train, { ...base, copyFraction: 0 }, 5).tokens,
    mixtureBatch(corpus.train, base, 5).tokens,
  );
  assert.throws(
    () => mixtureBatch(corpus.train, { ...base, copyFraction: 0.6 }, 0),
    /copyFraction/,
  );
});

Deno.test("mixture one-string copy rows: digits, distance within copyMaxDistance", () => {
  const seqLen = 128, maxD = 40;
  const o = { batch: 40, seqLen, seed: 9, taskFraction: 0, copyFraction: 1, answerWeight: 10 };
  const m = mixtureBatch(corpus.train, { ...o, copyMaxDistance: maxD, copyDigits: true }, 1);
  const isDigit = (b: number) => b >= 48 && b <= 57;
  for (let r = 0; r < o.batch; r++) {
    const row = m.tokens.subarray(r * (seqLen + 1), (r + 1) * (seqLen + 1));
    const w = m.weights.subarray(r * seqLen, (r + 1) * seqLen);
    const weighted = [...w.keys()].filter((i) => w[i] === 10);
    // Targets i predict byte i + 1: the second copy is bytes first..last+1, 5-8 digits long.
    const first = weighted[0], last = weighted.at(-1)! + 1;
    const span = last - first + 1;
    assert.ok(span >= 5 && span <= 8, `row ${r}: span ${span}`);
    assert.equal(weighted.length, span - 1, `row ${r}: contiguous weights`);
    const copy = row.subarray(first, last + 1);
    assert.ok(copy.every(isDigit), `row ${r}: a digit string`);
    const dist = [...Array(maxD + 1).keys()].slice(span).find((d) =>
      row.subarray(first - d, last + 1 - d).every((v, k) => v === copy[k])
    );
    assert.ok(dist !== undefined, `row ${r}: no copy within ${maxD} bytes`);
  }
  assert.throws(
    () => mixtureBatch(corpus.train, { ...o, copyMaxDistance: 10 }, 0),
    /copyMaxDistance must be an integer >= 17/,
  );
  assert.throws(
    () => mixtureBatch(corpus.train, { ...o, seqLen: 32, copyMaxDistance: 20 }, 0),
    /seqLen must be >= 33/,
  );
  // The shortest allowed row always fits both copies.
  for (let step = 0; step < 50; step++) {
    mixtureBatch(corpus.train, { ...o, batch: 4, seqLen: 33, copyMaxDistance: 40 }, step);
  }
});
