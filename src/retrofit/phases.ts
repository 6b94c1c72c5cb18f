/**
 * The phases of the retrofit experiment, each one unit of work that ends in a committed record
 * (see workspace.ts): evaluate the base model, evaluate a conversion at step 0, fine-tune one
 * (option, seed) with evaluations at every budget (a chunk), and time latency.
 *
 * Budgets: the learning rate is constant after warmup, so the checkpoint at an intermediate
 * budget is a valid shorter fine-tune (a decayed schedule's midpoint would not be). Seed k picks
 * the fine-tune data stream (src/train/mixture.ts, via deriveSeed); the same k feeds every option
 * the same data, so seeds pair across options. No conversion draws random numbers (the T5 table
 * starts ALiBi-shaped), so the seed changes nothing else.
 *
 * @example
 * ```ts
 * const ctx = await phaseContext({ preset: "tiny", base: "assets/checkpoints/tiny/model.safetensors", ... });
 * await evaluateBasePhase(ctx);
 * await fineTunePhase(ctx, "yarn", 0);
 * ```
 * @module
 */
import { OtherCpu, otherCpuNote } from "../util/cpu_share.ts";
import type { Corpus } from "../data/corpus.ts";
import type { WordingSet } from "../data/passkey.ts";
import {
  type EvalDepth,
  type EvalRow,
  evaluateModel,
  type EvaluationPlan,
  latencyRounds,
} from "../eval/long_context.ts";
import { type LoadedCheckpoint, saveCheckpoint } from "../model/checkpoint.ts";
import { Decoder } from "../model/decoder.ts";
import { train, type TrainOptions, type TrainResult } from "../train/trainer.ts";
import { exists, readJson, writeJson } from "../util/files.ts";
import { fmtTime } from "../util/time.ts";
import { MITIGATIONS, type MitigationVariantId } from "./mitigations.ts";
import { type Conversion, convert, type OptionId } from "./registry.ts";
import {
  machineInfo,
  type RetrofitWorkspace,
  type RunRecord,
  type StoredRow,
} from "./workspace.ts";

/** Fine-tune settings shared by every option (one budget curve). */
export interface FinetuneBudget {
  /** The final (largest) budget in optimizer steps. */
  steps: number;
  /** Budgets evaluated, ascending, the last equal to `steps` (step 0 is evaluated separately). */
  evalAt: number[];
  batch: number;
  /** Peak learning rate, constant after warmup. */
  lr: number;
  warmupSteps: number;
  /** Fraction of fine-tune rows that are retrieval tasks. */
  taskFraction: number;
  /** Wordings of those tasks (the base model's pretraining set). */
  wordingSet: WordingSet;
}

/** Everything the phases share. */
export interface PhaseContext {
  preset: string;
  ws: RetrofitWorkspace;
  base: LoadedCheckpoint;
  /** SHA-256 of the base checkpoint (pinned in the workspace). */
  baseSha256: string;
  targetLength: number;
  budget: FinetuneBudget;
  plan: EvaluationPlan;
  corpus: Corpus;
  commit: string;
  command: string;
  backend: string;
  log: (line: string) => void;
}

/** Checks a budget: evalAt ascending positive integers ending at steps. */
export function validateBudget(b: FinetuneBudget): void {
  if (!Number.isInteger(b.steps) || b.steps < 1) {
    throw new RangeError(`steps must be an integer >= 1; got ${b.steps}`);
  }
  const ok = b.evalAt.length > 0 &&
    b.evalAt.every((s, i) => Number.isInteger(s) && s >= 1 && (i === 0 || s > b.evalAt[i - 1])) &&
    b.evalAt.at(-1) === b.steps;
  if (!ok) {
    throw new RangeError(
      `evalAt must be ascending integers >= 1 ending at steps (${b.steps}); got ${b.evalAt}`,
    );
  }
  if (!(b.warmupSteps >= 0 && b.warmupSteps < b.evalAt[0])) {
    throw new RangeError(
      `warmupSteps must be in [0, ${b.evalAt[0] - 1}] (warmup ends before the first budget); ` +
        `got ${b.warmupSteps}`,
    );
  }
}

