import assert from "node:assert/strict";
import { initBackend } from "../src/backend.ts";
import { loadCorpus } from "../src/data/corpus.ts";
import { makePasskey } from "../src/data/passkey.ts";
import { Rng } from "../src/data/rng.ts";
import { bitsPerByte } from "../src/eval/bpb.ts";
import { EvalPool } from "../src/eval/eval_pool.ts";
import { scoreRetrieval } from "../src/eval/retrieval.ts";
import { modelConfig } from "../src/model/config.ts";
import { Decoder } from "../src/model/decoder.ts";

await initBackend({ backend: "wasm" });
const corpus = await loadCorpus();

Deno.test("a 2-thread pool gives exactly the serial bits/byte and retrieval scores", async () => {
  const model = Decoder.create(modelConfig("tiny"), 3);
  const pool = await EvalPool.start(model, 2);
  try {
    // 11 windows in groups of 3: an uneven split, the last group smaller.
    const o = { seqLen: 96, windows: 11, batch: 3, seed: 5 };
    const serial = bitsPerByte(model, corpus.heldOut, o);
    const pooled = await pool.bitsPerByte(corpus.heldOut, o);
    assert.equal(pooled.bitsPerByte, serial.bitsPerByte);
    assert.deepEqual(pooled.byWindow, serial.byWindow);
    assert.deepEqual([...pooled.byPosition], [...serial.byPosition]);
    const rng = new Rng(1);
    const ex = Array.from(
      { length: 7 },
      (_, i) => makePasskey({ filler: corpus.heldOut, length: 160, offset: 60 + 10 * i, rng }),
    );
    assert.deepEqual(await pool.scoreRetrieval(ex, 2), scoreRetrieval(model, ex, 2));
  } finally {
    await pool.close();
    model.dispose();
  }
  await assert.rejects(EvalPool.start(model, 0), /threads must be an integer in \[1, 16\]/);
});
