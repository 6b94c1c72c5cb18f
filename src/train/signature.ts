/**
 * The run signature: the fields of a training run that define its result. It is stored in every
 * checkpoint, and a resume must agree with it field by field.
 *
 * Optional fields are present only when used, so that the signatures of earlier runs (and their
 * checkpoints, byte for byte) are unchanged.
 *
 * @example
 * ```ts
 * import { runSignature, signatureDiffs } from "./signature.ts";
 * const sig = runSignature({ preset: "tiny", steps: 10, batch: 4, outDir: "/tmp/r" }, config, 64);
 * signatureDiffs(JSON.parse(savedRunJson), sig); // [] when a resume may proceed
 * ```
 * @module
 */
import type { ModelConfig } from "../model/config.ts";
import type { WordingSet } from "../data/passkey.ts";

/** The options that define a training run's result (the trainer's TrainOptions extend them). */
export interface SignatureOptions {
  preset: string;
  steps: number;
  batch: number;
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
  /** Copy rows only where text would be (see mixture.ts). */
  copyReplacesText?: boolean;
  answerWeight?: number;
  /**
   * From this step on, train on rows of `shortSeqLen` with the batch scaled so that every step
   * keeps the same tokens (the short-replay mitigation: same steps, tokens, schedule, optimizer).
   */
  shortFrom?: number;
  shortSeqLen?: number;
  /** Passkey wordings of task rows (see mixture.ts; default "canonical"). */
  wordingSet?: WordingSet;
  /** Start from these weights instead of a fresh init (fine-tuning). */
  initFrom?: string;
}

/** The fields of a run that define its result, with defaults filled in. */
export interface RunSignature {
  preset: string;
  config: ModelConfig;
  steps: number;
  batch: number;
  seqLen: number;
  lr: number;
  warmupSteps: number;
  minLrRatio: number;
  weightDecay: number;
  clipNorm: number;
  seed: number;
  taskFraction: number;
  copyFraction: number;
  copyMaxDistance?: number;
  copyDigits?: true;
  copyReplacesText?: true;
  wordingSet?: WordingSet;
  shortFrom?: number;
  shortSeqLen?: number;
  answerWeight: number;
  initFrom: string | null;
  /**
   * Number of row shards each batch's gradient is summed from (data-parallel workers); present
   * only when above 1. Summing shards rounds differently from one whole-batch gradient, so a run
   * resumes only with the shard count it started with.
   */
  gradShards?: number;
}

/** The run signature of options `o` trained at `seqLen` with `gradShards` gradient shards. */
export function runSignature(
  o: SignatureOptions,
  config: ModelConfig,
  seqLen: number,
  gradShards = 1,
): RunSignature {
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
    ...(o.copyMaxDistance === undefined ? {} : { copyMaxDistance: o.copyMaxDistance }),
    ...(o.copyDigits ? { copyDigits: true as const } : {}),
    ...(o.copyReplacesText ? { copyReplacesText: true as const } : {}),
    ...(o.wordingSet && o.wordingSet !== "canonical" ? { wordingSet: o.wordingSet } : {}),
    ...(o.shortFrom === undefined ? {} : { shortFrom: o.shortFrom, shortSeqLen: o.shortSeqLen }),
    answerWeight: o.answerWeight ?? 4,
    initFrom: o.initFrom ?? null,
    ...(gradShards > 1 ? { gradShards } : {}),
  };
}

/** Field-by-field differences between a saved signature and `sig`, as readable strings. */
export function signatureDiffs(saved: Partial<RunSignature>, sig: RunSignature): string[] {
  const keys = new Set([...Object.keys(sig), ...(saved.gradShards ? ["gradShards"] : [])]);
  return [...keys]
    .filter((k) =>
      JSON.stringify(saved[k as keyof RunSignature]) !==
        JSON.stringify(sig[k as keyof RunSignature])
    )
    .map((k) =>
      `${k}: ${JSON.stringify(saved[k as keyof RunSignature])} vs ${
        JSON.stringify(sig[k as keyof RunSignature])
      }`
    );
}
