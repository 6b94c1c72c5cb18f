/**
 * `deno task retrofit --preset <p>`: the whole experiment as one resumable command.
 *
 * 1. Evaluates the base model (unconverted, `option=base`, step 0) and every conversion at step 0.
 * 2. Fine-tunes every option x seed from the same base checkpoint at 8 x L0 with identical steps,
 *    batch, tokens, learning-rate schedule, data mixture and seeds (the seed picks the batches, so
 *    seed k feeds every option the very same data), evaluating every `evalEvery` steps (a probe:
 *    near bpb + the long passkey grid) and fully at the last step.
 * 3. Times every option's forward pass at 8 x L0 against the base model, interleaved in one run,
 *    as soon as all seeds of the option are done.
 * 4. Writes `assets/results/<preset>/metrics.csv` (schema: src/eval/results.ts) and `samples.csv`
 *    (per-example retrieval outcomes) atomically; while work is missing they are named
 *    `metrics.partial.csv` / `samples.partial.csv` instead, so a partial run never poses as done.
 *
 * Resume: each (option, seed) run lives in `<work>/<option>/seed<k>/` with the trainer's atomic
 * checkpoint (`latest.safetensors`, weights + optimizer state) and `evals.json` (atomic). Rerunning
 * the command skips finished evaluations and runs and resumes a partial one from its checkpoint;
 * a resumed run gives the same weights as one that never stopped (the trainer's guarantee).
 *
 * @example
 * ```sh
 * deno task retrofit --preset tiny
 * deno task retrofit --preset course --seeds 0,1,2 --options rope,pi,ntk,yarn,alibi,t5
 * ```
 * @module
 */
import { parseArgs } from "node:util";
import { initBackend } from "../backend.ts";
import { type Corpus, loadCorpus } from "../data/corpus.ts";
import { loadCheckpoint, saveCheckpoint } from "../model/checkpoint.ts";
import { Decoder } from "../model/decoder.ts";
import { getPreset } from "../model/presets.ts";
import { train } from "../train/trainer.ts";
import { writeFileAtomic } from "../util/atomic.ts";
import {
  type EvalDepth,
  type EvalRow,
  evaluateModel,
  type EvaluationPlan,
  evaluationPlan,
  gridMean,
  latencyRatios,
} from "../eval/long_context.ts";
import { formatMetricsCsv, type MetricRow, resultsDir } from "../eval/results.ts";
import { convert, RETROFIT_IDS, type RetrofitId } from "./registry.ts";

/** Fine-tune settings shared by every option (one budget). */
export interface FinetuneBudget {
  steps: number;
  batch: number;
  lr: number;
  warmupSteps: number;
  evalEvery: number;
  taskFraction: number;
}

/** Per-preset defaults: the budget and the retrieval threshold for steps-to-threshold. */
export const FINETUNE_DEFAULTS: Record<string, FinetuneBudget & { threshold: number }> = {
  tiny: {
    steps: 60,
    batch: 4,
    lr: 1e-3,
    warmupSteps: 6,
    evalEvery: 15,
    taskFraction: 0.5,
    threshold: 0.5,
  },
  course: {
    steps: 48,
    batch: 1,
    lr: 5e-4,
    warmupSteps: 5,
    evalEvery: 16,
    taskFraction: 0.5,
    threshold: 0.5,
  },
  full: {
    steps: 1000,
    batch: 1,
    lr: 2e-5,
    warmupSteps: 20,
    evalEvery: 100,
    taskFraction: 0.5,
    threshold: 0.8,
  },
};

/** Everything one invocation needs. */
export interface RetrofitRunOptions {
  preset: string;
  /** Base checkpoint (weights of the pretrained RoPE model at L0). */
  base: string;
  options: readonly RetrofitId[];
  seeds: readonly number[];
  budget: FinetuneBudget;
  threshold: number;
  plan: EvaluationPlan;
  /** Checkpoints and per-run evaluations (ignored by git). */
  workDir: string;
  /** Where metrics.csv and samples.csv go. */
  outDir: string;
  commit: string;
  command: string;
  /** Stop after this many fine-tune steps in this invocation (simulates an interruption). */
  maxSteps?: number;
  corpus?: Corpus;
  log?: (line: string) => void;
}

/** A stored evaluation row (metrics.csv fields except option and seed). */
interface StoredRow extends EvalRow {
  step: number;
  commit: string;
  command: string;
}

