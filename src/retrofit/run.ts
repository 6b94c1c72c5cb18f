/**
 * `deno task retrofit --preset <p>`: the whole experiment as one resumable command.
 *
 * The pipeline (phases.ts), each unit of work ending in a committed record (workspace.ts):
 * 1. evaluate the base model, and every conversion at step 0 (once: it does not depend on seed);
 * 2. fine-tune every (option, seed) from the same base at 8 x L0 on one budget curve, evaluating
 *    at every budget (a chunk);
 * 3. time every option against the base model, interleaved, in one quiet process;
 * 4. assemble `metrics.csv`, `samples.csv` and `run.json` from the records (assemble.ts).
 *
 * `--jobs 2` runs units side by side in child processes, one per core (the wasm backend is
 * single-threaded), seed-major so partial results stay balanced across options; `--land`
 * commits each finished unit's records (and shipped weights) at once, so a stop loses at most the
 * units in flight. Latency is always timed alone, after the others.
 *
 * @example
 * ```sh
 * deno task retrofit --preset tiny
 * deno task retrofit --preset course --seeds 0,1,2,3,4 --jobs 2 --land
 * ```
 * @module
 */
import { parseArgs } from "node:util";
import { initBackend } from "../backend.ts";
import { type Corpus, loadCorpus } from "../data/corpus.ts";
import { type EvaluationPlan, evaluationPlan } from "../eval/long_context.ts";
import { loadCheckpoint } from "../model/checkpoint.ts";
import { getPreset } from "../model/presets.ts";
import { choiceFlag, listFlag, numberFlag, optionalNumber } from "../util/cli.ts";
import { gitCommit, isDirty } from "../util/git.ts";
import { exists } from "../util/files.ts";
import { fmtTime } from "../util/time.ts";
import { type AssembleResult, assembleTables } from "./assemble.ts";
import {
  evaluateBasePhase,
  evaluateStep0Phase,
  type FinetuneBudget,
  fineTunePhase,
  latencyPhase,
  type PhaseContext,
  validateBudget,
} from "./phases.ts";
import { parseVariantLabel } from "./mitigations.ts";
import { ALL_OPTION_IDS, type OptionId, RETROFIT_IDS } from "./registry.ts";
import { RetrofitWorkspace } from "./workspace.ts";

export type { FinetuneBudget } from "./phases.ts";
export { gitCommit } from "../util/git.ts";

/**
 * Per-preset budget curves and retrieval thresholds, fixed before the runs. The fine-tune's task
 * rows use the wordings the preset's base model was pretrained on (course: the `varied` set). The course curve
 * spans 8x (16 -> 128 steps of one 2,048-byte sequence); the learning rate is constant after
 * warmup so every budget is a valid shorter fine-tune.
 */
export const FINETUNE_DEFAULTS: Record<string, FinetuneBudget & { threshold: number }> = {
  tiny: {
    steps: 16,
    evalAt: [2, 4, 8, 16],
    batch: 2,
    lr: 1e-3,
    warmupSteps: 1,
    taskFraction: 0.5,
    wordingSet: "training",
    threshold: 0.5,
  },
  course: {
    steps: 128,
    evalAt: [16, 32, 64, 128],
    batch: 1,
    lr: 5e-4,
    warmupSteps: 8,
    taskFraction: 0.5,
    wordingSet: "varied",
    threshold: 0.5,
  },
  full: {
    steps: 1000,
    evalAt: [125, 250, 500, 1000],
    batch: 1,
    lr: 2e-5,
    warmupSteps: 20,
    taskFraction: 0.5,
    wordingSet: "varied",
    threshold: 0.8,
  },
};

/** One unit of work: `base`, `step0:<id>`, `chunk:<id>:<seed>` or `latency`. */
export type Task = string;

