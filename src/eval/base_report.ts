/**
 * Evaluates a pretrained base checkpoint: held-out bits per byte against the unigram baseline,
 * passkey and multi-key accuracy by offset at L0, and (RoPE unchanged) passkey accuracy and bits
 * per byte at 8 x L0. Writes `eval.json` and `passkey_by_offset.csv` beside the checkpoint.
 *
 * @example
 * ```sh
 * deno run -A src/eval/base_report.ts --checkpoint assets/checkpoints/course/model.safetensors
 * ```
 * @module
 */
import { parseArgs } from "node:util";
import { dirname } from "node:path";
import { initBackend } from "../backend.ts";
import { loadCorpus } from "../data/corpus.ts";
import { loadCheckpoint } from "../model/checkpoint.ts";
import { Decoder } from "../model/decoder.ts";
import { writeFileAtomic } from "../util/atomic.ts";
import { bitsPerByte, unigramBitsPerByte } from "./bpb.ts";
import { type OffsetAccuracy, passkeyAccuracyByOffset, scoreRetrieval } from "./retrieval.ts";
import { bandExamples, evaluationPlan } from "./long_context.ts";
import type { Document } from "../data/corpus.ts";
import type { WordingSet } from "../data/passkey.ts";

/** Offsets evaluated for a context of `length` (from just above the minimum to the far end). */
export function offsetGrid(length: number, points: number): number[] {
  const lo = 80, hi = length - 24; // the key needs 21 bytes before the answer
  return Array.from({ length: points }, (_, i) => Math.round(lo + ((hi - lo) * i) / (points - 1)));
}

/** Accuracy at L0 by wording set: exact answers, and for held-out cues the key's last 4 digits. */
export function wordingAccuracy(
  model: Decoder,
  docs: readonly Document[],
  L0: number,
  count: number,
  trainingSet: WordingSet,
): Record<string, number> {
  const plan = evaluationPlan("course", { contextLength: L0, seed: 77 });
  const band = { name: "near" as const, length: L0, lo: 1, hi: L0 - 24 };
  const out: Record<string, number> = {};
  for (const set of ["canonical", trainingSet, "heldout"] as const) {
    const examples = bandExamples(docs, plan, band, "passkey", set, count);
    const scores = scoreRetrieval(model, examples, 4);
    out[set] = scores.filter((s) => s.correct).length / count;
    if (set === "heldout") {
      out.heldout_tail = scores.filter((s, i) =>
        s.predicted.slice(1) === examples[i].answerText.slice(1)
      ).length / count;
    }
  }
  return out;
}