/** What {@link runRetrofit} returns. */
export interface RetrofitRunResult {
  complete: boolean;
  rows: MetricRow[];
  metricsPath: string;
  stepsTrained: number;
}

async function readJson<T>(path: string): Promise<T | undefined> {
  try {
    return JSON.parse(await Deno.readTextFile(path)) as T;
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) return undefined;
    throw e;
  }
}

async function writeJson(path: string, value: unknown): Promise<void> {
  await writeFileAtomic(path, JSON.stringify(value));
}

function fmtTime(s: number): string {
  if (!Number.isFinite(s)) return "?";
  const h = Math.floor(s / 3600), m = Math.floor((s % 3600) / 60), sec = Math.floor(s % 60);
  return h ? `${h}h${String(m).padStart(2, "0")}m` : `${m}m${String(sec).padStart(2, "0")}s`;
}

/** The evaluation steps of a budget: every evalEvery steps and the last step. */
export function evalSteps(budget: FinetuneBudget): number[] {
  const out: number[] = [];
  for (let s = budget.evalEvery; s < budget.steps; s += budget.evalEvery) out.push(s);
  out.push(budget.steps);
  return out;
}

/** First evaluated step whose mean long passkey accuracy reaches `threshold` (null: never). */
export function stepsToThreshold(rows: readonly StoredRowLike[], threshold: number): number | null {
  const steps = [...new Set(rows.map((r) => r.step))].sort((a, b) => a - b);
  for (const s of steps) {
    const m = gridMean(rows.filter((r) => r.step === s), "long_passkey_acc");
    if (m >= threshold) return s;
  }
  return null;
}

/** The fields {@link stepsToThreshold} reads. */
export type StoredRowLike = EvalRow & { step: number };

