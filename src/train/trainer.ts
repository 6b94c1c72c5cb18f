/**
 * The training loop: seeded mixture batches, AdamW with warmup + cosine and global-norm clipping,
 * a progress line (step, loss, tokens/s, ETA), a CSV training curve, and checkpoints that hold
 * the optimizer state so that a resumed run gives the same weights as one that never stopped.
 *
 * @example
 * ```ts
 * import { train } from "./trainer.ts";
 * const { model } = await train({ preset: "tiny", steps: 20, batch: 4, outDir: "/tmp/run" });
 * ```
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import { type Corpus, loadCorpus } from "../data/corpus.ts";
import { type ModelConfig, modelConfig } from "../model/config.ts";
import { Decoder } from "../model/decoder.ts";
import { loadCheckpoint, saveCheckpoint } from "../model/checkpoint.ts";
import { writeFileAtomic } from "../util/atomic.ts";
import { fmtTime } from "../util/time.ts";
import { AdamW, clipByGlobalNorm } from "./adamw.ts";
import { learningRate } from "./schedule.ts";
import { mixtureBatch } from "./mixture.ts";
import type { WordingSet } from "../data/passkey.ts";

/** Everything that defines a run (stored in the checkpoint; a resume must match it). */
export interface TrainOptions {
  preset: string;
  /** Defaults to the preset's RoPE model. */
  config?: ModelConfig;
  steps: number;
  batch: number;
  /** Defaults to the config's contextLength (L0). */
  seqLen?: number;
  lr?: number;
  warmupSteps?: number;
  minLrRatio?: number;
  weightDecay?: number;
  clipNorm?: number;
  seed?: number;
  taskFraction?: number;
  /** Fraction of copy-task rows (see mixture.ts; default 0). */
  copyFraction?: number;
  /** One-string copy rows at distances up to this (see mixture.ts; default: the legacy rows). */
  copyMaxDistance?: number;
  /** Digit-only one-string copy rows (see mixture.ts). */
  copyDigits?: boolean;
  answerWeight?: number;
  /**
   * From this step on, train on rows of `shortSeqLen` with the batch scaled so that every step
   * keeps the same tokens (the short-replay mitigation: same steps, tokens, schedule, optimizer).
   */
  shortFrom?: number;
  shortSeqLen?: number;
  /** Passkey wordings of task rows (see mixture.ts; default "canonical"). */
  wordingSet?: WordingSet;
  outDir: string;
  checkpointEvery?: number;
  logEvery?: number;
  /** Resume from outDir/latest.safetensors when it exists (default true). */
  resume?: boolean;
  /** Stop (after checkpointing) once this many steps are done: simulates an interruption. */
  stopAfter?: number;
  corpus?: Corpus;
  log?: (line: string) => void;
  /** Start from these weights instead of a fresh init (fine-tuning). */
  initFrom?: string;
}

/** One row of the training curve. */
export interface CurveRow {
  step: number;
  loss: number;
  lr: number;
  gradNorm: number;
  tokens: number;
  elapsedS: number;
}

/** What {@link train} returns. The caller disposes `model`. */
export interface TrainResult {
  model: Decoder;
  config: ModelConfig;
  stepsDone: number;
  curve: CurveRow[];
  elapsedS: number;
  resumedFrom: number;
}

const CURVE_HEADER = "step,loss,lr,grad_norm,tokens,elapsed_s";

/** Path of the resumable checkpoint inside a run folder. */
export function latestPath(outDir: string): string {
  return `${outDir}/latest.safetensors`;
}

/** The fields of the options that define the result (a resume must agree on them). */
function runSignature(
  o: TrainOptions,
  config: ModelConfig,
  seqLen: number,
): Record<string, unknown> {
  return {
    preset: o.preset,
    config,
    steps: o.steps,
    batch: o.batch,
    seqLen,
    lr: o.lr ?? 2e-3,
    warmupSteps: o.warmupSteps ?? Math.min(100, Math.ceil(o.steps / 10)),
    minLrRatio: o.minLrRatio ?? 0.1,
    weightDecay: o.weightDecay ?? 0.1,
    clipNorm: o.clipNorm ?? 1,
    seed: o.seed ?? 0,
    taskFraction: o.taskFraction ?? 0.5,
    copyFraction: o.copyFraction ?? 0,
    // Only present when used, so the signatures of earlier runs (and their resumes) are unchanged.
    ...(o.copyMaxDistance === undefined ? {} : { copyMaxDistance: o.copyMaxDistance }),
    ...(o.copyDigits ? { copyDigits: true } : {}),
    ...(o.wordingSet && o.wordingSet !== "canonical" ? { wordingSet: o.wordingSet } : {}),
    ...(o.shortFrom === undefined ? {} : { shortFrom: o.shortFrom, shortSeqLen: o.shortSeqLen }),
    answerWeight: o.answerWeight ?? 4,
    initFrom: o.initFrom ?? null,
  };
}