function stamp(ctx: PhaseContext, rows: readonly EvalRow[], step: number): StoredRow[] {
  return rows.map((r) => ({ ...r, step, commit: ctx.commit, command: ctx.command }));
}

function record(
  ctx: PhaseContext,
  kind: RunRecord["kind"],
  option: string,
  seed: number,
  rows: StoredRow[],
  seconds: number,
  meta?: Record<string, unknown>,
): RunRecord {
  return {
    kind,
    option,
    seed,
    rows,
    commit: ctx.commit,
    command: ctx.command,
    seconds,
    machine: machineInfo(ctx.backend),
    meta,
  };
}

function newParamsRow(count: number): EvalRow {
  return { metric: "new_params", setting: "", value: count, n: 1 };
}

function evaluate(ctx: PhaseContext, model: Decoder, depth: EvalDepth, what: string): EvalRow[] {
  const t0 = performance.now();
  ctx.log(`${what}: evaluating (${depth}) ...`);
  const rows = evaluateModel(model, ctx.corpus.heldOut, ctx.plan, depth, (l) => ctx.log(l));
  ctx.log(`${what}: evaluated in ${fmtTime((performance.now() - t0) / 1000)}`);
  return rows;
}

/**
 * True when the record at `path` exists and was made with this plan; a record made with another
 * evaluation plan would mix two experiments, so it is refused (records that predate storing the
 * plan are accepted).
 */
async function done(ctx: PhaseContext, path: string): Promise<boolean> {
  const rec = await ctx.ws.read(path);
  if (!rec) return false;
  const plan = rec.meta?.plan;
  if (plan !== undefined && JSON.stringify(plan) !== JSON.stringify(ctx.plan)) {
    throw new RangeError(
      `${path} was made with another evaluation plan; use another --out or move the records away`,
    );
  }
  return true;
}

/** Phase 1: the unconverted base model at every length (option `base`, step 0). */
export async function evaluateBasePhase(ctx: PhaseContext): Promise<void> {
  const path = ctx.ws.basePath();
  if (await done(ctx, path)) return;
  const t0 = performance.now();
  const model = Decoder.fromWeights(ctx.base.config, ctx.base.weights);
  const rows = [...evaluate(ctx, model, "full", "base"), newParamsRow(0)];
  model.dispose();
  const seconds = (performance.now() - t0) / 1000;
  const meta = { plan: ctx.plan };
  await ctx.ws.write(path, record(ctx, "base", "base", 0, stamp(ctx, rows, 0), seconds, meta));
}

/**
 * Phase 2: a conversion before any training (once per option: it does not depend on the seed).
 * `rope` converts to the base model itself, so its step 0 is the base record's rows.
 */
export async function evaluateStep0Phase(ctx: PhaseContext, id: OptionId): Promise<void> {
  const path = ctx.ws.step0Path(id);
  if (await done(ctx, path)) return;
  const t0 = performance.now();
  const conv = convert(id, ctx.base.config, ctx.base.weights, { targetLength: ctx.targetLength });
  let rows: StoredRow[];
  const base = id === "rope" ? await ctx.ws.read(ctx.ws.basePath()) : undefined;
  if (base) {
    rows = base.rows.filter((r) => r.metric !== "new_params");
  } else {
    const model = Decoder.fromWeights(conv.config, conv.weights);
    rows = stamp(ctx, evaluate(ctx, model, "full", `${id} step 0`), 0);
    model.dispose();
  }
  rows.push(...stamp(ctx, [newParamsRow(conv.newParams)], 0));
  const seconds = (performance.now() - t0) / 1000;
  await ctx.ws.write(path, record(ctx, "step0", id, 0, rows, seconds, { plan: ctx.plan }));
}

/**
 * Phase 3: one fine-tune (option, seed) from the base, evaluated at every budget of `evalAt`
 * (probe evaluations, full at the final budget). Resumes from the trainer's checkpoint and the
 * evaluations already done; writes the chunk record only when the whole run is done, and ships
 * seed 0's final weights.
 */