/** Runs (or resumes) the whole experiment; see the module note. */
export async function runRetrofit(o: RetrofitRunOptions): Promise<RetrofitRunResult> {
  const log = o.log ?? ((l: string) => console.log(l));
  const corpus = o.corpus ?? await loadCorpus();
  const docs = corpus.heldOut;
  const base = await loadCheckpoint(o.base);
  await checkSameBase(o.base, o.workDir);
  const preset = getPreset(o.preset);
  if (base.config.contextLength !== preset.contextLength) {
    throw new RangeError(
      `base checkpoint has contextLength ${base.config.contextLength}; preset ${o.preset} needs ${preset.contextLength}`,
    );
  }
  const target = preset.targetLength;
  const stamp = (rows: EvalRow[], step: number): StoredRow[] =>
    rows.map((r) => ({ ...r, step, commit: o.commit, command: o.command }));
  const t0 = performance.now();
  const elapsed = () => (performance.now() - t0) / 1000;
  const evalLog = (l: string) => log(`${l} [${fmtTime(elapsed())}]`);

  // 1. Base model and step-0 conversions (each cached once; deterministic).
  const basePath = `${o.workDir}/base/eval.json`;
  let baseRows = await readJson<StoredRow[]>(basePath);
  if (!baseRows) {
    log("evaluating the base model (unconverted) ...");
    const model = Decoder.fromWeights(base.config, base.weights);
    baseRows = stamp(
      [...evaluateModel(model, docs, o.plan, "full", evalLog), newParamsRow(0)],
      0,
    );
    model.dispose();
    await writeJson(basePath, baseRows);
  }
  // Step 0 of each option is evaluated just before its fine-tunes (so a long run makes progress
  // option by option), once, since it does not depend on the seed.
  const step0 = new Map<RetrofitId, StoredRow[]>();
  const ensureStep0 = async (id: RetrofitId): Promise<void> => {
    const path = `${o.workDir}/${id}/step0.json`;
    let rows = await readJson<StoredRow[]>(path);
    if (!rows) {
      log(`evaluating ${id} at step 0 (converted, not fine-tuned) ...`);
      const conv = convert(id, base.config, base.weights, { targetLength: target });
      const model = Decoder.fromWeights(conv.config, conv.weights);
      rows = stamp(
        [...evaluateModel(model, docs, o.plan, "full", evalLog), newParamsRow(conv.newParams)],
        0,
      );
      model.dispose();
      await writeJson(path, rows);
    }
    step0.set(id, rows);
  };

  // Latency at 8 x L0, each option interleaved with the base model, measured as soon as all of
  // the option's seeds are done (so a crash in a later option keeps it).
  const latencyPath = `${o.workDir}/latency.json`;
  const latency = (await readJson<Record<string, StoredRow[]>>(latencyPath)) ?? {};
  const ensureLatency = async (id: RetrofitId): Promise<void> => {
    if (latency[id]) return;
    log(`timing ${id} against the base model at ${target} tokens ...`);
    const baseModel = Decoder.fromWeights(base.config, base.weights);
    const models: Decoder[] = [];
    for (const seed of o.seeds) {
      const ck = await loadCheckpoint(`${o.workDir}/${id}/seed${seed}/latest.safetensors`);
      models.push(Decoder.fromWeights(ck.config, ck.weights));
    }
    const r = latencyRatios(baseModel, models, target, o.plan.latencyRepeats);
    latency[id] = r.ratios.map((ratio) => ({
      metric: "latency_ratio",
      setting: `ctx=${target}`,
      value: ratio,
      n: o.plan.latencyRepeats,
      step: o.budget.steps,
      commit: o.commit,
      command: o.command,
    }));
    log(
      `  ${id}: ${r.ratios.map((x) => x.toFixed(3)).join(", ")} x base (${
        (r.baseSecondsPerToken * 1e6).toFixed(0)
      } us/token)`,
    );
    baseModel.dispose();
    models.forEach((m) => m.dispose());
    // Merge with what is on disk: another process on the same work folder (e.g. one running other
    // --options) may have timed other options since this one started.
    const onDisk = (await readJson<Record<string, StoredRow[]>>(latencyPath)) ?? {};
    Object.assign(latency, { ...onDisk, [id]: latency[id] });
    await writeJson(latencyPath, latency);
  };

  // 2. Fine-tunes.
  const steps = evalSteps(o.budget);
  const runs = o.options.flatMap((id) => o.seeds.map((seed) => ({ id, seed })));
  const totalSteps = runs.length * o.budget.steps;
  let stepsTrained = 0;
  let doneBefore = 0;
  const evals = new Map<string, StoredRow[]>();
  let interrupted = false;
  for (const [i, { id, seed }] of runs.entries()) {
    const dir = `${o.workDir}/${id}/seed${seed}`;
    const rows = (await readJson<StoredRow[]>(`${dir}/evals.json`)) ?? [];
    evals.set(`${id}/${seed}`, rows);
    const done = new Set(rows.map((r) => r.step));
    const todo = steps.filter((s) => !done.has(s));
    doneBefore += Math.max(0, ...rows.map((r) => r.step));
    if (!interrupted) await ensureStep0(id);
    const lastSeed = seed === o.seeds[o.seeds.length - 1];
    if (!todo.length || interrupted) {
      if (!interrupted && lastSeed) await ensureLatency(id);
      continue;
    }
    const conv = convert(id, base.config, base.weights, { targetLength: target });
    const initPath = `${dir}/init.safetensors`;
    if (!(await exists(initPath))) await saveCheckpoint(initPath, conv.config, conv.weights);
    const prefix = `[${id} seed ${seed}, run ${i + 1}/${runs.length}]`;
    for (const s of todo) {
      const budgetLeft = o.maxSteps === undefined ? Infinity : o.maxSteps - stepsTrained;
      const before = await trainedSteps(dir);
      const stopAt = Math.min(s, before + budgetLeft);
      const result = await train({
        preset: o.preset,
        config: conv.config,
        steps: o.budget.steps,
        batch: o.budget.batch,
        seqLen: target,
        lr: o.budget.lr,
        warmupSteps: o.budget.warmupSteps,
        seed,
        taskFraction: o.budget.taskFraction,
        outDir: dir,
        initFrom: initPath,
        checkpointEvery: o.budget.evalEvery,
        logEvery: Math.max(1, Math.min(10, o.budget.evalEvery)),
        stopAfter: stopAt,
        corpus,
        log: (l) => log(`${prefix} ${l}`),
      });
      stepsTrained += result.stepsDone - result.resumedFrom;
      if (result.stepsDone < s) {
        result.model.dispose();
        interrupted = true;
        log(`${prefix} stopped at step ${result.stepsDone} (--max-steps); rerun to resume`);
        break;
      }
      const depth: EvalDepth = s === o.budget.steps ? "full" : "probe";
      log(`${prefix} evaluating at step ${s} (${depth}) ...`);
      const extra = depth === "full" ? [newParamsRow(conv.newParams)] : [];
      rows.push(
        ...stamp([...evaluateModel(result.model, docs, o.plan, depth, evalLog), ...extra], s),
      );
      result.model.dispose();
      await writeJson(`${dir}/evals.json`, rows);
      const doneSteps = doneBefore + stepsTrained;
      const rate = elapsed() / Math.max(1, stepsTrained);
      log(
        `${prefix} step ${s}/${o.budget.steps} evaluated; overall ${doneSteps}/${totalSteps} steps, ` +
          `elapsed ${fmtTime(elapsed())}, ETA ${
            fmtTime(rate * (totalSteps - doneSteps))
          } (incl. eval)`,
      );
    }
    if (!interrupted && lastSeed) await ensureLatency(id);
  }

  // 3. Assemble the tidy tables.
  const out: MetricRow[] = [];
  const samples: string[] = ["option,seed,step,metric,setting,sample,correct"];
  const add = (option: string, seed: number, rows: readonly StoredRow[]) => {
    for (const r of rows) {
      out.push({
        option,
        seed,
        step: r.step,
        metric: r.metric,
        setting: r.setting,
        value: r.value,
        n: r.n,
        commit: r.commit,
        command: r.command,
      });
      r.samples?.forEach((x, j) =>
        samples.push(`${option},${seed},${r.step},${r.metric},${r.setting},${j},${x}`)
      );
    }
  };
  add("base", 0, [...baseRows, {
    metric: "latency_ratio",
    setting: `ctx=${target}`,
    value: 1,
    n: o.plan.latencyRepeats,
    step: 0,
    commit: o.commit,
    command: o.command,
  }]);
  let complete = !interrupted;
  for (const id of o.options) {
    for (const [k, seed] of o.seeds.entries()) {
      const rows = evals.get(`${id}/${seed}`) ?? [];
      const zero = step0.get(id) ??
        (await readJson<StoredRow[]>(`${o.workDir}/${id}/step0.json`)) ?? [];
      if (!zero.length) complete = false;
      add(id, seed, zero);
      add(id, seed, rows);
      const finished = rows.some((r) => r.step === o.budget.steps);
      if (!finished) {
        complete = false;
        continue;
      }
      const all = [...zero, ...rows];
      const reached = stepsToThreshold(all, o.threshold);
      const last = rows.find((r) => r.step === o.budget.steps)!;
      add(id, seed, [{
        metric: "steps_to_threshold",
        setting: `threshold=${o.threshold}`,
        value: reached,
        n: 1,
        step: o.budget.steps,
        commit: last.commit,
        command: last.command,
      }]);
      const lat = latency[id]?.[k];
      if (lat) add(id, seed, [lat]);
      else complete = false;
    }
  }
  const suffix = complete ? "" : ".partial";
  const metricsPath = `${o.outDir}/metrics${suffix}.csv`;
  await Deno.mkdir(o.outDir, { recursive: true });
  await writeFileAtomic(metricsPath, formatMetricsCsv(out));
  await writeFileAtomic(`${o.outDir}/samples${suffix}.csv`, samples.join("\n") + "\n");
  await writeJson(`${o.outDir}/run${suffix}.json`, {
    preset: o.preset,
    base: o.base,
    options: o.options,
    seeds: o.seeds,
    budget: o.budget,
    tokensPerRun: o.budget.steps * o.budget.batch * target,
    threshold: o.threshold,
    plan: o.plan,
    commit: o.commit,
    command: o.command,
    complete,
  });
  if (complete) {
    for (const f of ["metrics", "samples", "run"]) {
      await Deno.remove(`${o.outDir}/${f}.partial.${f === "run" ? "json" : "csv"}`).catch(() => {});
    }
  }
  log(
    `${complete ? "complete" : "partial"}: ${metricsPath} (${out.length} rows) after ${
      fmtTime(elapsed())
    }`,
  );
  return { complete, rows: out, metricsPath, stepsTrained };
}