/** Runs the report; returns what it wrote. */
export async function main(argv: string[]): Promise<Record<string, unknown>> {
  const { values } = parseArgs({
    args: argv,
    options: {
      checkpoint: { type: "string", default: "assets/checkpoints/course/model.safetensors" },
      "per-offset": { type: "string", default: "20" },
      "long-per-offset": { type: "string", default: "10" },
      windows: { type: "string", default: "64" },
      wordings: { type: "string", default: "training" },
      out: { type: "string" },
    },
  });
  await initBackend();
  const path = values.checkpoint!;
  const outDir = values.out ?? dirname(path);
  const ck = await loadCheckpoint(path);
  const model = Decoder.fromWeights(ck.config, ck.weights);
  const corpus = await loadCorpus();
  const L0 = ck.config.contextLength;
  const t0 = performance.now();
  const log = (s: string) =>
    console.log(`[${((performance.now() - t0) / 1000).toFixed(0)} s] ${s}`);

  const unigram = unigramBitsPerByte(corpus.train, corpus.heldOut);
  const near = bitsPerByte(model, corpus.heldOut, { seqLen: L0, windows: Number(values.windows) });
  log(
    `held-out bits/byte at L0=${L0}: ${near.bitsPerByte.toFixed(3)} (unigram ${
      unigram.toFixed(3)
    })`,
  );
  const per = Number(values["per-offset"]), longPer = Number(values["long-per-offset"]);
  const rows: OffsetAccuracy[] = [];
  rows.push(...passkeyAccuracyByOffset(model, corpus.heldOut, {
    length: L0,
    offsets: offsetGrid(L0, 7),
    perOffset: per,
    seed: 1,
  }));
  log(`passkey at L0: ${rows.map((r) => `${r.offset}:${r.accuracy.toFixed(2)}`).join(" ")}`);
  const multi = passkeyAccuracyByOffset(model, corpus.heldOut, {
    length: L0,
    offsets: [112, 160, 208, L0 - 32],
    perOffset: per,
    seed: 2,
    kind: "multikey",
    numKeys: 3,
  });
  rows.push(...multi);
  log(
    `multi-key (3 keys) at L0: ${
      multi.map((r) => `${r.offset}:${r.accuracy.toFixed(2)}`).join(" ")
    }`,
  );
  const trainingSet = values.wordings as WordingSet;
  const byWording = wordingAccuracy(model, corpus.heldOut, L0, 100, trainingSet);
  log(`passkey at L0 by wording (100 each): ${JSON.stringify(byWording)}`);
  const target = 8 * L0;
  const far = passkeyAccuracyByOffset(model, corpus.heldOut, {
    length: target,
    offsets: [80, L0 / 2, L0 - 24, 2 * L0, 4 * L0, 6 * L0, target - 24],
    perOffset: longPer,
    seed: 3,
    batch: 1,
  });
  rows.push(...far);
  log(
    `passkey at 8 x L0=${target}: ${
      far.map((r) => `${r.offset}:${r.accuracy.toFixed(2)}`).join(" ")
    }`,
  );
  const long = bitsPerByte(model, corpus.heldOut, { seqLen: target, windows: 4, batch: 1 });
  const segment = (a: number, b: number) =>
    long.byPosition.slice(a, b).reduce((s, x) => s + x, 0) / (b - a);
  log(
    `bits/byte at 8 x L0: positions <L0 ${segment(0, L0).toFixed(3)}, >=L0 ${
      segment(L0, target).toFixed(3)
    }`,
  );

  const mean = (rs: OffsetAccuracy[]) =>
    rs.reduce((s, r) => s + r.correct, 0) / rs.reduce((s, r) => s + r.total, 0);
  const nearRows = rows.filter((r) => r.kind === "passkey" && r.length === L0);
  const report = {
    checkpoint: path,
    step: ck.metadata.step,
    contextLength: L0,
    heldOutBitsPerByte: near.bitsPerByte,
    heldOutBytes: near.bytes,
    unigramBitsPerByte: unigram,
    passkeyAccuracyUpToL0: mean(nearRows),
    passkeyMinAccuracyUpToL0: Math.min(...nearRows.map((r) => r.accuracy)),
    multiKeyAccuracyAtL0: mean(multi),
    passkeyAccuracyAtL0ByWording: byWording,
    passkeyAccuracyAt8xL0: mean(far),
    passkeyAccuracyAt8xL0BeyondL0: mean(far.filter((r) => r.offset > L0)),
    bitsPerByteAt8xL0: { belowL0: segment(0, L0), beyondL0: segment(L0, target) },
    evalSeconds: (performance.now() - t0) / 1000,
  };
  await writeFileAtomic(`${outDir}/eval.json`, JSON.stringify(report, null, 2) + "\n");
  await writeFileAtomic(
    `${outDir}/passkey_by_offset.csv`,
    "kind,length,offset,correct,total,accuracy\n" +
      rows.map((r) => `${r.kind},${r.length},${r.offset},${r.correct},${r.total},${r.accuracy}`)
        .join("\n") +
      "\n",
  );
  const bytePos = Array.from(long.byPosition, (b, i) => `${i},${b.toFixed(4)}`);
  await writeFileAtomic(
    `${outDir}/bpb_by_position.csv`,
    "position,bits_per_byte\n" + bytePos.join("\n") + "\n",
  );
  log(JSON.stringify(report));
  model.dispose();
  return report;
}

if (import.meta.main) await main(Deno.args);
