/**
 * The grading harness: imported first by every grading module, so it evaluates before any learner
 * code. It reads a one-line JSON plan `{nonce, exercises: [{id, checks}]}` from stdin (so learner
 * code cannot learn the nonce from the source, the environment or a file), keeps the original
 * stdout writer, freezes `node:assert/strict`, turns `Deno.exit` (and friends) into a throw, accepts
 * each planned check once, and prints one `@@GRADE <nonce> <json>` line per exercise.
 *
 * @example
 * ```ts
 * import { grade as __grade } from "../src/grade/harness.ts";
 * await __grade.exercise("01.1", async (check) => {
 *   await check(0, () => assert.equal(1, 1));
 * });
 * __grade.finish();
 * ```
 * @module
 */
import assert from "node:assert/strict";
import * as strictNs from "node:assert/strict";
import process from "node:process";

/** The outcome of one check. */
export interface CheckResult {
  index: number;
  passed: boolean;
  message?: string;
}

/** One exercise's line of results. */
export interface ExerciseResult {
  id: string;
  checks: CheckResult[];
  /** Set when the exercise could not be graded as planned. */
  reason?: string;
  tampering?: string[];
}

const encoder = new TextEncoder();
const encode = encoder.encode.bind(encoder);
const writeSync = Deno.stdout.writeSync.bind(Deno.stdout);
const stringify = JSON.stringify;
const same = Object.is;

async function readPlan(): Promise<{ nonce: string; exercises: { id: string; checks: number }[] }> {
  const buf = new Uint8Array(1 << 16);
  let text = "";
  while (!text.includes("\n")) {
    const n = await Deno.stdin.read(buf);
    if (n === null) break;
    text += new TextDecoder().decode(buf.subarray(0, n));
  }
  return JSON.parse(text.split("\n")[0]);
}

// started now, awaited after the freezing below, which must happen before any other module runs
const planPromise = readPlan();
let finished = false;

function emit(kind: string, payload: unknown) {
  writeSync(encode("\n@@" + kind + " " + plan.nonce + " " + stringify(payload) + "\n"));
}

function freezeDeep(obj: Record<string, unknown>) {
  for (const key of Object.getOwnPropertyNames(obj)) {
    const v = obj[key];
    if ((typeof v === "function" || typeof v === "object") && v !== null) Object.freeze(v);
  }
  Object.freeze(obj);
}
freezeDeep(assert as unknown as Record<string, unknown>);
freezeDeep(strictNs.default as unknown as Record<string, unknown>);

// Built-ins whose methods the assertions and this harness rely on: learner code that replaces one
// (say Object.is, or Array.prototype.map) could make wrong answers pass, so a change is tampering.
const INTRINSICS: [string, object][] = [
  ["Object", Object],
  ["Object.prototype", Object.prototype],
  ["Array", Array],
  ["Array.prototype", Array.prototype],
  ["Function.prototype", Function.prototype],
  ["Promise", Promise],
  ["Promise.prototype", Promise.prototype],
  ["JSON", JSON],
  ["Math", Math],
  ["Number", Number],
  ["Number.prototype", Number.prototype],
  ["String.prototype", String.prototype],
  ["Reflect", Reflect],
  ["Map.prototype", Map.prototype],
  ["Set.prototype", Set.prototype],
  ["Error.prototype", Error.prototype],
];
type Snapshot = [string, object, Map<string | symbol, unknown>][];
const takeSnapshot = (): Snapshot =>
  INTRINSICS.map(([name, obj]) => [
    name,
    obj,
    new Map(Reflect.ownKeys(obj).map((k) => [k, Reflect.getOwnPropertyDescriptor(obj, k)?.value])),
  ]);
// taken when the first exercise starts: after the course modules loaded, before learner code runs
let snapshot: Snapshot | undefined;
/** Names of built-ins changed since the first exercise started. */
function changedIntrinsics(): string[] {
  const changed: string[] = [];
  for (const [name, obj, values] of snapshot ?? []) {
    const keys = Reflect.ownKeys(obj);
    if (keys.length !== values.size) changed.push(`${name} (properties added or removed)`);
    for (const [k, v] of values) {
      if (!same(Reflect.getOwnPropertyDescriptor(obj, k)?.value, v)) {
        changed.push(`${name}.${String(k)}`);
      }
    }
  }
  return changed;
}

const denied = (what: string) => () => {
  throw new Error(`${what} is not allowed while grading`);
};
for (
  const [obj, key, what] of [
    [Deno, "exit", "Deno.exit"],
    [globalThis, "close", "close()"],
    [process, "exit", "process.exit"],
    [process, "abort", "process.abort"],
    [process, "reallyExit", "process.reallyExit"],
  ] as [Record<string, unknown>, string, string][]
) {
  try {
    Object.defineProperty(obj, key, { value: denied(what), writable: false, configurable: false });
  } catch { /* not present on this runtime */ }
}

const plan = await planPromise;
const planned = new Map(plan.exercises.map((e) => [e.id, e.checks]));
const started = new Set<string>();

function messageOf(e: unknown): string {
  if (e instanceof Error) return `${e.name}: ${e.message}`.slice(0, 2000);
  try {
    return `thrown: ${String(e)}`.slice(0, 2000);
  } catch {
    return "thrown: (a value that cannot be shown)";
  }
}

/** The check runner handed to one exercise's tests. */
export type Check = (index: number, fn: () => unknown) => Promise<void>;

/** The grading API used by the generated module (kept frozen). */
export const grade = Object.freeze({
  /** Runs one exercise's tests; `body` calls `check(i, fn)` for each check in order. */
  async exercise(id: string, body: (check: Check) => Promise<void>): Promise<void> {
    const total = planned.get(id);
    const tampering: string[] = [];
    if (finished) {
      emit("TAMPER", { id, what: `exercise ${id} started after grading finished` });
      return;
    }
    if (total === undefined || started.has(id)) {
      // only the grader starts planned exercises, once each: anything else is learner code
      emit("TAMPER", { id, what: `exercise ${id} started twice or not planned` });
      return;
    }
    started.add(id);
    snapshot ??= takeSnapshot();
    const results: (CheckResult | undefined)[] = [];
    const check: Check = async (index, fn) => {
      if (!Number.isInteger(index) || index < 0 || index >= total || results[index]) {
        tampering.push(`check ${index} of ${id} reported twice or out of range`);
        return;
      }
      try {
        await fn();
        results[index] = { index, passed: true };
      } catch (e) {
        results[index] = { index, passed: false, message: messageOf(e) };
      }
    };
    let reason: string | undefined;
    try {
      await body(check);
    } catch (e) {
      reason = messageOf(e);
    }
    const changed = changedIntrinsics();
    if (changed.length) tampering.push(`modified built-ins: ${changed.join(", ").slice(0, 300)}`);
    // plain loops: no prototype method the learner might have replaced
    const checks: CheckResult[] = [];
    for (let index = 0; index < total; index++) {
      checks[index] = results[index] ?? {
        index,
        passed: false,
        message: reason ?? "check did not run",
      };
    }
    emit("GRADE", { id, checks, reason, tampering } satisfies ExerciseResult);
  },
  /** Marks the end of grading; any later exercise or check is reported as tampering. */
  finish() {
    if (!finished) emit("DONE", {});
    finished = true;
  },
});
