/**
 * The autograder: `deno task grade <files or folders> [--out build/grades] [--workers 2]
 * [--reference notebooks] [--timeout 60] [--memory 1536] [--disk 64] [--backend wasm]`.
 *
 * Each submission notebook is matched to a reference notebook by its exercise ids (or its file
 * name), graded by two processes, the learner's code jailed apart from the tests (see sandbox.ts),
 * and reported per learner as JSON (points per check, the feedback message of each failure,
 * reasons); the class gets a gradebook as CSV and HTML (built with polars). A bad submission is graded with a reason and never stops the
 * batch. Learner id = the file's name stem, or the folder's name for a folder of notebooks.
 *
 * @example
 * ```ts
 * const refs = loadReferences("notebooks");
 * const report = await gradeLearner("alice", ["submissions/alice.ipynb"], refs);
 * ```
 * @module
 */
import { basename, extname, join, resolve } from "node:path";
import { parseArgs } from "node:util";
import pl from "nodejs-polars";
import { writeFileAtomic } from "../util/atomic.ts";
import { tableBundle } from "../viz/display.ts";
import {
  cellSource,
  type Exercise,
  findExercises,
  type Notebook,
  parseNotebookText,
  SUBMISSION_LIMITS,
  submissionLimitProblem,
} from "./exercises.ts";
import {
  buildGradingProgram,
  COURSE_ROOT,
  type GradingProgram,
  type PlannedExercise,
} from "./module.ts";
import { runSandboxed, type SandboxOptions, type SandboxRun } from "./sandbox.ts";
import { csvCell, printable, quote } from "./text.ts";

/** A reference notebook with exercises. */
export interface Reference {
  name: string;
  notebook: Notebook;
  exercises: Exercise[];
}

/** One graded check. */
export interface CheckReport {
  label: string;
  hidden: boolean;
  points: number;
  max: number;
  passed: boolean;
  message?: string;
}

/** One graded exercise. */
export interface ExerciseReport {
  id: string;
  title: string;
  points: number;
  max: number;
  checks: CheckReport[];
  reason?: string;
}

/** One graded submission file. */
export interface FileReport {
  file: string;
  notebook: string | null;
  status: "graded" | "rejected";
  reason?: string;
  notes: string[];
  exercises: ExerciseReport[];
  seconds: number;
  /** Where the learner's code ran: the OS jail, or Deno's permission sandbox alone. */
  sandbox?: "bwrap jail" | "deno permissions only";
}

/** A learner's report (written as `<out>/<learner>.json`). */
export interface LearnerReport {
  learner: string;
  points: number;
  max: number;
  files: FileReport[];
}

/** Options of a grading run. */
export interface GradeOptions extends SandboxOptions {
  /** Number of submissions graded at once (default 2). */
  workers?: number;
}

/**
 * Loads the reference notebooks (those with exercises) of a folder; invalid markers throw.
 *
 * @example
 * ```ts
 * const refs = loadReferences(join(COURSE_ROOT, "notebooks"));
 * ```
 */
export function loadReferences(dir: string): Reference[] {
  const refs: Reference[] = [];
  for (const e of [...Deno.readDirSync(dir)].sort((a, b) => a.name.localeCompare(b.name))) {
    if (!e.isFile || !e.name.endsWith(".ipynb")) continue;
    const name = basename(e.name, ".ipynb");
    const notebook = parseNotebookText(Deno.readTextFileSync(join(dir, e.name)), name);
    const exercises = findExercises(notebook, name);
    if (exercises.length) refs.push({ name, notebook, exercises });
  }
  return refs;
}

/** Matches a submission to a reference by the exercise ids in its cells, else by file name. */
export function matchReference(sub: Notebook, file: string, refs: Reference[]): Reference | null {
  const ids = new Set<string>();
  for (const c of sub.cells) {
    const m = /^\s*\/\/ (?:EXERCISE|TESTS) (\d+\.\d+)/.exec(cellSource(c));
    if (m) ids.add(m[1]);
  }
  let best: Reference | null = null;
  let bestCount = 0;
  for (const r of refs) {
    const count = r.exercises.filter((e) => ids.has(e.id)).length;
    if (count > bestCount) best = r, bestCount = count;
  }
  if (best) return best;
  const stem = basename(file, extname(file));
  return refs.find((r) => stem.includes(r.name)) ?? null;
}