export async function fineTunePhase(
  ctx: PhaseContext,
  id: OptionId,
  seed: number,
  variant?: MitigationVariantId,
): Promise<void> {
  const label = variant ? `${id}+${variant}` : id;
  const chunkPath = ctx.ws.chunkPath(label, seed);
  if (await done(ctx, chunkPath)) return;
  const run = await setUpChunk(ctx, id, label, seed, variant);
  const { b, changes } = run;
  const progress = await chunkProgress(
    run.dir,
    JSON.stringify({ budget: b, plan: ctx.plan, changes }),
  );
  const t0 = performance.now() - progress.seconds * 1000;
  for (const s of b.evalAt) {
    if (progress.rows.some((r) => r.step === s)) continue;
    await fineTuneToBudget(ctx, run, s, progress, t0);
  }
  const meta = {
    budget: b,
    plan: ctx.plan,
    tokens: b.steps * b.batch * ctx.targetLength,
    ...(variant ? { variant, changes } : {}),
  };
  await ctx.ws.write(
    chunkPath,
    record(ctx, "chunk", label, seed, progress.rows, progress.seconds, meta),
  );
}

/** One chunk's fine-tune, set up: what it trains, on which budget, in which folder. */
interface ChunkRun {
  label: string;
  seed: number;
  /** The budget (a variant's: the final budget only). */
  b: FinetuneBudget;
  /** A mitigation variant's changes to training ({} for none). */
  changes: Partial<TrainOptions>;
  /** In-progress work, keyed by the base checkpoint. */
  dir: string;
  /** The converted model the fine-tune starts from. */
  conv: Conversion;
  initPath: string;
  /** Log line prefix: "[label seed k]". */
  prefix: string;
}

/** The budget, training changes and folder of a chunk; saves its converted start once. */
async function setUpChunk(
  ctx: PhaseContext,
  id: OptionId,
  label: string,
  seed: number,
  variant?: MitigationVariantId,
): Promise<ChunkRun> {
  // A variant is compared with its control at the final budget only.
  const b = variant ? { ...ctx.budget, evalAt: [ctx.budget.steps] } : ctx.budget;
  validateBudget(b);
  const changes = variant
    ? MITIGATIONS[variant].train({
      steps: b.steps,
      contextLength: ctx.base.config.contextLength,
      targetLength: ctx.targetLength,
    })
    : {};
  // In-progress work is keyed by the base checkpoint; its budget and plan must match (below).
  const dir = `${ctx.ws.trainDir(label, seed)}/${ctx.baseSha256.slice(0, 12)}`;
  const conv = convert(id, ctx.base.config, ctx.base.weights, { targetLength: ctx.targetLength });
  const initPath = `${dir}/init.safetensors`;
  if (!(await exists(initPath))) await saveCheckpoint(initPath, conv.config, conv.weights);
  return { label, seed, b, changes, dir, conv, initPath, prefix: `[${label} seed ${seed}]` };
}

/** The evaluations a chunk has done so far: rows, seconds spent, and the key of its run. */
interface ChunkProgress {
  rows: StoredRow[];
  seconds: number;
  key: string;
}

/** The chunk's progress in `dir` (none yet: empty); refuses one made with another `key`. */
async function chunkProgress(dir: string, key: string): Promise<ChunkProgress> {
  const progress = (await readJson<ChunkProgress>(`${dir}/evals.json`)) ??
    { rows: [], seconds: 0, key };
  if (progress.key !== key) {
    throw new RangeError(
      `${dir} holds a run with another budget or evaluation plan; delete it to start over`,
    );
  }
  return progress;
}

/**
 * Trains the chunk up to budget `s` (resuming from its checkpoint), evaluates it (full at the
 * final budget), ships seed 0's final weights and saves the progress.
 */
