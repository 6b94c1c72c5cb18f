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
import { WORDING_SETS, type WordingSet } from "../data/passkey.ts";
import { choiceFlag, numberFlag } from "../util/cli.ts";

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

/** The report's options, parsed from its command line. */
export interface BaseReportArgs {
  checkpoint: string;
  /** Passkey examples per offset at L0 (integer >= 1). */
  perOffset: number;
  /** Passkey examples per offset at 8 x L0 (integer >= 1). */
  longPerOffset: number;
  /** Held-out windows for bits per byte at L0 (integer >= 1). */
  windows: number;
  /** Held-out windows of 8 x L0 for bits per byte by position (integer >= 1). */
  longWindows: number;
  /** The wording set the base was trained on. */
  wordings: WordingSet;
  /** Output folder (default: the checkpoint's folder). */
  out: string;
}

/**
 * Parses `--checkpoint`, `--per-offset`, `--long-per-offset`, `--windows`, `--long-windows`,
 * `--wordings`, `--out`;
 * a bad value throws a RangeError naming the flag.
 *
 * @example
 * ```ts
 * parseBaseReportArgs(["--windows", "8"]).windows; // 8
 * ```
 */
export function parseBaseReportArgs(argv: string[]): BaseReportArgs {
  const { values } = parseArgs({
    args: argv,
    options: {
      checkpoint: { type: "string", default: "assets/checkpoints/course/model.safetensors" },
      "per-offset": { type: "string", default: "20" },
      "long-per-offset": { type: "string", default: "10" },
      windows: { type: "string", default: "64" },
      "long-windows": { type: "string", default: "32" },
      wordings: { type: "string", default: "training" },
      out: { type: "string" },
    },
  });
  const count = { min: 1, integer: true };
  return {
    checkpoint: values.checkpoint,
    perOffset: numberFlag("per-offset", values["per-offset"], count),
    longPerOffset: numberFlag("long-per-offset", values["long-per-offset"], count),
    windows: numberFlag("windows", values.windows, count),
    longWindows: numberFlag("long-windows", values["long-windows"], count),
    wordings: choiceFlag("wordings", values.wordings, Object.keys(WORDING_SETS) as WordingSet[]),
    out: values.out ?? dirname(values.checkpoint),
  };
}

const fmtRows = (rs: readonly OffsetAccuracy[]) =>
  rs.map((r) => `${r.offset}:${r.accuracy.toFixed(2)}`).join(" ");

const meanAccuracy = (rs: readonly OffsetAccuracy[]) =>
  rs.reduce((s, r) => s + r.correct, 0) / rs.reduce((s, r) => s + r.total, 0);

/** Passkey (by offset) and multi-key accuracy at L0. */
function retrievalAtL0(
  model: Decoder,
  docs: readonly Document[],
  L0: number,
  per: number,
  log: (s: string) => void,
): { near: OffsetAccuracy[]; multi: OffsetAccuracy[] } {
  const near = passkeyAccuracyByOffset(model, docs, {
    length: L0,
    offsets: offsetGrid(L0, 7),
    perOffset: per,
    seed: 1,
  });
  log(`passkey at L0: ${fmtRows(near)}`);
  const multi = passkeyAccuracyByOffset(model, docs, {
    length: L0,
    offsets: [112, 160, 208, L0 - 32],
    perOffset: per,
    seed: 2,
    kind: "multikey",
    numKeys: 3,
  });
  log(`multi-key (3 keys) at L0: ${fmtRows(multi)}`);
  return { near, multi };
}

/** RoPE unchanged at 8 x L0: passkey by offset, and bits per byte below and beyond L0. */
function extrapolationAt8x(
  model: Decoder,
  docs: readonly Document[],
  L0: number,
  longPer: number,
  longWindows: number,
  log: (s: string) => void,
) {
  const target = 8 * L0;
  const far = passkeyAccuracyByOffset(model, docs, {
    length: target,
    offsets: [80, L0 / 2, L0 - 24, 2 * L0, 4 * L0, 6 * L0, target - 24],
    perOffset: longPer,
    seed: 3,
    batch: 1,
  });
  log(`passkey at 8 x L0=${target}: ${fmtRows(far)}`);
  const long = bitsPerByte(model, docs, { seqLen: target, windows: longWindows, batch: 1 });
  const segment = (a: number, b: number) =>
    long.byPosition.slice(a, b).reduce((s, x) => s + x, 0) / (b - a);
  const bpb = { belowL0: segment(0, L0), beyondL0: segment(L0, target) };
  log(
    `bits/byte at 8 x L0: positions <L0 ${bpb.belowL0.toFixed(3)}, >=L0 ${bpb.beyondL0.toFixed(3)}`,
  );
  return { far, byPosition: long.byPosition, bpb };
}

