/**
 * Runs a grading program as two processes that share nothing but a data-only channel (two named
 * pipes): the learner's program in the OS jail (jail.ts; Deno's permission sandbox alone when the
 * jail is unavailable), and the checker (the reference tests, which learner code never shares)
 * in Deno's permission sandbox. Limits: wall-clock time, memory (resident, both processes), disk
 * (a size-limited tmpfs in the jail; polled otherwise), and output (only a tail is kept). The
 * results are the checker's lines carrying a nonce sent on its stdin; nothing the learner's
 * process prints is ever read as a result.
 *
 * @example
 * ```ts
 * const run = await runSandboxed(program, { timeoutMs: 60_000, memoryMb: 1024 });
 * console.log(run.results, run.killed);
 * ```
 * @module
 */
import { join } from "node:path";
import type { ExerciseResult } from "./harness.ts";
import { bwrapArgs, JAILED, type JailStatus, jailStatus } from "./jail.ts";
import { COURSE_ROOT, type GradingProgram } from "./module.ts";

/** Limits and environment of one sandboxed run. */
export interface SandboxOptions {
  /** Wall-clock limit in ms (default 60 000). */
  timeoutMs?: number;
  /** Resident memory limit in MiB for each process, polled from /proc (default 1536). */
  memoryMb?: number;
  /** Disk the learner's process may write (work folder and /tmp each), in MiB (default 64). */
  diskMb?: number;
  /** tfjs backend for learner code: "wasm" (default) or "cpu". */
  backend?: "wasm" | "cpu";
  /**
   * How long one exercise cell's code may run when it loads (after its imports), and an async call
   * may take to settle, in ms (default 20 000).
   */
  loadMs?: number;
}

/** What one sandboxed run produced. */
export interface SandboxRun {
  /** Per-exercise results from the checker, in order. */
  results: ExerciseResult[];
  /**
   * Set when the learner's process ended before grading finished: the exercise being graded, or ""
   * when the checker could not say (it was stopped waiting for the learner).
   */
  lost?: string;
  done: boolean;
  /** Why the processes were stopped, if they were. */
  killed?: "time" | "memory" | "disk";
  /** Exit code of the checker and of the learner's process. */
  code: number | null;
  learnerCode: number | null;
  /** The last output of the learner's process (stderr) and of the checker. */
  stderrTail: string;
  checkerStderrTail: string;
  seconds: number;
  jail: JailStatus;
}

// Environment names the course code reads (src/model/presets.ts, src/viz/display.ts,
// src/backend.ts, src/decision/inputs.ts) and the learner host's load limit.
const ALLOWED_ENV = [
  "COURSE_PRESET",
  "COURSE_NO_PNG",
  "COURSE_BACKEND",
  "COURSE_RESULTS_DIR",
  "GRADE_LOAD_MS",
];
// course files both processes may read: code, packages, data and results (none of them secret;
// never notebooks/, tests/, build/ or .nbtest/, which hold solutions, hidden tests and reports)
const LEARNER_READ = ["src", "node_modules", "deno.json", "deno.lock", "datasets", "assets"].map(
  (p) => join(COURSE_ROOT, p),
);
const CHECKER_READ = LEARNER_READ;

function denoDir(): string {
  const fromEnv = Deno.env.get("DENO_DIR");
  if (fromEnv) return fromEnv;
  const home = Deno.env.get("HOME") ?? "/root";
  return join(Deno.env.get("XDG_CACHE_HOME") ?? join(home, ".cache"), "deno");
}

/** Resident memory of a process and all its descendants, in MiB. */
function treeRssMb(pid: number, depth = 0): number {
  let total = 0;
  try {
    const m = /VmRSS:\s+(\d+) kB/.exec(Deno.readTextFileSync(`/proc/${pid}/status`));
    total += m ? Number(m[1]) / 1024 : 0;
    if (depth < 8) {
      const kids = Deno.readTextFileSync(`/proc/${pid}/task/${pid}/children`).trim();
      for (const k of kids ? kids.split(/\s+/) : []) total += treeRssMb(Number(k), depth + 1);
    }
  } catch { /* gone */ }
  return total;
}