/**
 * Pins the work folder to one base checkpoint (by SHA-256): resuming against a different base
 * would mix two experiments, so it is refused.
 */
async function checkSameBase(basePath: string, workDir: string): Promise<void> {
  const digest = await crypto.subtle.digest("SHA-256", await Deno.readFile(basePath));
  const hex = Array.from(new Uint8Array(digest), (b) => b.toString(16).padStart(2, "0")).join("");
  const pinPath = `${workDir}/base.sha256`;
  const pinned = await Deno.readTextFile(pinPath).then((t) => t.trim(), () => undefined);
  if (pinned === undefined) {
    await Deno.mkdir(workDir, { recursive: true });
    await writeFileAtomic(pinPath, hex + "\n");
  } else if (pinned !== hex) {
    throw new RangeError(
      `base checkpoint ${basePath} (sha256 ${hex.slice(0, 12)}) differs from the one ${workDir} ` +
        `was started with (${pinned.slice(0, 12)}); use another --work or delete ${workDir}`,
    );
  }
}

function newParamsRow(count: number): EvalRow {
  return { metric: "new_params", setting: "", value: count, n: 1 };
}

async function exists(path: string): Promise<boolean> {
  return await Deno.stat(path).then(() => true, () => false);
}

async function trainedSteps(dir: string): Promise<number> {
  const path = `${dir}/latest.safetensors`;
  if (!(await exists(path))) return 0;
  const ck = await loadCheckpoint(path);
  return Number(ck.metadata.step ?? 0);
}