/** eval.json: what the report measured (see the module doc). */
export interface BaseReport {
  checkpoint: string;
  step: string | undefined;
  contextLength: number;
  heldOutBitsPerByte: number;
  heldOutBytes: number;
  unigramBitsPerByte: number;
  passkeyAccuracyUpToL0: number;
  passkeyMinAccuracyUpToL0: number;
  multiKeyAccuracyAtL0: number;
  passkeyAccuracyAtL0ByWording: Record<string, number>;
  passkeyAccuracyAt8xL0: number;
  passkeyAccuracyAt8xL0BeyondL0: number;
  bitsPerByteAt8xL0: { belowL0: number; beyondL0: number };
  /** Windows of 8 x L0 behind bitsPerByteAt8xL0 and bpb_by_position.csv (absent: 4). */
  longWindows?: number;
  evalSeconds: number;
}

/** Writes eval.json, passkey_by_offset.csv and bpb_by_position.csv into `outDir`. */
async function writeReport(
  outDir: string,
  report: BaseReport,
  rows: readonly OffsetAccuracy[],
  byPosition: Float64Array,
): Promise<void> {
  await writeFileAtomic(`${outDir}/eval.json`, JSON.stringify(report, null, 2) + "\n");
  await writeFileAtomic(
    `${outDir}/passkey_by_offset.csv`,
    "kind,length,offset,correct,total,accuracy\n" +
      rows.map((r) => `${r.kind},${r.length},${r.offset},${r.correct},${r.total},${r.accuracy}`)
        .join("\n") +
      "\n",
  );
  const bytePos = Array.from(byPosition, (b, i) => `${i},${b.toFixed(4)}`);
  await writeFileAtomic(
    `${outDir}/bpb_by_position.csv`,
    "position,bits_per_byte\n" + bytePos.join("\n") + "\n",
  );
}

/** Runs the report; returns what it wrote. */
export async function main(argv: string[]): Promise<BaseReport> {
  const args = parseBaseReportArgs(argv);
  await initBackend();
  const path = args.checkpoint;
  const ck = await loadCheckpoint(path);
  const model = Decoder.fromWeights(ck.config, ck.weights);
  const corpus = await loadCorpus();
  const L0 = ck.config.contextLength;
  const t0 = performance.now();
  const log = (s: string) =>
    console.log(`[${((performance.now() - t0) / 1000).toFixed(0)} s] ${s}`);

  const unigram = unigramBitsPerByte(corpus.train, corpus.heldOut);
  const near = bitsPerByte(model, corpus.heldOut, { seqLen: L0, windows: args.windows });
  log(
    `held-out bits/byte at L0=${L0}: ${near.bitsPerByte.toFixed(3)} (unigram ${
      unigram.toFixed(3)
    })`,
  );
  const atL0 = retrievalAtL0(model, corpus.heldOut, L0, args.perOffset, log);
  const byWording = wordingAccuracy(model, corpus.heldOut, L0, 100, args.wordings);
  log(`passkey at L0 by wording (100 each): ${JSON.stringify(byWording)}`);
  const at8x = extrapolationAt8x(
    model,
    corpus.heldOut,
    L0,
    args.longPerOffset,
    args.longWindows,
    log,
  );
  const rows = [...atL0.near, ...atL0.multi, ...at8x.far];
  const report: BaseReport = {
    checkpoint: path,
    step: ck.metadata.step,
    contextLength: L0,
    heldOutBitsPerByte: near.bitsPerByte,
    heldOutBytes: near.bytes,
    unigramBitsPerByte: unigram,
    passkeyAccuracyUpToL0: meanAccuracy(atL0.near),
    passkeyMinAccuracyUpToL0: Math.min(...atL0.near.map((r) => r.accuracy)),
    multiKeyAccuracyAtL0: meanAccuracy(atL0.multi),
    passkeyAccuracyAtL0ByWording: byWording,
    passkeyAccuracyAt8xL0: meanAccuracy(at8x.far),
    passkeyAccuracyAt8xL0BeyondL0: meanAccuracy(at8x.far.filter((r) => r.offset > L0)),
    bitsPerByteAt8xL0: at8x.bpb,
    longWindows: args.longWindows,
    evalSeconds: (performance.now() - t0) / 1000,
  };
  await writeReport(args.out, report, rows, at8x.byPosition);
  log(JSON.stringify(report));
  model.dispose();
  return report;
}

if (import.meta.main) await main(Deno.args);