/** Trains (or resumes) a run; checkpoints to `outDir/latest.safetensors` and `outDir/curve.csv`. */
export async function train(o: TrainOptions): Promise<TrainResult> {
  if (!Number.isInteger(o.steps) || o.steps < 1) {
    throw new RangeError(`steps must be an integer >= 1; got ${o.steps}`);
  }
  if (!Number.isInteger(o.batch) || o.batch < 1) {
    throw new RangeError(`batch must be an integer >= 1; got ${o.batch}`);
  }
  const log = o.log ?? ((l: string) => console.log(l));
  const config = o.config ?? modelConfig(o.preset);
  const seqLen = o.seqLen ?? config.contextLength;
  const sig = runSignature(o, config, seqLen);
  const short = shortShape(o, seqLen);
  const corpus = o.corpus ?? await loadCorpus();
  const ckptEvery = o.checkpointEvery ?? 100;
  const logEvery = o.logEvery ?? 10;

  let model: Decoder;
  let opt: AdamW;
  let start = 0;
  let elapsedBefore = 0;
  let curve: CurveRow[] = [];
  const latest = latestPath(o.outDir);
  const exists = await Deno.stat(latest).then(() => true, () => false);
  if ((o.resume ?? true) && exists) {
    const ck = await loadCheckpoint(latest, { expected: config });
    const saved = JSON.parse(ck.metadata.run ?? "{}");
    const diffs = Object.keys(sig).filter((k) =>
      JSON.stringify(saved[k]) !== JSON.stringify(sig[k])
    );
    if (diffs.length) {
      throw new RangeError(
        `cannot resume ${latest}: run options differ (${
          diffs.map((k) => `${k}: ${JSON.stringify(saved[k])} vs ${JSON.stringify(sig[k])}`).join(
            "; ",
          )
        }); use another --out or delete it`,
      );
    }
    model = Decoder.fromWeights(ck.config, ck.weights);
    opt = new AdamW(model.params, { weightDecay: sig.weightDecay as number });
    start = Number(ck.metadata.step);
    opt.load(ck.extraTensors, start);
    elapsedBefore = Number(ck.metadata.elapsed_s ?? 0);
    curve = await readCurve(`${o.outDir}/curve.csv`, start);
    log(`resumed ${latest} at step ${start}/${o.steps}`);
  } else {
    if (o.initFrom) {
      const ck = await loadCheckpoint(o.initFrom, {
        expected: config,
        allowPositionalChange: true,
      });
      const w = ck.weights;
      if (config.positional.type === "t5" && !w.has("t5.relative_attention_bias")) {
        const fresh = Decoder.create(config, sig.seed as number);
        w.set("t5.relative_attention_bias", fresh.weights().get("t5.relative_attention_bias")!);
        fresh.dispose();
      }
      for (const k of [...w.keys()]) {
        if (k.startsWith("t5.") && config.positional.type !== "t5") w.delete(k);
      }
      model = Decoder.fromWeights(config, w);
    } else {
      model = Decoder.create(config, sig.seed as number);
    }
    opt = new AdamW(model.params, { weightDecay: sig.weightDecay as number });
  }

  const names = [...model.params.keys()];
  const vars = names.map((n) => model.params.get(n)!);
  const byVarName = new Map(names.map((n) => [model.params.get(n)!.name, n]));
  const tokensPerStep = o.batch * seqLen;
  const schedule = {
    peak: sig.lr as number,
    warmupSteps: sig.warmupSteps as number,
    totalSteps: o.steps,
    minRatio: sig.minLrRatio as number,
  };
  const t0 = performance.now();
  let windowStart = performance.now(), windowSteps = 0;
  const elapsed = () => elapsedBefore + (performance.now() - t0) / 1000;

  const checkpoint = async (step: number) => {
    await saveCheckpoint(latest, config, model.weights(), {
      tensors: opt.state(),
      metadata: { step: String(step), elapsed_s: String(elapsed()), run: JSON.stringify(sig) },
    });
    await writeCurve(`${o.outDir}/curve.csv`, curve);
  };

  let step = start;
  const stopAt = Math.min(o.steps, o.stopAfter ?? o.steps);
  for (; step < stopAt; step++) {
    const shape = short && step >= short.from ? short : { batch: o.batch, seqLen };
    const batch = mixtureBatch(corpus.train, {
      batch: shape.batch,
      seqLen: shape.seqLen,
      seed: sig.seed as number,
      // Short replay keeps the retrieval rows per step (k rows of L0 instead of one of k x L0 would
      // otherwise bring k times the retrieval practice): the task fraction shrinks by the same k.
      // Outside the replay shape.seqLen === seqLen, so the factor is exactly 1.
      taskFraction: (sig.taskFraction as number) * (shape.seqLen / seqLen),
      copyFraction: sig.copyFraction as number,
      copyMaxDistance: sig.copyMaxDistance as number | undefined,
      copyDigits: sig.copyDigits === true,
      answerWeight: sig.answerWeight as number,
      wordingSet: sig.wordingSet as WordingSet | undefined,
    }, step);
    const lr = learningRate(step, schedule);
    const tokens = tf.tensor2d(batch.tokens, [shape.batch, shape.seqLen + 1], "int32");
    const weights = tf.tensor2d(batch.weights, [shape.batch, shape.seqLen]);
    const { value, grads } = tf.variableGrads(() => model.loss(tokens, weights), vars);
    const named = new Map<string, tf.Tensor>();
    for (const [vn, g] of Object.entries(grads)) named.set(byVarName.get(vn)!, g);
    const { grads: clipped, norm } = clipByGlobalNorm(named, sig.clipNorm as number);
    opt.apply(clipped, lr);
    const loss = value.dataSync()[0];
    tf.dispose([tokens, weights, value, ...Object.values(grads), ...clipped.values()]);
    if (!Number.isFinite(loss)) throw new RangeError(`loss is not finite at step ${step}: ${loss}`);
    curve.push({
      step: step + 1,
      loss,
      lr,
      gradNorm: norm,
      tokens: (step + 1) * tokensPerStep,
      elapsedS: elapsed(),
    });
    windowSteps++;
    const done = step + 1;
    if (done % logEvery === 0 || done === stopAt) {
      const secs = (performance.now() - windowStart) / 1000;
      const tps = (windowSteps * tokensPerStep) / secs;
      const eta = ((o.steps - done) * secs) / windowSteps;
      log(
        `step ${done}/${o.steps} loss ${loss.toFixed(4)} lr ${lr.toExponential(2)} ` +
          `gnorm ${norm.toFixed(2)} tok/s ${tps.toFixed(0)} elapsed ${fmtTime(elapsed())} ETA ${
            fmtTime(eta)
          }`,
      );
      windowStart = performance.now();
      windowSteps = 0;
    }
    if (done % ckptEvery === 0 && done < stopAt) await checkpoint(done);
  }
  await checkpoint(step);
  return { model, config, stepsDone: step, curve, elapsedS: elapsed(), resumedFrom: start };
}

