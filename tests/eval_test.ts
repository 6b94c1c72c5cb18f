import assert from "node:assert/strict";
import { initBackend } from "../src/backend.ts";
import { loadCorpus } from "../src/data/corpus.ts";
import { makePasskey } from "../src/data/passkey.ts";
import { testRng } from "./seeded.ts";
import { modelConfig } from "../src/model/config.ts";
import { Decoder } from "../src/model/decoder.ts";
import { bitsPerByte, unigramBitsPerByte } from "../src/eval/bpb.ts";
import { greedyDecode, passkeyAccuracyByOffset, scoreRetrieval } from "../src/eval/retrieval.ts";

await initBackend({ backend: "wasm" });
const corpus = await loadCorpus();

Deno.test("unigram baseline is between 3 and 5 bits/byte; an untrained model is near 8", () => {
  const u = unigramBitsPerByte(corpus.train, corpus.heldOut);
  assert.ok(u > 3 && u < 5, `unigram ${u}`);
  const model = Decoder.create(modelConfig("tiny"), 1);
  const r = bitsPerByte(model, corpus.heldOut, { seqLen: 32, windows: 6, batch: 4 });
  assert.ok(Math.abs(r.bitsPerByte - 8) < 0.2, `untrained ${r.bitsPerByte}`);
  assert.equal(r.byPosition.length, 32);
  assert.equal(r.bytes, 6 * 32);
  model.dispose();
});

Deno.test("teacher-forced scoring agrees with real greedy decoding", (ctx) => {
  const rng = testRng(ctx.name);
  const model = Decoder.create(modelConfig("tiny"), rng.int(100));
  const examples = Array.from(
    { length: 4 },
    () => makePasskey({ filler: corpus.heldOut, length: 100, rng }),
  );
  // Force one example to be "right" by making its answer the model's own greedy output.
  const own = greedyDecode(model, examples[0].prompt, 5);
  examples[0] = { ...examples[0], answer: own };
  const scores = scoreRetrieval(model, examples, 3);
  for (let i = 0; i < examples.length; i++) {
    const greedy = greedyDecode(model, examples[i].prompt, 5);
    const same = greedy.every((b, j) => b === examples[i].answer[j]);
    assert.equal(scores[i].correct, same, `example ${i}`);
  }
  assert.equal(scores[0].correct, true);
  const rows = passkeyAccuracyByOffset(model, corpus.heldOut, {
    length: 120,
    offsets: [70, 90],
    perOffset: 3,
    seed: 1,
  });
  assert.deepEqual(rows.map((r) => [r.offset, r.total]), [[70, 3], [90, 3]]);
  model.dispose();
});
