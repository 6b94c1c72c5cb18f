import assert from "node:assert/strict";
import { loadCorpus, totalBytes } from "../src/data/corpus.ts";
import { decode, encode } from "../src/data/tokenizer.ts";
import { deriveSeed, Rng } from "../src/data/rng.ts";
import { sampleTextBatch } from "../src/data/batches.ts";
import {
  exampleSequence,
  HELD_OUT_WORDINGS,
  makeMultiKey,
  makePasskey,
  minimumOffset,
  TRAINING_WORDINGS,
} from "../src/data/passkey.ts";
import { mixtureBatch } from "../src/train/mixture.ts";

const corpus = await loadCorpus();

Deno.test("tokenizer round-trips bytes, including non-ASCII", () => {
  for (const s of ["", "pass key 12345", "Mansfield — café", "\n\t"]) {
    assert.equal(decode(encode(s)), s);
  }
  assert.equal(encode("é").length, 2);
  assert.throws(() => decode([256]), /tokens\[0\] must be an integer in \[0, 255\]/);
});

Deno.test("corpus split is by whole documents and held-out text is never in train", () => {
  assert.ok(corpus.train.length > 500 && corpus.heldOut.length >= 20);
  const trainIds = new Set(corpus.train.map((d) => d.id));
  for (const d of corpus.heldOut) assert.ok(!trainIds.has(d.id), d.id);
  assert.ok(corpus.heldOut.some((d) => d.id === "austen/persuasion.txt"));
  assert.ok(corpus.heldOut.some((d) => d.collection === "kjv"));
  assert.ok(corpus.heldOut.some((d) => d.id.startsWith("brown/cl")));
  assert.ok(!corpus.train.some((d) => d.id.includes("README")));
  assert.ok(totalBytes(corpus.train) > 10 * totalBytes(corpus.heldOut) / 2);
});

Deno.test("seeded batch sampler is deterministic and windows are contiguous text", () => {
  const a = sampleTextBatch(corpus.train, 3, 31, new Rng(5));
  const b = sampleTextBatch(corpus.train, 3, 31, new Rng(5));
  const c = sampleTextBatch(corpus.train, 3, 31, new Rng(6));
  assert.deepEqual(a, b);
  assert.notDeepEqual(a, c);
  assert.equal(a.length, 3 * 32);
  assert.notEqual(deriveSeed(1, 2), deriveSeed(1, 3));
});

Deno.test("passkey: length, depth, offset, question at the end, answer digits", () => {
  const rng = new Rng(11);
  for (const length of [128, 257, 1000]) {
    for (const depth of [0, 0.3, 1]) {
      const ex = makePasskey({ filler: corpus.heldOut, length, depth, rng });
      assert.equal(ex.prompt.length + ex.answer.length, length);
      assert.match(ex.answerText, /^[1-9]\d{4}$/);
      const text = decode(ex.prompt);
      assert.ok(text.endsWith(" What is the pass key? The pass key is "));
      assert.equal(decode(ex.prompt.subarray(ex.keyPosition, ex.keyPosition + 5)), ex.answerText);
      assert.equal(text.split(ex.answerText).length, 2, "key appears once (filler is digit-free)");
      assert.ok(Math.abs(ex.depth - depth) < 0.02);
    }
  }
  const ex = makePasskey({ filler: corpus.heldOut, length: 512, offset: 300, rng });
  assert.equal(ex.offset, 300);
  assert.equal(exampleSequence(ex).length, 512);
  assert.throws(() => makePasskey({ filler: corpus.heldOut, length: 20, rng }), /length must be/);
  assert.throws(() => makePasskey({ filler: corpus.heldOut, length: 200, depth: 2, rng }), /depth/);
  assert.throws(
    () => makePasskey({ filler: corpus.heldOut, length: 200, offset: 5000, rng }),
    /offset must be/,
  );
});

Deno.test("passkey generator is seeded", () => {
  const a = makePasskey({ filler: corpus.heldOut, length: 300, rng: new Rng(3) });
  const b = makePasskey({ filler: corpus.heldOut, length: 300, rng: new Rng(3) });
  assert.deepEqual(a.prompt, b.prompt);
  assert.equal(a.answerText, b.answerText);
});

Deno.test("multi-key: needle among distractors, asked by label, exact offset", () => {
  const rng = new Rng(17);
  for (let i = 0; i < 20; i++) {
    const ex = makeMultiKey({ filler: corpus.heldOut, length: 400, numKeys: 4, rng });
    const text = decode(ex.prompt);
    assert.equal(ex.prompt.length + 5, 400);
    const asked = text.match(/What is the (\w+) pass key\? The \1 pass key is $/);
    assert.ok(asked, text.slice(-60));
    const needles = [...text.matchAll(/The (\w+) pass key is (\d{5})\./g)];
    assert.equal(needles.length, 4);
    const target = needles.filter((m) => m[1] === asked![1]);
    assert.equal(target.length, 1);
    assert.equal(target[0][2], ex.answerText);
    assert.equal(decode(ex.prompt.subarray(ex.keyPosition, ex.keyPosition + 5)), ex.answerText);
  }
  const ex = makeMultiKey({ filler: corpus.heldOut, length: 600, offset: 250, rng });
  assert.equal(ex.offset, 250);
  assert.throws(() => makeMultiKey({ filler: corpus.heldOut, length: 400, numKeys: 1, rng }));
});