/** Everything one invocation needs. */
export interface RetrofitRunOptions {
  preset: string;
  /** Base checkpoint (weights of the pretrained RoPE model at L0). */
  base: string;
  /** Options (and ablations, `deno task ablate`) to run. */
  options: readonly OptionId[];
  seeds: readonly number[];
  /** Mitigation variants to run for every seed, as `option+variant` labels. */
  mitigations?: readonly string[];
  budget: FinetuneBudget;
  threshold: number;
  plan: EvaluationPlan;
  ws: RetrofitWorkspace;
  commit: string;
  command: string;
  backend?: string;
  /** Run only these tasks (default: all, in order). */
  tasks?: readonly Task[];
  corpus?: Corpus;
  log?: (line: string) => void;
}

/**
 * The tasks of an experiment in run order: evaluations, then chunks seed-major, then mitigation
 * variants (`option+variant` labels) seed-major, then latency.
 */
export function taskList(
  options: readonly OptionId[],
  seeds: readonly number[],
  mitigations: readonly string[] = [],
): Task[] {
  // rope's step 0 is the base model itself: last among the step-0 tasks, it reuses the base record.
  const step0 = [
    ...options.filter((id) => id !== "rope"),
    ...options.filter((id) => id === "rope"),
  ];
  return [
    "base",
    ...step0.map((id) => `step0:${id}`),
    ...seeds.flatMap((s) => options.map((id) => `chunk:${id}:${s}`)),
    ...seeds.flatMap((s) =>
      mitigations.map((m) => {
        const { option, variant } = parseVariantLabel(m);
        return `chunk:${option}:${s}:${variant}`;
      })
    ),
    "latency",
  ];
}

async function runTask(ctx: PhaseContext, task: Task, options: readonly OptionId[]) {
  const [kind, id, seed, variant] = task.split(":");
  if (kind === "base") return await evaluateBasePhase(ctx);
  if (kind === "step0") return await evaluateStep0Phase(ctx, id as OptionId);
  if (kind === "chunk") {
    const v = variant ? parseVariantLabel(`${id}+${variant}`).variant : undefined;
    return await fineTunePhase(ctx, id as OptionId, Number(seed), v);
  }
  if (kind === "latency") return await latencyPhase(ctx, options);
  throw new RangeError(
    `task must be base, step0:<id>, chunk:<id>:<seed> or latency; got "${task}"`,
  );
}

/** Runs (or resumes) the experiment in this process; see the module note. */
export async function runRetrofit(o: RetrofitRunOptions): Promise<AssembleResult> {
  const log = o.log ?? ((l: string) => console.log(l));
  validateBudget(o.budget);
  const base = await loadCheckpoint(o.base);
  const preset = getPreset(o.preset);
  if (base.config.contextLength !== preset.contextLength) {
    throw new RangeError(
      `base checkpoint has contextLength ${base.config.contextLength}; preset ${o.preset} needs ${preset.contextLength}`,
    );
  }
  const ctx: PhaseContext = {
    preset: o.preset,
    ws: o.ws,
    base,
    baseSha256: await o.ws.pinBase(o.base),
    targetLength: preset.targetLength,
    budget: o.budget,
    plan: o.plan,
    corpus: o.corpus ?? await loadCorpus(),
    commit: o.commit,
    command: o.command,
    backend: o.backend ?? "unknown",
    log,
  };
  const t0 = performance.now();
  for (const task of o.tasks ?? taskList(o.options, o.seeds, o.mitigations)) {
    await runTask(ctx, task, o.options);
    log(`task ${task} done [${fmtTime((performance.now() - t0) / 1000)}]`);
  }
  return await assemble(o);
}

/** Writes the tables from whatever records exist. */
export async function assemble(o: RetrofitRunOptions): Promise<AssembleResult> {
  return await assembleTables(o.ws, {
    options: o.options,
    variants: o.mitigations ?? [],
    seeds: o.seeds,
    threshold: o.threshold,
    thresholdExamples: o.plan.probeLongExamples,
    run: { preset: o.preset, base: o.base, budget: o.budget, plan: o.plan },
  });
}