function rejected(file: string, reason: string, t0: number): FileReport {
  return {
    file,
    notebook: null,
    status: "rejected",
    reason: printable(reason),
    notes: [],
    exercises: [],
    seconds: (performance.now() - t0) / 1000,
  };
}

/** Turns harness results into scored exercises. */
function score(
  plan: PlannedExercise,
  checks: { passed: boolean; message?: string }[] | null,
  reason?: string,
): ExerciseReport {
  const each = plan.points / Math.max(1, plan.checks);
  const round = (v: number) => Math.round(v * 1e9) / 1e9;
  const rows: CheckReport[] = plan.labels.map((label, i) => {
    const c = checks?.[i];
    const passed = !!c?.passed;
    return {
      label,
      hidden: plan.hidden[i],
      max: each,
      points: passed ? each : 0,
      passed,
      message: passed ? undefined : c?.message ?? reason ?? "not graded",
    };
  });
  const points = round(rows.reduce((s, r) => s + r.points, 0));
  rows.forEach((r) => (r.points = round(r.points), r.max = round(r.max)));
  return { id: plan.id, title: plan.title, points, max: plan.points, checks: rows, reason };
}

/** The parsed submission and its reference, or why it cannot be graded. */
async function readSubmission(
  file: string,
  refs: Reference[],
): Promise<{ sub: Notebook; ref: Reference } | string> {
  let text: string;
  try {
    // a link could point at any file the grader can read (another learner's, /etc/shadow)
    if ((await Deno.lstat(file)).isSymlink) {
      return "the file is a symbolic link; a submission must be a regular file";
    }
    const size = (await Deno.stat(file)).size;
    if (size > SUBMISSION_LIMITS.fileBytes) {
      return `the file has ${size} bytes; a submission may have at most ${SUBMISSION_LIMITS.fileBytes}`;
    }
    text = await Deno.readTextFile(file);
  } catch (e) {
    return `cannot read the file: ${(e as Error).message}`;
  }
  let sub: Notebook;
  try {
    sub = parseNotebookText(text, basename(file));
  } catch (e) {
    return (e as Error).message.slice(0, 500);
  }
  const tooBig = submissionLimitProblem(sub, basename(file));
  if (tooBig) return tooBig;
  const ref = matchReference(sub, file, refs);
  if (!ref) {
    return `no exercise of the course found in ${basename(file)} (expected cells starting ` +
      `'// EXERCISE nn.k' of one of: ${refs.map((r) => r.name).join(", ")})`;
  }
  return { sub, ref };
}

/**
 * Grades one submission file against its reference, in the sandbox. An exercise that hits the time
 * or memory limit scores zero with that reason, and the exercises after it are rerun without it.
 */
export async function gradeFile(
  file: string,
  refs: Reference[],
  opts: GradeOptions = {},
): Promise<FileReport> {
  const t0 = performance.now();
  const read = await readSubmission(file, refs);
  if (typeof read === "string") return rejected(file, read, t0);
  const { sub, ref } = read;
  const reports = new Map<string, ExerciseReport>();
  const notes = new Set<string>();
  let jailed: boolean | undefined;
  let remaining = ref.exercises.map((e) => e.id);
  while (remaining.length) {
    let program: GradingProgram;
    try {
      program = buildGradingProgram({
        reference: ref.notebook,
        referenceName: ref.name,
        submission: sub,
        only: remaining,
      });
    } catch (e) {
      return rejected(file, `cannot read the submission's code: ${quote(String(e), 300)}`, t0);
    }
    program.notes.forEach((n) => notes.add(n));
    const run = await runSandboxed(program, opts);
    jailed = run.jail.available;
    if (!jailed) notes.add(`warning: graded without the OS jail (${run.jail.reason})`);
    for (const r of run.results) {
      const plan = program.plan.find((p) => p.id === r.id);
      if (plan && !reports.has(r.id)) reports.set(r.id, score(plan, r.checks, r.reason));
    }
    const missing = remaining.filter((id) => !reports.has(id));
    if (!missing.length) break;
    const charged = run.lost && missing.includes(run.lost) ? run.lost : missing[0];
    const plan = program.plan.find((p) => p.id === charged)!;
    const reason = stopReason(run, opts, charged);
    reports.set(charged, score(plan, null, reason));
    // rerun the rest when the run was stopped by a limit, lost its learner or got partway; a
    // crash of the checker before any result would repeat for every exercise
    const rest = missing.filter((id) => id !== charged);
    if (run.killed || run.lost !== undefined || run.results.length > 0) remaining = rest;
    else {
      for (const id of rest) {
        reports.set(
          id,
          score(program.plan.find((p) => p.id === id)!, null, reason),
        );
      }
      break;
    }
  }
  return {
    file,
    notebook: ref.name,
    status: "graded",
    notes: [...notes],
    exercises: ref.exercises.map((e) => reports.get(e.id)!),
    seconds: (performance.now() - t0) / 1000,
    sandbox: jailed === false ? "deno permissions only" : "bwrap jail",
  };
}