/** Bytes under a folder (stops counting past `cap`). */
function folderBytes(dir: string, cap: number): number {
  let total = 0;
  const walk = (d: string) => {
    for (const e of Deno.readDirSync(d)) {
      if (total > cap) return;
      const p = join(d, e.name);
      if (e.isDirectory) walk(p);
      else if (e.isFile) total += Deno.statSync(p).size;
    }
  };
  try {
    walk(dir);
  } catch { /* changed while walking */ }
  return total;
}

/** Keeps the last `cap` bytes of a stream, reading it to the end. */
async function readTail(stream: ReadableStream<Uint8Array>, cap: number): Promise<string> {
  let tail = new Uint8Array(0);
  for await (const chunk of stream) {
    const joined = new Uint8Array(Math.min(cap, tail.length + chunk.length));
    const all = chunk.length >= cap ? chunk.subarray(chunk.length - cap) : chunk;
    const keep = tail.subarray(Math.max(0, tail.length - (joined.length - all.length)));
    joined.set(keep, 0);
    joined.set(all, keep.length);
    tail = joined;
  }
  return new TextDecoder().decode(tail);
}

/** The stdout lines matching `prefix`; other output is dropped line by line. */
async function harnessLines(stream: ReadableStream<Uint8Array>, prefix: RegExp): Promise<string[]> {
  const lines: string[] = [];
  let partial = "";
  for await (const text of stream.pipeThrough(new TextDecoderStream())) {
    const parts = (partial + text).split("\n");
    partial = parts.pop()!.slice(-(1 << 22));
    for (const line of parts) if (prefix.test(line)) lines.push(line);
  }
  if (prefix.test(partial)) lines.push(partial);
  return lines;
}

async function writeFiles(dir: string, files: Record<string, string>) {
  await Deno.mkdir(dir, { recursive: true });
  for (const [name, src] of Object.entries(files)) await Deno.writeTextFile(join(dir, name), src);
}

async function makePipes(io: string): Promise<string[]> {
  await Deno.mkdir(io);
  const pipes = ["to_learner", "to_grader"].map((n) => join(io, n));
  const out = await new Deno.Command("mkfifo", { args: ["-m", "600", ...pipes] }).output();
  if (!out.success) throw new Error(`mkfifo failed: ${new TextDecoder().decode(out.stderr)}`);
  return pipes;
}

function denoRunArgs(read: string[], write: string[], heapMb: number, codegen: boolean): string[] {
  return [
    "run",
    "--no-prompt",
    "--no-remote",
    "--cached-only",
    `--config=${join(COURSE_ROOT, "deno.json")}`,
    `--allow-read=${read.join(",")}`,
    ...(write.length ? [`--allow-write=${write.join(",")}`] : []),
    `--allow-env=${ALLOWED_ENV.join(",")}`,
    `--v8-flags=--max-old-space-size=${heapMb}${
      codegen ? "" : ",--disallow-code-generation-from-strings"
    }`,
  ];
}