/**
 * A detached git worktree of the current commit under build/frozen/, with this checkout's
 * node_modules linked in: children run their code from it, so editing src/ while an experiment
 * runs cannot change what later units run, and every record names the commit that ran it.
 */
async function frozenSnapshot(root: string, commit: string): Promise<string> {
  const dir = `${root}/build/frozen/${commit.slice(0, 12)}`;
  if (!(await exists(dir))) {
    const out = await new Deno.Command("git", {
      args: ["worktree", "add", "--detach", dir, commit],
      cwd: root,
      stdout: "piped",
      stderr: "piped",
    }).output();
    if (!out.success) {
      throw new Error(`git worktree add ${dir} failed: ${new TextDecoder().decode(out.stderr)}`);
    }
    await Deno.symlink(`${root}/node_modules`, `${dir}/node_modules`);
  }
  return dir;
}

/** Runs pending tasks in child processes, `jobs` at a time; latency last, alone. */
async function schedule(
  o: RetrofitRunOptions,
  argv: readonly string[],
  jobs: number,
  land: boolean,
): Promise<void> {
  const root = new URL("../..", import.meta.url).pathname.replace(/\/$/, "");
  const frozen = await frozenSnapshot(root, o.commit);
  console.log(`children run the code of ${o.commit.slice(0, 12)} from ${frozen}`);
  const pending: Task[] = [];
  for (const t of taskList(o.options, o.seeds, o.mitigations)) {
    if (!(await isDone(o.ws, t))) pending.push(t);
  }
  const work = pending.filter((t) => t !== "latency");
  console.log(`${pending.length} tasks pending: ${pending.join(" ")}`);
  const t0 = performance.now();
  let done = 0, failed = 0;
  // One core per job: the kernel was seen leaving both children on CPU 0 while niced helpers
  // had CPU 1, so children are pinned to a core each with taskset where it exists.
  const pin = await hasTaskset();
  const child = async (task: Task, slot: number) => {
    const started = performance.now();
    const args = [
      "run",
      "-A",
      `${frozen}/src/retrofit/run.ts`,
      ...argv,
      "--root",
      root,
      "--commit",
      o.commit,
      "--task",
      task,
    ];
    const [cmd, cmdArgs] = pin
      ? ["taskset", ["-c", String(slot % navigator.hardwareConcurrency), Deno.execPath(), ...args]]
      : [Deno.execPath(), args];
    const p = new Deno.Command(cmd, { args: cmdArgs, cwd: root, stdout: "piped", stderr: "piped" })
      .spawn();
    const tail: string[] = [];
    const pump = async (s: ReadableStream<Uint8Array>) => {
      for await (const l of s.pipeThrough(new TextDecoderStream()).pipeThrough(lines())) {
        console.log(`(${task}) ${l}`);
        tail.push(l);
        if (tail.length > 20) tail.shift();
      }
    };
    const [status] = await Promise.all([p.status, pump(p.stdout), pump(p.stderr)]);
    const secs = (performance.now() - started) / 1000;
    if (!status.success) {
      failed++;
      console.error(`task ${task} FAILED (exit ${status.code}):\n  ${tail.join("\n  ")}`);
      return;
    }
    if (task !== "latency") done++;
    const rate = (performance.now() - t0) / 1000 / Math.max(1, done);
    console.log(
      `task ${task} done in ${fmtTime(secs)}; ${done}/${work.length} done, ETA ${
        fmtTime(rate * (work.length - done))
      } (${jobs} side by side)`,
    );
    await assemble(o);
    if (land) await landRecords(o, task);
  };
  const queue = [...work];
  // The base and step-0 evaluations go first; chunks need nothing from them, so they can overlap.
  await Promise.all(
    Array.from({ length: jobs }, async (_, slot) => {
      while (queue.length) await child(queue.shift()!, slot);
    }),
  );
  if (pending.includes("latency") && failed === 0) await child("latency", 0);
  const r = await assemble(o);
  console.log(
    `${r.complete ? "complete" : `partial (missing ${r.missing.join(", ")})`}: ${r.metricsPath}`,
  );
  if (failed) throw new Error(`${failed} task(s) failed; rerun the same command to resume`);
}