/** Why exercise `id` got no result from a run (limits, a crash), learner text quoted. */
function stopReason(run: SandboxRun, opts: GradeOptions, id: string): string {
  const heapOom = /out of memory|heap limit|Allocation failed/i.test(run.stderrTail);
  if (run.killed === "time") {
    return `time limit exceeded (${((opts.timeoutMs ?? 60_000) / 1000).toFixed(0)} s) ` +
      `while grading ${id}`;
  }
  if (run.killed === "memory" || heapOom) {
    return `memory limit exceeded (${opts.memoryMb ?? 1536} MiB${
      heapOom ? ", JavaScript heap" : ""
    }) while grading ${id}`;
  }
  if (run.killed === "disk") {
    return `disk limit exceeded (${opts.diskMb ?? 64} MiB written) while grading ${id}`;
  }
  if (run.lost !== undefined) {
    return `the learner's process ended (exit code ${run.learnerCode}) while grading ${id}; ` +
      `its last error output: ${quote(lastError(run.stderrTail), 300)}`;
  }
  return `the grading process stopped (exit code ${run.code}) while grading ${id}: ${
    quote(lastError(run.checkerStderrTail + "\n" + run.stderrTail), 300)
  }`;
}

function lastError(stderr: string): string {
  const lines = stderr.trim().split("\n").filter((l) => l.trim());
  const err = lines.find((l) => /error|Error|denied|Requires/.test(l));
  return (err ?? lines.at(-1) ?? "no output").trim().slice(0, 500);
}

/**
 * Grades each reference notebook as if it were a submission: its solutions must score full marks in
 * the sandbox, or its exercises cannot be graded (e.g. the reference code its tests need wants a
 * permission the sandbox denies). Returns one line per reference that falls short.
 *
 * @example
 * ```ts
 * for (const p of await selfCheck(refs)) console.warn(p);
 * ```
 */
export async function selfCheck(refs: Reference[], opts: GradeOptions = {}): Promise<string[]> {
  const dir = await Deno.makeTempDir({ prefix: "grade-self-check-" });
  const problems = await pool(refs, opts.workers ?? 2, async (ref) => {
    const file = join(dir, `${ref.name}.ipynb`);
    await Deno.writeTextFile(file, JSON.stringify(ref.notebook));
    const rep = await gradeFile(file, [ref], opts);
    const failed = rep.exercises.filter((e) => e.points < e.max);
    return failed.map((e) =>
      `${ref.name} ${e.id}: the reference solution scores ${e.points}/${e.max} in the sandbox (${
        e.reason ?? e.checks.find((c) => !c.passed)?.message
      })`
    );
  });
  await Deno.remove(dir, { recursive: true });
  return problems.flat();
}

/** Grades all files of one learner. */
export async function gradeLearner(
  learner: string,
  files: string[],
  refs: Reference[],
  opts: GradeOptions = {},
): Promise<LearnerReport> {
  const reports: FileReport[] = [];
  for (const f of files) reports.push(await gradeFile(f, refs, opts));
  const ex = reports.flatMap((r) => r.exercises);
  return {
    learner,
    points: ex.reduce((s, e) => s + e.points, 0),
    max: ex.reduce((s, e) => s + e.max, 0),
    files: reports,
  };
}

/**
 * Learner ids made safe and unique: characters other than letters, digits, `_`, `.` and `-`
 * become `_`, a leading dot gets a `_` before it, and an id equal (ignoring case) to an earlier one
 * gets `-2`, `-3`... so two learners never share a report file or a gradebook row.
 *
 * @example
 * ```ts
 * uniqueIds(["a b", "a_b", "Alice", "alice", ".."]); // ["a_b", "a_b-2", "Alice", "alice-2", "_.."]
 * ```
 */
