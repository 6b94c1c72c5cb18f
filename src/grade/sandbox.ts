/**
 * Runs a grading program in a separate `deno run` process inside Deno's permission sandbox, with a
 * wall-clock limit and a memory limit, and collects the lines its harness printed with the nonce.
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
import { COURSE_ROOT, type GradingProgram } from "./module.ts";

/** Limits and environment of one sandboxed run. */
export interface SandboxOptions {
  /** Wall-clock limit in ms (default 60 000). */
  timeoutMs?: number;
  /** Resident memory limit in MiB, polled from /proc (default 1536). */
  memoryMb?: number;
  /** tfjs backend for learner code: "wasm" (default) or "cpu". */
  backend?: "wasm" | "cpu";
}

/** What one sandboxed run produced. */
export interface SandboxRun {
  /** Trusted per-exercise results (lines with the right nonce), in order. */
  results: ExerciseResult[];
  /** Tampering the harness saw outside an exercise's own checks. */
  tampering: { id: string; what: string }[];
  done: boolean;
  /** Why the process was stopped, if it was. */
  killed?: "time" | "memory";
  code: number | null;
  stderrTail: string;
  seconds: number;
}

// Environment names the course code reads (src/model/presets.ts, src/viz/display.ts,
// src/backend.ts, src/decision/inputs.ts): everything else (HOME, tokens, other learners' paths)
// stays unreadable. COURSE_RESULTS_DIR only picks a results folder; reads stay inside the course.
const ALLOWED_ENV = ["COURSE_PRESET", "COURSE_NO_PNG", "COURSE_BACKEND", "COURSE_RESULTS_DIR"];

function denoDir(): string {
  const fromEnv = Deno.env.get("DENO_DIR");
  if (fromEnv) return fromEnv;
  const home = Deno.env.get("HOME") ?? "/root";
  return join(Deno.env.get("XDG_CACHE_HOME") ?? join(home, ".cache"), "deno");
}

function rssMb(pid: number): number {
  try {
    const status = Deno.readTextFileSync(`/proc/${pid}/status`);
    const m = /VmRSS:\s+(\d+) kB/.exec(status);
    return m ? Number(m[1]) / 1024 : 0;
  } catch {
    return 0;
  }
}

async function readCapped(stream: ReadableStream<Uint8Array>, cap: number): Promise<string> {
  const chunks: Uint8Array[] = [];
  let size = 0;
  for await (const chunk of stream) {
    // keep at most `cap` bytes from the end: the harness lines come last
    chunks.push(chunk);
    size += chunk.length;
    while (size - chunks[0].length > cap) size -= chunks.shift()!.length;
  }
  const all = new Uint8Array(size);
  let off = 0;
  for (const c of chunks) all.set(c, off), off += c.length;
  return new TextDecoder().decode(all);
}

/**
 * The stdout lines matching `prefix`, read as a stream: learner output of any size is dropped line
 * by line (an over-long partial line is cut), so it can neither hide nor push out the results.
 */
async function harnessLines(stream: ReadableStream<Uint8Array>, prefix: RegExp): Promise<string[]> {
  const lines: string[] = [];
  let partial = "";
  for await (const text of stream.pipeThrough(new TextDecoderStream())) {
    const parts = (partial + text).split("\n");
    partial = parts.pop()!.slice(-(1 << 20));
    for (const line of parts) if (prefix.test(line)) lines.push(line);
  }
  if (prefix.test(partial)) lines.push(partial);
  return lines;
}

/**
 * Writes the program to a fresh temp folder and runs it sandboxed. The nonce goes through stdin, so
 * learner code cannot know it; only lines carrying it are trusted.
 */
export async function runSandboxed(
  program: GradingProgram,
  opts: SandboxOptions = {},
): Promise<SandboxRun> {
  const timeoutMs = opts.timeoutMs ?? 60_000;
  const memoryMb = opts.memoryMb ?? 1536;
  const tmp = await Deno.makeTempDir({ prefix: "grade-" });
  const work = join(tmp, "work");
  await Deno.mkdir(work);
  for (const [name, src] of Object.entries(program.files)) {
    await Deno.writeTextFile(join(tmp, name), src);
  }
  // The course code and data only: not notebooks/ (reference solutions), tests/, build/ (other
  // learners' reports), nor the program's own folder (hidden tests): Deno loads the learner
  // modules by import, which needs no read permission.
  const readable = ["src", "node_modules", "deno.json", "deno.lock", "datasets", "assets"]
    .map((p) => join(COURSE_ROOT, p))
    .concat([work]);
  const args = [
    "run",
    "--no-prompt",
    `--config=${join(COURSE_ROOT, "deno.json")}`,
    `--allow-read=${readable.join(",")}`,
    `--allow-write=${work}`,
    `--allow-env=${ALLOWED_ENV.join(",")}`,
    // V8's heap cap makes a runaway JS allocation fail fast; the RSS poll catches the rest (wasm)
    `--v8-flags=--max-old-space-size=${Math.max(64, Math.floor(memoryMb * 0.75))}`,
    join(tmp, "grade.ts"),
  ];
  const t0 = performance.now();
  const child = new Deno.Command(Deno.execPath(), {
    args,
    cwd: work,
    clearEnv: true,
    env: {
      DENO_DIR: denoDir(),
      DENO_NO_UPDATE_CHECK: "1",
      NO_COLOR: "1",
      PATH: "/usr/bin:/bin",
      COURSE_PRESET: "tiny",
      COURSE_NO_PNG: "1",
      COURSE_BACKEND: opts.backend ?? "wasm",
    },
    stdin: "piped",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const nonce = crypto.randomUUID().replaceAll("-", "");
  const writer = child.stdin.getWriter();
  const plan = { nonce, exercises: program.plan.map((e) => ({ id: e.id, checks: e.checks })) };
  await writer.write(new TextEncoder().encode(JSON.stringify(plan) + "\n")).catch(() => {});
  await writer.close().catch(() => {});

  let killed: SandboxRun["killed"];
  const kill = (why: "time" | "memory") => {
    if (killed) return;
    killed = why;
    // no --allow-run: the learner cannot start processes, so killing deno itself stops everything
    try {
      child.kill("SIGKILL");
    } catch { /* already gone */ }
  };
  const timer = setTimeout(() => kill("time"), timeoutMs);
  const poll = setInterval(() => {
    if (rssMb(child.pid) > memoryMb) kill("memory");
  }, 50);
  const prefix = new RegExp(`^@@(GRADE|TAMPER|DONE) ${nonce} (.*)$`);
  const [stdout, stderr, status] = await Promise.all([
    harnessLines(child.stdout, prefix),
    readCapped(child.stderr, 1 << 16),
    child.status,
  ]);
  clearTimeout(timer);
  clearInterval(poll);
  await Deno.remove(tmp, { recursive: true }).catch(() => {});

  const results: ExerciseResult[] = [];
  const tampering: { id: string; what: string }[] = [];
  let done = false;
  for (const line of stdout) {
    const m = prefix.exec(line);
    if (!m) continue;
    try {
      const payload = JSON.parse(m[2]);
      if (m[1] === "GRADE") results.push(payload);
      else if (m[1] === "TAMPER") tampering.push(payload);
      else done = true;
    } catch { /* a truncated line is no result */ }
  }
  return {
    results,
    tampering,
    done,
    killed,
    code: status.code,
    stderrTail: stderr.slice(-3000),
    seconds: (performance.now() - t0) / 1000,
  };
}