async function fineTuneToBudget(
  ctx: PhaseContext,
  run: ChunkRun,
  s: number,
  progress: ChunkProgress,
  t0: number,
): Promise<void> {
  const { b, seed, prefix } = run;
  const result = await train({
    preset: ctx.preset,
    config: run.conv.config,
    steps: b.steps,
    batch: b.batch,
    seqLen: ctx.targetLength,
    lr: b.lr,
    warmupSteps: b.warmupSteps,
    minLrRatio: 1, // constant after warmup: every budget is a valid shorter fine-tune
    seed,
    taskFraction: b.taskFraction,
    wordingSet: b.wordingSet,
    outDir: run.dir,
    initFrom: run.initPath,
    checkpointEvery: b.evalAt[0],
    logEvery: Math.max(1, Math.min(16, b.evalAt[0])),
    stopAfter: s,
    corpus: ctx.corpus,
    log: (l) => ctx.log(`${prefix} ${l}`),
    ...run.changes,
  });
  const depth: EvalDepth = s === b.steps ? "full" : "probe";
  const extra = depth === "full" ? [newParamsRow(run.conv.newParams)] : [];
  const rows = evaluate(ctx, result.model, depth, `${prefix} step ${s}`);
  progress.rows.push(...stamp(ctx, [...rows, ...extra], s));
  progress.seconds = (performance.now() - t0) / 1000;
  if (s === b.steps && seed === 0) await shipWeights(ctx, run.label, seed, s, result);
  result.model.dispose();
  await writeJson(`${run.dir}/evals.json`, progress);
  ctx.log(`${prefix} budget ${s}/${b.steps} done after ${fmtTime(progress.seconds)}`);
}

/** Saves a fine-tuned model where the experiment ships it, with what made it. */
async function shipWeights(
  ctx: PhaseContext,
  label: string,
  seed: number,
  step: number,
  result: TrainResult,
): Promise<void> {
  await saveCheckpoint(ctx.ws.shippedPath(label), result.config, result.model.weights(), {
    metadata: {
      option: label,
      seed: String(seed),
      step: String(step),
      base_sha256: ctx.baseSha256,
      command: ctx.command,
      commit: ctx.commit,
    },
  });
}

/**
 * Phase 4: forward latency at the target length of every option against the base model,
 * interleaved (base, o1, o2, ... per round) for `plan.latencyRepeats` rounds in one process, on
 * re-converted models (the compute of a fine-tuned model is the same as its conversion's; the T5
 * table's values do not change the work). One sample per round: that round's ratio; the value is
 * their geometric mean.
 */
export async function latencyPhase(ctx: PhaseContext, ids: readonly OptionId[]): Promise<void> {
  const path = ctx.ws.latencyPath();
  if (await ctx.ws.has(path)) return;
  const t0 = performance.now();
  const base = Decoder.fromWeights(ctx.base.config, ctx.base.weights);
  const models = ids.map((id) => {
    const c = convert(id, ctx.base.config, ctx.base.weights, { targetLength: ctx.targetLength });
    return Decoder.fromWeights(c.config, c.weights);
  });
  ctx.log(`timing ${ids.join(", ")} against the base at ${ctx.targetLength} tokens ...`);
  // Other processes' share of the cores while timing: the record says how quiet the machine was.
  const other = new OtherCpu();
  const r = latencyRounds(base, models, ctx.targetLength, ctx.plan.latencyRepeats);
  const otherCpuShare = other.share();
  base.dispose();
  models.forEach((m) => m.dispose());
  const rows: StoredRow[] = ids.map((id, i) => ({
    metric: "latency_ratio",
    setting: `ctx=${ctx.targetLength};option=${id}`,
    value: geometricMean(r.ratios[i]),
    n: r.ratios[i].length,
    samples: r.ratios[i],
    step: 0,
    commit: ctx.commit,
    command: ctx.command,
  }));
  const seconds = (performance.now() - t0) / 1000;
  const meta = {
    baseSecondsPerToken: r.baseSecondsPerToken,
    rounds: ctx.plan.latencyRepeats,
    otherCpuShare,
    note: otherCpuNote(otherCpuShare),
  };
  await ctx.ws.write(path, record(ctx, "latency", "all", 0, rows, seconds, meta));
  ctx.log(
    `latency: ${ids.map((id, i) => `${id} ${geometricMean(r.ratios[i]).toFixed(3)}`).join(", ")}`,
  );
}

/** The geometric mean (what paired.ts averages latency rounds with). */
function geometricMean(xs: readonly number[]): number {
  return Math.exp(xs.reduce((s, x) => s + Math.log(x), 0) / xs.length);
}