export function uniqueIds(ids: string[]): string[] {
  const taken = new Set<string>();
  return ids.map((raw) => {
    let base = raw.replace(/[^\w.-]/g, "_").slice(0, 100) || "_";
    if (base.startsWith(".")) base = "_" + base;
    let id = base;
    for (let k = 2; taken.has(id.toLowerCase()); k++) id = `${base}-${k}`;
    taken.add(id.toLowerCase());
    return id;
  });
}

/**
 * Expands command-line paths into learners: a file is a learner (its name stem); a folder's files
 * are learners, and each subfolder is one learner with all the files inside it. Ids are made safe
 * and unique with {@link uniqueIds} (a folder `alice/` and a file `alice.txt` are two learners).
 */
export function collectLearners(paths: string[]): Map<string, string[]> {
  const found: [string, string[]][] = [];
  for (const p of paths) {
    const info = Deno.statSync(p);
    if (info.isFile) found.push([basename(p, extname(p)), [resolve(p)]]);
    else {
      for (const e of [...Deno.readDirSync(p)].sort((a, b) => a.name.localeCompare(b.name))) {
        const full = resolve(join(p, e.name));
        // links are kept as submissions, which gradeFile rejects with the reason
        if (e.isFile || e.isSymlink) found.push([basename(e.name, extname(e.name)), [full]]);
        else if (e.isDirectory) {
          const files = [...Deno.readDirSync(full)].filter((x) => x.isFile || x.isSymlink)
            .map((x) => x.name);
          found.push([e.name, files.sort().map((f) => join(full, f))]);
        }
      }
    }
  }
  const ids = uniqueIds(found.map(([id]) => id));
  return new Map(found.map(([, files], i) => [ids[i], files]));
}

/** Runs `fn` over items with at most `workers` at once, keeping order in the result. */
export async function pool<T, R>(
  items: T[],
  workers: number,
  fn: (item: T, i: number) => Promise<R>,
): Promise<R[]> {
  const out: R[] = new Array(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const i = next++;
      out[i] = await fn(items[i], i);
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(workers, items.length)) }, worker));
  return out;
}

/**
 * Writes `<out>/<learner>.json` per learner and the class gradebook `gradebook.csv` +
 * `gradebook.html` (one row per learner, one column per exercise, total and max).
 */
export async function writeGradebook(reports: LearnerReport[], out: string): Promise<string[]> {
  await Deno.mkdir(out, { recursive: true });
  const written: string[] = [];
  const fileIds = uniqueIds(reports.map((r) => r.learner));
  for (const [i, r] of reports.entries()) {
    const path = join(out, `${fileIds[i]}.json`);
    await writeFileAtomic(path, JSON.stringify(r, null, 2) + "\n");
    written.push(path);
  }
  const ids = [
    ...new Set(reports.flatMap((r) => r.files.flatMap((f) => f.exercises.map((e) => e.id)))),
  ]
    .sort();
  const round = (v: number) => Math.round(v * 100) / 100;
  const rows = reports.map((r) => {
    const row: Record<string, string | number | null> = { learner: r.learner };
    for (const id of ids) {
      const e = r.files.flatMap((f) => f.exercises).find((x) => x.id === id);
      row[id] = e ? round(e.points) : null;
    }
    row.points = round(r.points);
    row.max = round(r.max);
    const reasons = r.files.flatMap((f) => [
      ...(f.reason ? [`${basename(f.file)}: ${f.reason}`] : []),
      ...f.exercises.filter((e) => e.reason).map((e) => `${e.id}: ${e.reason}`),
    ]);
    row.notes = reasons.join(" | ").replace(/\s+/g, " ").slice(0, 300);
    return row;
  }).sort((a, b) => String(a.learner).localeCompare(String(b.learner)));
  const schema = ["learner", ...ids, "points", "max", "notes"];
  const csv = [schema, ...rows.map((r) => schema.map((c) => r[c] ?? null))]
    .map((cells) => cells.map((v) => csvCell(v)).join(",")).join("\n") + "\n";
  const csvPath = join(out, "gradebook.csv");
  await writeFileAtomic(csvPath, csv);
  const df = pl.DataFrame(
    Object.fromEntries(schema.map((c) => [c, rows.map((r) => r[c] ?? null)])),
  );
  const html = `<!doctype html><html><head><meta charset="utf-8"><title>Gradebook</title>
<style>body{font-family:sans-serif;margin:2em}td,th{padding:3px 10px;border-bottom:1px solid #ddd}</style>
</head><body><h1>Gradebook</h1>${tableBundle(df)["text/html"]}</body></html>\n`;
  const htmlPath = join(out, "gradebook.html");
  await writeFileAtomic(htmlPath, html);
  written.push(csvPath, htmlPath);
  return written;
}