/** `git rev-parse HEAD` of the repository (or "unknown"). */
export async function gitCommit(): Promise<string> {
  try {
    const out = await new Deno.Command("git", { args: ["rev-parse", "HEAD"], stdout: "piped" })
      .output();
    return new TextDecoder().decode(out.stdout).trim() || "unknown";
  } catch {
    return "unknown";
  }
}

/** Parses the command line and runs the experiment. */
export async function main(argv: string[]): Promise<RetrofitRunResult> {
  const { values } = parseArgs({
    args: argv,
    options: {
      preset: { type: "string", default: Deno.env.get("COURSE_PRESET") ?? "course" },
      base: { type: "string" },
      options: { type: "string", default: RETROFIT_IDS.join(",") },
      seeds: { type: "string", default: "0,1,2" },
      steps: { type: "string" },
      batch: { type: "string" },
      lr: { type: "string" },
      "eval-every": { type: "string" },
      threshold: { type: "string" },
      "per-cell": { type: "string" },
      work: { type: "string" },
      out: { type: "string" },
      "max-steps": { type: "string" },
      backend: { type: "string" },
    },
  });
  const preset = values.preset!;
  const d = FINETUNE_DEFAULTS[preset];
  if (!d) {
    throw new RangeError(
      `preset must be one of ${Object.keys(FINETUNE_DEFAULTS)}; got "${preset}"`,
    );
  }
  const num = (name: string, v: string | undefined, fallback: number) => {
    if (v === undefined) return fallback;
    const x = Number(v);
    if (!Number.isFinite(x)) throw new RangeError(`--${name} must be a number; got "${v}"`);
    return x;
  };
  const options = values.options!.split(",").map((s) => s.trim()) as RetrofitId[];
  for (const id of options) {
    if (!RETROFIT_IDS.includes(id)) {
      throw new RangeError(`--options must be ids from ${RETROFIT_IDS.join(", ")}; got "${id}"`);
    }
  }
  const seeds = values.seeds!.split(",").map((s) => num("seeds", s, 0));
  const choice = await initBackend(
    values.backend ? { backend: values.backend as "wasm" | "cpu" | "webgpu" } : {},
  );
  console.log(`backend ${choice.backend} (${choice.reason})`);
  const budget: FinetuneBudget = {
    steps: num("steps", values.steps, d.steps),
    batch: num("batch", values.batch, d.batch),
    lr: num("lr", values.lr, d.lr),
    warmupSteps: d.warmupSteps,
    evalEvery: num("eval-every", values["eval-every"], d.evalEvery),
    taskFraction: d.taskFraction,
  };
  const plan = evaluationPlan(
    preset,
    values["per-cell"] ? { perCell: num("per-cell", values["per-cell"], 8) } : {},
  );
  return await runRetrofit({
    preset,
    base: values.base ?? `assets/checkpoints/${preset}/model.safetensors`,
    options,
    seeds,
    budget,
    threshold: num("threshold", values.threshold, d.threshold),
    plan,
    workDir: values.work ?? `build/retrofit/${preset}`,
    outDir: values.out ?? resultsDir(preset, "."),
    commit: await gitCommit(),
    command: `deno task retrofit ${argv.join(" ")}`.trim(),
    maxSteps: values["max-steps"] ? num("max-steps", values["max-steps"], 0) : undefined,
  });
}

if (import.meta.main) await main(Deno.args);
