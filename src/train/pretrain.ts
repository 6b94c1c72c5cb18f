/**
 * `deno task pretrain`: pretrains the base RoPE model of a preset at L0 and writes
 * `<out>/latest.safetensors` (weights + optimizer state, for resuming), `<out>/curve.csv` and, when
 * the run is complete, `<out>/model.safetensors` (weights only, the shipped checkpoint).
 * Resumes from `<out>/latest.safetensors` by default.
 *
 * `--workers auto` (the default) trains data-parallel over one worker per core, at most 2 (a
 * resumed run keeps the worker count it started with); `--workers 1` is the single-thread path.
 *
 * @example
 * ```sh
 * deno task pretrain --preset course --steps 2000 --batch 16 --out assets/checkpoints/course
 * # a native ALiBi or T5 model (issue #13): same recipe, another positional mode
 * deno task pretrain --preset course --positional t5 --t5-buckets 32 --t5-max-distance 128 --out build/t5
 * ```
 * @module
 */
import { parseArgs } from "node:util";
import { initBackend } from "../backend.ts";
import { saveCheckpoint } from "../model/checkpoint.ts";
import { modelConfig, type PositionalConfig } from "../model/config.ts";
import { train, type TrainOptions } from "./trainer.ts";
import { WORDING_SETS, type WordingSet } from "../data/passkey.ts";

function wordingSet(name: string): WordingSet {
  if (!(name in WORDING_SETS)) {
    throw new RangeError(
      `--wordings must be one of ${Object.keys(WORDING_SETS).join(", ")}; got "${name}"`,
    );
  }
  return name as WordingSet;
}

/**
 * The positional mode of `--positional`: `rope` (default scaling), `alibi`, or `t5` with
 * `numBuckets` / `maxDistance` (T5's own 32 and 128 unless told otherwise).
 *
 * @example
 * ```ts
 * positionalFlag("t5", 32, 128); // { type: "t5", numBuckets: 32, maxDistance: 128 }
 * ```
 */
export function positionalFlag(
  name: string,
  numBuckets = 32,
  maxDistance = 128,
): PositionalConfig {
  if (name === "rope") return { type: "rope", scaling: { type: "default" } };
  if (name === "alibi") return { type: "alibi" };
  if (name === "t5") return { type: "t5", numBuckets, maxDistance };
  throw new RangeError(`--positional must be one of rope, alibi, t5; got "${name}"`);
}

/** The flags of `deno task pretrain` (see the module doc). */
function parsePretrainFlags(argv: string[]) {
  return parseArgs({
    args: argv,
    options: {
      preset: { type: "string", default: Deno.env.get("COURSE_PRESET") ?? "course" },
      steps: { type: "string", default: "2000" },
      batch: { type: "string", default: "16" },
      lr: { type: "string", default: "2e-3" },
      seed: { type: "string", default: "0" },
      "task-fraction": { type: "string", default: "0.5" },
      "copy-fraction": { type: "string", default: "0" },
      "copy-max-distance": { type: "string" },
      "copy-digits": { type: "boolean", default: false },
      wordings: { type: "string", default: "canonical" },
      "answer-weight": { type: "string", default: "4" },
      "seq-len": { type: "string" },
      warmup: { type: "string" },
      "init-from": { type: "string" },
      "stop-after": { type: "string" },
      "checkpoint-every": { type: "string", default: "50" },
      "log-every": { type: "string", default: "10" },
      out: { type: "string" },
      "no-resume": { type: "boolean", default: false },
      backend: { type: "string" },
      workers: { type: "string", default: "auto" },
      positional: { type: "string", default: "rope" },
      "t5-buckets": { type: "string", default: "32" },
      "t5-max-distance": { type: "string", default: "128" },
    },
  }).values;
}

/** The value of flag `--name` as a finite number, or a RangeError naming the flag. */
function num(name: string, v: string): number {
  const x = Number(v);
  if (!Number.isFinite(x)) throw new RangeError(`--${name} must be a number; got "${v}"`);
  return x;
}

/** The training run the flags describe, writing to `out`. */
function trainOptionsFromFlags(
  values: ReturnType<typeof parsePretrainFlags>,
  out: string,
): TrainOptions {
  const preset = values.preset!;
  const opt = (name: "copy-max-distance" | "seq-len" | "warmup" | "stop-after") =>
    values[name] === undefined ? undefined : num(name, values[name]!);
  const steps = num("steps", values.steps!);
  const positional = positionalFlag(
    values.positional!,
    num("t5-buckets", values["t5-buckets"]!),
    num("t5-max-distance", values["t5-max-distance"]!),
  );
  return {
    preset,
    config: modelConfig(preset, positional),
    steps,
    batch: num("batch", values.batch!),
    lr: num("lr", values.lr!),
    seed: num("seed", values.seed!),
    taskFraction: num("task-fraction", values["task-fraction"]!),
    copyFraction: num("copy-fraction", values["copy-fraction"]!),
    copyMaxDistance: opt("copy-max-distance"),
    copyDigits: values["copy-digits"],
    wordingSet: wordingSet(values.wordings!),
    answerWeight: num("answer-weight", values["answer-weight"]!),
    seqLen: opt("seq-len"),
    warmupSteps: opt("warmup"),
    initFrom: values["init-from"],
    stopAfter: opt("stop-after"),
    checkpointEvery: num("checkpoint-every", values["checkpoint-every"]!),
    logEvery: num("log-every", values["log-every"]!),
    outDir: out,
    resume: !values["no-resume"],
    workers: values.workers === "auto" ? "auto" : num("workers", values.workers!),
  };
}

/** Parses the command line and runs (or resumes) the pretraining. */
export async function main(argv: string[]): Promise<void> {
  const values = parsePretrainFlags(argv);
  const out = values.out ?? `assets/checkpoints/${values.preset!}`;
  const choice = await initBackend(
    values.backend ? { backend: values.backend as "wasm" | "cpu" | "webgpu" } : {},
  );
  console.log(`backend ${choice.backend} (${choice.reason})`);
  const o = trainOptionsFromFlags(values, out);
  const result = await train(o);
  if (result.stepsDone === o.steps) {
    await saveCheckpoint(`${out}/model.safetensors`, result.config, result.model.weights(), {
      metadata: {
        step: String(result.stepsDone),
        elapsed_s: result.elapsedS.toFixed(1),
        tokens: String(result.curve.at(-1)?.tokens ?? 0),
        command: `deno task pretrain ${argv.join(" ")}`,
      },
    });
    console.log(
      `done: ${out}/model.safetensors after ${o.steps} steps, ${result.elapsedS.toFixed(0)} s`,
    );
  }
  result.model.dispose();
}

if (import.meta.main) await main(Deno.args);