/** The command line and environment of the learner's process (jailed when possible). */
function learnerCommand(tmp: string, pipes: string[], jail: JailStatus, opts: Required<Limits>) {
  const heap = Math.max(64, Math.floor(opts.memoryMb * 0.75));
  const env: Record<string, string> = {
    DENO_NO_UPDATE_CHECK: "1",
    NO_COLOR: "1",
    PATH: "/usr/bin:/bin",
    COURSE_PRESET: "tiny",
    COURSE_NO_PNG: "1",
    COURSE_BACKEND: opts.backend,
    GRADE_LOAD_MS: String(opts.loadMs),
  };
  if (jail.available) {
    const io = pipes.map((p) => `${JAILED.io}/${p.split("/").at(-1)}`);
    const run = denoRunArgs([...LEARNER_READ, "/grade"], [JAILED.work, JAILED.io], heap, false);
    const jailEnv = { ...env, DENO_DIR: "/tmp/deno", HOME: "/tmp" };
    const args = [
      ...bwrapArgs({
        courseReadOnly: LEARNER_READ,
        learnerDir: join(tmp, "learner"),
        pipes,
        diskBytes: opts.diskMb << 20,
        env: jailEnv,
      }),
      Deno.realPathSync(Deno.execPath()),
      ...run,
      `${JAILED.learner}/learner.ts`,
      ...io,
    ];
    return { cmd: "bwrap", args, env: jailEnv, cwd: tmp };
  }
  const work = join(tmp, "work");
  const read = [...LEARNER_READ, join(tmp, "learner"), work, join(tmp, "io")];
  const run = denoRunArgs(read, [work, join(tmp, "io")], heap, false);
  return {
    cmd: Deno.execPath(),
    args: [...run, join(tmp, "learner", "learner.ts"), ...pipes.slice(0, 2)],
    env: { ...env, DENO_DIR: denoDir() },
    cwd: work,
  };
}

type Limits = Omit<SandboxOptions, "backend"> & { backend?: "wasm" | "cpu" };

/**
 * Writes the programs to a fresh temp folder and runs them. The nonce goes through the checker's
 * stdin; only the checker's lines carrying it are read.
 */
export async function runSandboxed(
  program: GradingProgram,
  opts: SandboxOptions = {},
): Promise<SandboxRun> {
  const limits: Required<Limits> = {
    timeoutMs: opts.timeoutMs ?? 60_000,
    memoryMb: opts.memoryMb ?? 1536,
    diskMb: opts.diskMb ?? 64,
    backend: opts.backend ?? "wasm",
    loadMs: opts.loadMs ?? 20_000,
  };
  const tmp = await Deno.makeTempDir({ prefix: "grade-" });
  try {
    await writeFiles(join(tmp, "checker"), program.files);
    await writeFiles(join(tmp, "learner"), program.learnerFiles);
    await Deno.mkdir(join(tmp, "work"));
    const pipes = await makePipes(join(tmp, "io"));
    return await runBoth(program, tmp, pipes, limits);
  } finally {
    await Deno.remove(tmp, { recursive: true }).catch(() => {});
  }
}