/** The seed hash before the fix: `seed XOR part` first, so (seed, step) pairs collide. */
function deriveSeedV1(seed: number, ...parts: number[]): number {
  let h = (seed >>> 0) ^ 0x85ebca6b;
  for (const p of parts) {
    h = Math.imul(h ^ (p >>> 0), 0x9e3779b1);
    h ^= h >>> 16;
  }
  return h >>> 0;
}

/** Batch seeds that two fine-tune seeds share over a budget of `steps` (any step of either). */
function sharedBatches(hash: typeof deriveSeed, a: number, b: number, steps: number): number {
  const ofA = new Set(Array.from({ length: steps }, (_, s) => hash(a, s)));
  return Array.from({ length: steps }, (_, s) => hash(b, s)).filter((x) => ofA.has(x)).length;
}

Deno.test("seeds are independent: no two of seeds 0-15 share a batch over a whole budget", () => {
  // The old hash made seeds 0 and 1 draw the same batches in another order: the test must see it.
  assert.equal(sharedBatches(deriveSeedV1, 0, 1, 128), 128);
  for (let a = 0; a < 16; a++) {
    for (let b = a + 1; b < 16; b++) {
      assert.equal(sharedBatches(deriveSeed, a, b, 1000), 0, `${a},${b}`);
    }
  }
  // And the batches themselves differ (the mixture draws from the derived seed).
  const batch = (seed: number, step: number) =>
    mixtureBatch(corpus.train, { batch: 1, seqLen: 128, seed }, step).tokens.join(",");
  const seed1 = new Set(Array.from({ length: 32 }, (_, s) => batch(1, s)));
  for (let s = 0; s < 32; s++) assert.ok(!seed1.has(batch(0, s)), `seed 0 step ${s} is in seed 1`);
});

Deno.test("wordings: held-out wordings share no cue or noun with training; offsets are exact", () => {
  const cue = (w: { question: string }) => w.question.trim().split(" ").slice(-2).join(" ");
  const trainCues = new Set(TRAINING_WORDINGS.map(cue));
  for (const w of HELD_OUT_WORDINGS) {
    assert.ok(!trainCues.has(cue(w)), `held-out cue "${cue(w)}" occurs in training`);
    for (const t of TRAINING_WORDINGS) assert.notEqual(t.question, w.question);
  }
  const rng = new Rng(3);
  for (const w of [...TRAINING_WORDINGS, ...HELD_OUT_WORDINGS]) {
    const lo = minimumOffset(w);
    const ex = makePasskey({ filler: corpus.heldOut, length: 300, offset: lo, rng, wording: w });
    assert.equal(ex.offset, lo, w.id);
    assert.ok(decode(ex.prompt).endsWith(w.question), w.id);
    assert.equal(decode(ex.prompt.subarray(ex.keyPosition, ex.keyPosition + 5)), ex.answerText);
    assert.throws(
      () => makePasskey({ filler: corpus.heldOut, length: 300, offset: lo - 1, rng, wording: w }),
      /offset must be an integer in/,
    );
  }
  // Training rows draw several wordings when asked, the canonical one otherwise.
  const text = (set?: "training") =>
    Array.from(
      { length: 40 },
      (_, s) =>
        decode(
          mixtureBatch(corpus.train, {
            batch: 1,
            seqLen: 200,
            seed: 9,
            taskFraction: 1,
            multiKeyFraction: 0,
            wordingSet: set,
          }, s).tokens,
        ),
    );
  assert.ok(text().every((t) => t.includes("What is the pass key? The pass key is")));
  assert.ok(text("training").filter((t) => t.includes("What is the pass key?")).length < 10);
});

Deno.test("copyReplacesText: copy rows take only rows that would be text; task rows are unchanged", () => {
  const o = { batch: 1, seqLen: 200, seed: 4, taskFraction: 0.5, wordingSet: "training" as const };
  const withCopy = {
    ...o,
    copyFraction: 0.25,
    copyMaxDistance: 200,
    copyDigits: true,
    copyReplacesText: true,
  };
  let same = 0, replaced = 0;
  for (let s = 0; s < 64; s++) {
    const a = mixtureBatch(corpus.train, o, s), b = mixtureBatch(corpus.train, withCopy, s);
    if (a.taskRows) {
      assert.deepEqual(b.tokens, a.tokens, `step ${s}: a task row must not change`);
      same++;
    } else if (a.tokens.join() !== b.tokens.join()) replaced++;
  }
  assert.ok(same > 20 && replaced > 5, `task rows kept ${same}, text rows replaced ${replaced}`);
});