async function hasTaskset(): Promise<boolean> {
  try {
    const out = await new Deno.Command("taskset", {
      args: ["--version"],
      stdout: "null",
      stderr: "null",
    }).output();
    return out.success;
  } catch {
    return false;
  }
}

function lines(): TransformStream<string, string> {
  let buf = "";
  return new TransformStream({
    transform(chunk, ctl) {
      buf += chunk;
      const parts = buf.split("\n");
      buf = parts.pop()!;
      parts.forEach((l) => ctl.enqueue(l));
    },
    flush(ctl) {
      if (buf) ctl.enqueue(buf);
    },
  });
}

async function isDone(ws: RetrofitWorkspace, task: Task): Promise<boolean> {
  const [kind, id, seed, variant] = task.split(":");
  const path = kind === "base"
    ? ws.basePath()
    : kind === "step0"
    ? ws.step0Path(id)
    : kind === "chunk"
    ? ws.chunkPath(variant ? `${id}+${variant}` : id, Number(seed))
    : ws.latencyPath();
  return await ws.has(path);
}

/** Commits the experiment's records, tables and shipped weights (only those paths). */
async function landRecords(o: RetrofitRunOptions, task: Task): Promise<void> {
  const paths = [o.ws.resultsDir, o.ws.shipDir];
  const git = async (args: string[]) =>
    await new Deno.Command("git", { args, stdout: "piped", stderr: "piped" }).output();
  for (let attempt = 0; attempt < 5; attempt++) {
    const existing: string[] = [];
    for (const p of paths) if (await exists(p)) existing.push(p);
    const add = await git(["add", "--", ...existing]);
    const commit = await git([
      "commit",
      "-q",
      "-m",
      `results (${o.preset}): ${task} (${o.command})`,
      "--",
      ...existing,
    ]);
    if (add.success && commit.success) return console.log(`landed ${task}`);
    // Another git process may hold the index lock: wait and retry.
    await new Promise((r) => setTimeout(r, 2000));
  }
  console.error(`could not commit the records of ${task}; they are on disk, commit them by hand`);
}

/** The command line as a reader would type it: without the scheduler's internal flags. */
function commandArgs(argv: readonly string[]): string[] {
  const out: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    if (argv[i] === "--root" || argv[i] === "--commit") i++;
    else out.push(argv[i]);
  }
  return out;
}

/** The flags of `deno task retrofit` (see the module doc). */
function parseRunFlags(argv: string[]) {
  return parseArgs({
    args: argv,
    options: {
      preset: { type: "string", default: Deno.env.get("COURSE_PRESET") ?? "course" },
      base: { type: "string" },
      options: { type: "string", default: RETROFIT_IDS.join(",") },
      seeds: { type: "string", default: DEFAULT_SEEDS },
      mitigate: { type: "string" },
      steps: { type: "string" },
      "eval-at": { type: "string" },
      batch: { type: "string" },
      lr: { type: "string" },
      threshold: { type: "string" },
      out: { type: "string" },
      work: { type: "string" },
      task: { type: "string" },
      jobs: { type: "string", default: "1" },
      land: { type: "boolean", default: false },
      "allow-dirty": { type: "boolean", default: false },
      // Set by the scheduler for its children (they run from a frozen snapshot of the commit).
      root: { type: "string" },
      commit: { type: "string" },
      backend: { type: "string" },
    },
  }).values;
}

/** The parsed flags of `deno task retrofit`. */
type RunFlags = ReturnType<typeof parseRunFlags>;

/**
 * The preset's budget `d` with --steps, --eval-at, --batch and --lr applied (a shorter --steps
 * without --eval-at is evaluated at its end only).
 */