/** Spawns the checker; its plan (with the nonce and the pipes) goes on stdin. */
async function spawnChecker(program: GradingProgram, tmp: string, pipes: string[], nonce: string) {
  const io = join(tmp, "io");
  const child = new Deno.Command(Deno.execPath(), {
    args: [
      ...denoRunArgs([...CHECKER_READ, join(tmp, "checker"), io], [io], 1536, true),
      join(tmp, "checker", "grade.ts"),
    ],
    cwd: join(tmp, "checker"),
    clearEnv: true,
    env: {
      DENO_DIR: denoDir(),
      DENO_NO_UPDATE_CHECK: "1",
      NO_COLOR: "1",
      PATH: "/usr/bin:/bin",
      COURSE_PRESET: "tiny",
      COURSE_NO_PNG: "1",
      COURSE_BACKEND: "wasm",
    },
    stdin: "piped",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const plan = {
    nonce,
    exercises: program.plan.map((e) => ({ id: e.id, checks: e.checks })),
    channel: { read: pipes[1], write: pipes[0] },
  };
  const writer = child.stdin.getWriter();
  await writer.write(new TextEncoder().encode(JSON.stringify(plan) + "\n")).catch(() => {});
  await writer.close().catch(() => {});
  return child;
}

/**
 * Kills both processes at the time limit, when either exceeds its memory (the checker gets twice the
 * learner's), or when `workDir` (polled only without the jail's tmpfs) exceeds the disk limit.
 * `stop()` ends the watch and says which limit was hit, if any.
 */
function watchLimits(
  learner: Deno.ChildProcess,
  checker: Deno.ChildProcess,
  limits: Required<Limits>,
  workDir: string | null,
) {
  let killed: SandboxRun["killed"];
  const killAll = (why: NonNullable<SandboxRun["killed"]>) => {
    killed ??= why;
    for (const c of [learner, checker]) {
      try {
        c.kill("SIGKILL");
      } catch { /* already gone */ }
    }
  };
  const timer = setTimeout(() => killAll("time"), limits.timeoutMs);
  let ticks = 0;
  const diskCap = limits.diskMb << 20;
  const poll = setInterval(() => {
    if (treeRssMb(learner.pid) > limits.memoryMb) killAll("memory");
    if (treeRssMb(checker.pid) > limits.memoryMb * 2) killAll("memory");
    if (workDir && ++ticks % 4 === 0 && folderBytes(workDir, diskCap) > diskCap) killAll("disk");
  }, 100);
  return {
    stop(): SandboxRun["killed"] {
      clearTimeout(timer);
      clearInterval(poll);
      return killed;
    },
  };
}

async function runBoth(
  program: GradingProgram,
  tmp: string,
  pipes: string[],
  limits: Required<Limits>,
): Promise<SandboxRun> {
  const jail = await jailStatus();
  const t0 = performance.now();
  const lc = learnerCommand(tmp, pipes, jail, limits);
  const learner = new Deno.Command(lc.cmd, {
    args: lc.args,
    cwd: lc.cwd,
    clearEnv: true,
    env: lc.env,
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const nonce = crypto.randomUUID().replaceAll("-", "");
  const checker = await spawnChecker(program, tmp, pipes, nonce);
  const limiter = watchLimits(learner, checker, limits, jail.available ? null : join(tmp, "work"));
  let checkerEnded = false;
  let learnerEndedEarly = false;
  const learnerDone = learner.status.then((s) => {
    // a learner that ended early must not leave the checker waiting on a pipe: after a grace
    // period (for the checker to report what it has), the checker is stopped too
    if (!checkerEnded) {
      setTimeout(() => {
        if (checkerEnded) return;
        learnerEndedEarly = true;
        try {
          checker.kill("SIGKILL");
        } catch { /* already gone */ }
      }, 500);
    }
    return s;
  });
  checker.status.then(() => {
    checkerEnded = true;
    try {
      learner.kill("SIGKILL");
    } catch { /* already gone */ }
  });
  const prefix = new RegExp(`^@@(GRADE|LOST|DONE) ${nonce} (.*)$`);
  const [lines, checkerErr, learnerErr, , status, learnerStatus] = await Promise.all([
    harnessLines(checker.stdout, prefix),
    readTail(checker.stderr, 1 << 16),
    readTail(learner.stderr, 1 << 16),
    readTail(learner.stdout, 1 << 10),
    checker.status,
    learnerDone,
  ]);
  const killed = limiter.stop();
  const parsed = parseLines(lines, prefix);
  return {
    ...parsed,
    lost: parsed.lost ?? (learnerEndedEarly && !killed && !parsed.done ? "" : undefined),
    killed,
    code: status.code,
    learnerCode: learnerStatus.code,
    stderrTail: learnerErr.slice(-3000),
    checkerStderrTail: checkerErr.slice(-3000),
    seconds: (performance.now() - t0) / 1000,
    jail,
  };
}

function parseLines(lines: string[], prefix: RegExp) {
  const results: ExerciseResult[] = [];
  let lost: string | undefined;
  let done = false;
  for (const line of lines) {
    const m = prefix.exec(line);
    if (!m) continue;
    try {
      const payload = JSON.parse(m[2]);
      if (m[1] === "GRADE") results.push(payload);
      else if (m[1] === "LOST") lost = String(payload.id);
      else done = true;
    } catch { /* a truncated line is no result */ }
  }
  return { results, lost, done };
}
