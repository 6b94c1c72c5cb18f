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
import type { BackendName } from "../backend.ts";
import { type GradientEngine, LocalGradients } from "./gradients.ts";
import { MAX_SHARDS, ParallelGradients } from "./data_parallel.ts";
import {
  type RunSignature,
  runSignature,
  signatureDiffs,
  type SignatureOptions,
} from "./signature.ts";

/**
 * Everything that defines a run: the result-defining fields of {@link SignatureOptions} (stored in
 * the checkpoint; a resume must match them), plus where and how the run is carried out.
 */
export interface TrainOptions extends SignatureOptions {
  /** Defaults to the preset's RoPE model. */
  config?: ModelConfig;
  /** Defaults to the config's contextLength (L0). */
  seqLen?: number;
  outDir: string;
  checkpointEvery?: number;
  logEvery?: number;
  /** Resume from outDir/latest.safetensors when it exists (default true). */
  resume?: boolean;
  /** Stop (after checkpointing) once this many steps are done: simulates an interruption. */
  stopAfter?: number;
  corpus?: Corpus;
  log?: (line: string) => void;
  /**
   * Data-parallel gradient workers (default 1: the whole batch in this thread). With n > 1 each
   * batch's rows are split into n shards computed side by side (see data_parallel.ts). `"auto"`:
   * a resumed run keeps its saved count; a fresh one uses one per core, at most 2.
   */
  workers?: number | "auto";
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

/** A run in progress: what {@link startOrResume} sets up and {@link trainStep} advances. */
export interface RunState {
  options: TrainOptions;
  sig: RunSignature;
  config: ModelConfig;
  model: Decoder;
  opt: AdamW;
  engine: GradientEngine;
  corpus: Corpus;
  /** Steps done when the run was started or resumed. */
  start: number;
  /** Steps done so far. */
  step: number;
  curve: CurveRow[];
  short: { from: number; batch: number; seqLen: number } | null;
  /** Seconds of training before this process (from the checkpoint) and this process's start. */
  elapsedBefore: number;
  t0: number;
}

/** Seconds of training so far, across resumes. */
export function elapsedSeconds(s: RunState): number {
  return s.elapsedBefore + (performance.now() - s.t0) / 1000;
}

/**
 * Sets up a run: resumes `outDir/latest.safetensors` when it exists (and `resume` is not false;
 * the saved run signature must match), else starts from a fresh init or `initFrom`. Starts the
 * gradient workers when `workers` > 1. The caller closes `engine` and disposes `model` and `opt`.
 */
export async function startOrResume(o: TrainOptions): Promise<RunState> {
  positiveInt("steps", o.steps);
  positiveInt("batch", o.batch);
  const config = o.config ?? modelConfig(o.preset);
  const seqLen = o.seqLen ?? config.contextLength;
  const short = shortShape(o, seqLen);
  const latest = latestPath(o.outDir);
  const exists = await Deno.stat(latest).then(() => true, () => false);
  const ck = (o.resume ?? true) && exists
    ? await loadCheckpoint(latest, { expected: config })
    : null;
  const saved: Partial<RunSignature> = ck ? JSON.parse(ck.metadata.run ?? "{}") : {};
  const workers = o.workers === "auto" || o.workers === undefined
    ? (ck ? saved.gradShards ?? 1 : o.workers === "auto" ? autoWorkers() : 1)
    : o.workers;
  checkWorkers(workers, Math.min(o.batch, short?.batch ?? o.batch));
  const sig = runSignature(o, config, seqLen, workers);
  const corpus = o.corpus ?? await loadCorpus();
  let model: Decoder, opt: AdamW, start = 0, elapsedBefore = 0, curve: CurveRow[] = [];
  if (ck) {
    const diffs = signatureDiffs(saved, sig);
    if (diffs.length) {
      throw new RangeError(
        `cannot resume ${latest}: run options differ (${diffs.join("; ")}); ` +
          `use another --out or delete it`,
      );
    }
    model = Decoder.fromWeights(ck.config, ck.weights);
    opt = new AdamW(model.params, { weightDecay: sig.weightDecay });
    start = Number(ck.metadata.step);
    opt.load(ck.extraTensors, start);
    elapsedBefore = Number(ck.metadata.elapsed_s ?? 0);
    curve = await readCurve(`${o.outDir}/curve.csv`, start);
    (o.log ?? console.log)(`resumed ${latest} at step ${start}/${o.steps}`);
  } else {
    model = o.initFrom
      ? await initialWeights(o.initFrom, config, sig.seed)
      : Decoder.create(config, sig.seed);
    opt = new AdamW(model.params, { weightDecay: sig.weightDecay });
  }
  const engine = workers > 1
    ? await ParallelGradients.start(model, workers, tf.getBackend() as BackendName)
    : new LocalGradients(model);
  return {
    options: o,
    sig,
    config,
    model,
    opt,
    engine,
    corpus,
    start,
    step: start,
    curve,
    short,
    elapsedBefore,
    t0: performance.now(),
  };
}

/** Default worker count for `workers: "auto"`: one per core, at most 2. */
function autoWorkers(): number {
  return Math.max(1, Math.min(2, navigator.hardwareConcurrency ?? 1));
}

function positiveInt(name: string, v: number): void {
  if (!Number.isInteger(v) || v < 1) {
    throw new RangeError(`${name} must be an integer >= 1; got ${v}`);
  }
}

function checkWorkers(workers: number, minBatch: number): void {
  if (!Number.isInteger(workers) || workers < 1 || workers > Math.min(MAX_SHARDS, minBatch)) {
    throw new RangeError(
      `workers must be an integer in [1, ${
        Math.min(MAX_SHARDS, minBatch)
      }] (at most the batch); got ${workers}`,
    );
  }
}

/** Fine-tuning start: `initFrom`'s weights, with the positional parameters the config needs. */
async function initialWeights(path: string, config: ModelConfig, seed: number): Promise<Decoder> {
  const ck = await loadCheckpoint(path, { expected: config, allowPositionalChange: true });
  const w = ck.weights;
  if (config.positional.type === "t5" && !w.has("t5.relative_attention_bias")) {
    const fresh = Decoder.create(config, seed);
    w.set("t5.relative_attention_bias", fresh.weights().get("t5.relative_attention_bias")!);
    fresh.dispose();
  }
  for (const k of [...w.keys()]) {
    if (k.startsWith("t5.") && config.positional.type !== "t5") w.delete(k);
  }
  return Decoder.fromWeights(config, w);
}

/** Writes `outDir/latest.safetensors` (weights, optimizer state, signature) and the curve CSV. */
export async function checkpointRun(s: RunState): Promise<void> {
  await saveCheckpoint(latestPath(s.options.outDir), s.config, s.model.weights(), {
    tensors: s.opt.state(),
    metadata: {
      step: String(s.step),
      elapsed_s: String(elapsedSeconds(s)),
      run: JSON.stringify(s.sig),
    },
  });
  await writeCurve(`${s.options.outDir}/curve.csv`, s.curve);
}

/** One optimizer step: the seeded batch of step `s.step`, gradients, clipping, AdamW. */
export async function trainStep(s: RunState): Promise<CurveRow> {
  const { sig, step } = s;
  const shape = s.short && step >= s.short.from
    ? s.short
    : { batch: sig.batch, seqLen: sig.seqLen };
  const batch = mixtureBatch(s.corpus.train, {
    batch: shape.batch,
    seqLen: shape.seqLen,
    seed: sig.seed,
    // Short replay keeps the retrieval rows per step (k rows of L0 instead of one of k x L0 would
    // otherwise bring k times the retrieval practice): the task fraction shrinks by the same k.
    taskFraction: sig.taskFraction * (shape.seqLen / sig.seqLen),
    copyReplacesText: sig.copyReplacesText === true,
    copyFraction: sig.copyFraction,
    copyMaxDistance: sig.copyMaxDistance,
    copyDigits: sig.copyDigits === true,
    answerWeight: sig.answerWeight,
    wordingSet: sig.wordingSet,
  }, step);
  const lr = learningRate(step, {
    peak: sig.lr,
    warmupSteps: sig.warmupSteps,
    totalSteps: sig.steps,
    minRatio: sig.minLrRatio,
  });
  const { grads, loss } = await s.engine.compute(batch, shape);
  const { grads: clipped, norm } = clipByGlobalNorm(grads, sig.clipNorm);
  s.opt.apply(clipped, lr);
  tf.dispose([...grads.values(), ...clipped.values()]);
  if (!Number.isFinite(loss)) throw new RangeError(`loss is not finite at step ${step}: ${loss}`);
  s.step = step + 1;
  const row = {
    step: step + 1,
    loss,
    lr,
    gradNorm: norm,
    tokens: (step + 1) * sig.batch * sig.seqLen,
    elapsedS: elapsedSeconds(s),
  };
  s.curve.push(row);
  return row;
}

/** Trains (or resumes) a run; checkpoints to `outDir/latest.safetensors` and `outDir/curve.csv`. */
export async function train(o: TrainOptions): Promise<TrainResult> {
  const s = await startOrResume(o);
  try {
    await runSteps(s);
  } catch (e) {
    await s.engine.close();
    s.opt.dispose();
    s.model.dispose();
    throw e;
  }
  await s.engine.close();
  s.opt.dispose();
  return {
    model: s.model,
    config: s.config,
    stepsDone: s.step,
    curve: s.curve,
    elapsedS: elapsedSeconds(s),
    resumedFrom: s.start,
  };
}

/** The step loop of {@link train}: progress lines, periodic and final checkpoints. */
async function runSteps(s: RunState): Promise<void> {
  const o = s.options;
  const log = o.log ?? ((l: string) => console.log(l));
  const ckptEvery = o.checkpointEvery ?? 100;
  const logEvery = o.logEvery ?? 10;
  const tokensPerStep = s.sig.batch * s.sig.seqLen;
  const stopAt = Math.min(o.steps, o.stopAfter ?? o.steps);
  let windowStart = performance.now(), windowSteps = 0;
  while (s.step < stopAt) {
    const row = await trainStep(s);
    windowSteps++;
    const done = s.step;
    if (done % logEvery === 0 || done === stopAt) {
      const secs = (performance.now() - windowStart) / 1000;
      const tps = (windowSteps * tokensPerStep) / secs;
      const eta = ((o.steps - done) * secs) / windowSteps;
      log(
        `step ${done}/${o.steps} loss ${row.loss.toFixed(4)} lr ${row.lr.toExponential(2)} ` +
          `gnorm ${row.gradNorm.toFixed(2)} tok/s ${tps.toFixed(0)} elapsed ${
            fmtTime(elapsedSeconds(s))
          } ETA ${fmtTime(eta)}`,
      );
      windowStart = performance.now();
      windowSteps = 0;
    }
    if (done % ckptEvery === 0 && done < stopAt) await checkpointRun(s);
  }
  await checkpointRun(s);
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