function budgetFromFlags(values: RunFlags, d: FinetuneBudget): FinetuneBudget {
  const int = { min: 1, integer: true };
  const steps = optionalNumber("steps", values.steps, d.steps, int);
  return {
    ...d,
    steps,
    evalAt: values["eval-at"]
      ? listFlag("eval-at", values["eval-at"], (s) => numberFlag("eval-at", s, int))
      : steps === d.steps
      ? d.evalAt
      : [steps],
    batch: optionalNumber("batch", values.batch, d.batch, int),
    lr: optionalNumber("lr", values.lr, d.lr, { min: 0 }),
  };
}

/** The workspace under --root, with --out (results and shipped weights) and --work if given. */
function workspaceFromFlags(preset: string, values: RunFlags): RetrofitWorkspace {
  const resultsDir = values.out;
  return new RetrofitWorkspace(preset, {
    ...(values.root ? { root: values.root } : {}),
    ...(resultsDir ? { resultsDir, shipDir: `${resultsDir}/retrofits` } : {}),
    ...(values.work ? { workDir: values.work } : {}),
  });
}

/** The --mitigate labels (`option+variant`), each checked. */
function mitigationsFlag(value: string | undefined): string[] {
  if (!value) return [];
  return listFlag("mitigate", value, (m) => {
    parseVariantLabel(m);
    return m;
  });
}

/** The fine-tune seeds when `--seeds` is not given. */
export const DEFAULT_SEEDS = "0,1,2,3,4";

/** Parses the command line and runs the experiment. */
export async function main(argv: string[]): Promise<AssembleResult | undefined> {
  const values = parseRunFlags(argv);
  const preset = choiceFlag("preset", values.preset!, Object.keys(FINETUNE_DEFAULTS));
  const d = FINETUNE_DEFAULTS[preset];
  const options = listFlag(
    "options",
    values.options!,
    (s) => choiceFlag("options", s, ALL_OPTION_IDS),
  );
  const seeds = listFlag(
    "seeds",
    values.seeds!,
    (s) => numberFlag("seeds", s, { min: 0, integer: true }),
  );
  const budget = budgetFromFlags(values, d);
  const ws = workspaceFromFlags(preset, values);
  const jobs = numberFlag("jobs", values.jobs!, { min: 1, max: 8, integer: true });
  // Scheduled children run a frozen snapshot of the commit; an in-process run runs the tree.
  const inProcess = jobs === 1 || values.task !== undefined;
  if (inProcess && !values.commit && !values["allow-dirty"] && await isDirty(["src"])) {
    throw new Error(
      "src/ has uncommitted changes: results rows would name a commit that is not the code that " +
        "made them; commit first (or pass --allow-dirty for a throwaway run)",
    );
  }
  const o: RetrofitRunOptions = {
    preset,
    base: values.base ?? `assets/checkpoints/${preset}/model.safetensors`,
    options,
    seeds,
    mitigations: mitigationsFlag(values.mitigate),
    budget,
    threshold: optionalNumber("threshold", values.threshold, d.threshold, { min: 0, max: 1 }),
    plan: evaluationPlan(preset),
    ws,
    commit: values.commit ?? await gitCommit(),
    command: `deno task retrofit ${commandArgs(argv).join(" ")}`.trim(),
  };
  if (!inProcess) {
    await schedule(o, argv.filter((a) => a !== "--land"), jobs, values.land!);
    return undefined;
  }
  return await runOnBackend(o, values);
}

/** Runs the experiment (or the --task) in this process, on --backend or the default backend. */
async function runOnBackend(o: RetrofitRunOptions, values: RunFlags): Promise<AssembleResult> {
  const choice = await initBackend(
    values.backend
      ? { backend: choiceFlag("backend", values.backend, ["wasm", "cpu", "webgpu"] as const) }
      : {},
  );
  console.log(`backend ${choice.backend} (${choice.reason})`);
  return await runRetrofit({
    ...o,
    backend: choice.backend,
    tasks: values.task ? [values.task] : undefined,
  });
}

if (import.meta.main) await main(Deno.args);