/** The short-replay shape, validated: rows of shortSeqLen, batch scaled to the same tokens. */
function shortShape(
  o: TrainOptions,
  seqLen: number,
): { from: number; batch: number; seqLen: number } | null {
  if (o.shortFrom === undefined) return null;
  if (!Number.isInteger(o.shortFrom) || o.shortFrom < 0 || o.shortFrom > o.steps) {
    throw new RangeError(`shortFrom must be an integer in [0, ${o.steps}]; got ${o.shortFrom}`);
  }
  const s = o.shortSeqLen;
  if (!Number.isInteger(s) || s! < 2 || seqLen % s! !== 0) {
    throw new RangeError(`shortSeqLen must be an integer >= 2 that divides ${seqLen}; got ${s}`);
  }
  return { from: o.shortFrom, batch: o.batch * (seqLen / s!), seqLen: s! };
}

async function writeCurve(path: string, rows: CurveRow[]): Promise<void> {
  const lines = rows.map((r) =>
    `${r.step},${r.loss.toFixed(6)},${r.lr.toExponential(6)},${r.gradNorm.toFixed(6)},${r.tokens},${
      r.elapsedS.toFixed(2)
    }`
  );
  await writeFileAtomic(path, [CURVE_HEADER, ...lines].join("\n") + "\n");
}

/** Reads a curve CSV written by the trainer, keeping rows up to `maxStep`. */
export async function readCurve(path: string, maxStep = Infinity): Promise<CurveRow[]> {
  const text = await Deno.readTextFile(path).catch(() => "");
  return text.trim().split("\n").slice(1).filter((l) => l).map((l) => {
    const [step, loss, lr, gradNorm, tokens, elapsedS] = l.split(",").map(Number);
    return { step, loss, lr, gradNorm, tokens, elapsedS };
  }).filter((r) => r.step <= maxStep);
}