/** Grades learners in a pool and writes the reports; returns them. */
export async function gradeAll(
  learners: Map<string, string[]>,
  refs: Reference[],
  opts: GradeOptions & { out: string; log?: (line: string) => void },
): Promise<LearnerReport[]> {
  const entries = [...learners.entries()];
  const reports = await pool(entries, opts.workers ?? 2, async ([learner, files]) => {
    let report: LearnerReport;
    try {
      report = await gradeLearner(learner, files, refs, opts);
    } catch (e) {
      // the grader itself failed on this learner: record it and keep going
      report = {
        learner,
        points: 0,
        max: 0,
        files: files.map((f) =>
          rejected(f, `grader error: ${quote(String((e as Error)?.message), 300)}`, 0)
        ),
      };
    }
    opts.log?.(
      `${learner.padEnd(24)} ${report.points.toFixed(2).padStart(6)} / ${
        report.max.toFixed(0).padEnd(3)
      } ${report.files.map((f) => f.reason ?? "").filter(Boolean).join("; ")}`,
    );
    return report;
  });
  await writeGradebook(reports, opts.out);
  return reports;
}

async function main(): Promise<number> {
  const { values, positionals } = parseArgs({
    args: Deno.args,
    allowPositionals: true,
    options: {
      out: { type: "string", default: join(COURSE_ROOT, "build/grades") },
      workers: { type: "string", default: "2" },
      reference: { type: "string", default: join(COURSE_ROOT, "notebooks") },
      timeout: { type: "string", default: "60" },
      memory: { type: "string", default: "1536" },
      disk: { type: "string", default: "64" },
      backend: { type: "string", default: "wasm" },
    },
  });
  if (!positionals.length) {
    console.error("usage: deno task grade <submission files or folders> [--out build/grades]");
    return 2;
  }
  const workers = Number(values.workers);
  if (!(Number.isInteger(workers) && workers >= 1)) {
    throw new RangeError(`--workers must be an integer >= 1; got ${values.workers}`);
  }
  const timeout = Number(values.timeout);
  if (!(timeout > 0)) throw new RangeError(`--timeout must be > 0 seconds; got ${values.timeout}`);
  const memory = Number(values.memory);
  if (!(memory >= 128)) throw new RangeError(`--memory must be >= 128 MiB; got ${values.memory}`);
  const disk = Number(values.disk);
  if (!(Number.isInteger(disk) && disk >= 1 && disk <= 4096)) {
    throw new RangeError(`--disk must be an integer from 1 to 4096 MiB; got ${values.disk}`);
  }
  if (values.backend !== "wasm" && values.backend !== "cpu") {
    throw new RangeError(`--backend must be wasm or cpu; got ${values.backend}`);
  }
  const refs = loadReferences(values.reference);
  const learners = collectLearners(positionals);
  const backend = values.backend as "wasm" | "cpu";
  const limits = { workers, timeoutMs: timeout * 1000, memoryMb: memory, diskMb: disk, backend };
  for (const problem of await selfCheck(refs, limits)) console.warn(`warning: ${problem}`);
  console.log(`grading ${learners.size} learner(s) with ${workers} worker(s) ...`);
  const t0 = performance.now();
  const reports = await gradeAll(learners, refs, {
    ...limits,
    out: values.out,
    log: (l) => console.log(l),
  });
  console.log(
    `graded ${reports.length} learner(s) in ${((performance.now() - t0) / 1000).toFixed(1)} s; ` +
      `reports and gradebook.csv/html in ${values.out}`,
  );
  return 0;
}

if (import.meta.main) Deno.exit(await main());
