/**
 * The grading harness: imported first by every checker program (the process that runs the
 * reference tests, which learner code never shares). It reads a one-line JSON plan
 * `{nonce, exercises: [{id, checks}], channel: {read, write}}` from stdin, reaches the learner's
 * exercises through the channel (their functions become plain functions whose calls cross to the
 * learner's process as data, see wire.ts), runs each planned check once, and prints one
 * `@@GRADE <nonce> <json>` line per exercise. If the learner's process ends while an exercise is
 * graded, it prints `@@LOST <nonce> {"id"}` and stops: the grader charges that exercise and reruns
 * the others.
 *
 * @example
 * ```ts
 * import { grade as __grade } from "../src/grade/harness.ts";
 * await __grade.exercise("01.1", ["add"], async (check, mine) => {
 *   await check(0, () => assert.equal((mine.add as (a: number, b: number) => number)(1, 2), 3));
 * });
 * __grade.finish();
 * ```
 * @module
 */
import { type Channel, openChannel } from "./channel.ts";
import { errorText, makePeer, type Peer, PeerLostError } from "./rpc.ts";
import { fromWire, toWire } from "./wire.ts";

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
}

/** An error the learner's code threw (its text arrives as data). */
export class LearnerError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "LearnerError";
  }
}

const encoder = new TextEncoder();
const writeSync = Deno.stdout.writeSync.bind(Deno.stdout);

async function readPlan(): Promise<{
  nonce: string;
  exercises: { id: string; checks: number }[];
  channel: { read: string; write: string };
}> {
  const buf = new Uint8Array(1 << 16);
  let text = "";
  while (!text.includes("\n")) {
    const n = await Deno.stdin.read(buf);
    if (n === null) break;
    text += new TextDecoder().decode(buf.subarray(0, n));
  }
  return JSON.parse(text.split("\n")[0]);
}

const plan = await readPlan();
const planned = new Map(plan.exercises.map((e) => [e.id, e.checks]));
let finished = false;

function emit(kind: string, payload: unknown) {
  writeSync(
    encoder.encode("\n@@" + kind + " " + plan.nonce + " " + JSON.stringify(payload) + "\n"),
  );
}

// callbacks (functions a test passes to a learner's function) by handle, for one exercise
const callbacks = new Map<number, (...a: unknown[]) => unknown>();
let lost = false;
let peerCache: Peer | undefined;
let channel: Channel | undefined;
function peer(): Peer {
  if (lost) throw new PeerLostError();
  channel ??= openChannel(plan.channel, "grader");
  peerCache ??= makePeer(channel, (msg) => {
    const f = msg.op === "callback" ? callbacks.get(Number(msg.fn)) : undefined;
    if (!f) return { ok: false, error: "no such callback" };
    try {
      const value = f(...(fromWire(msg.args) as unknown[]));
      if (value instanceof Promise) throw new TypeError("a callback may not be async");
      return { ok: true, value: toWire(value) };
    } catch (e) {
      return { ok: false, error: errorText(e) };
    }
  });
  return peerCache;
}

function request(msg: Record<string, unknown>): Record<string, unknown> {
  try {
    return peer().request(msg);
  } catch (e) {
    if (e instanceof PeerLostError || e instanceof Deno.errors.BrokenPipe) {
      lost = true;
      throw new PeerLostError();
    }
    throw e;
  }
}

function callLearner(id: string, name: string, args: unknown[]): unknown {
  const register = (f: unknown) => {
    const handle = callbacks.size + 1;
    callbacks.set(handle, f as (...a: unknown[]) => unknown);
    return handle;
  };
  const reply = request({ op: "call", id, name, args: toWire(args, register) });
  if (reply.ok !== true) throw learnerThrew(String(reply.error ?? "failed"));
  return fromWire(reply.value);
}

// Built-in error classes a test may expect (assert.throws(f, RangeError)): rebuilt here, in the
// checker's own realm, from the name the learner's error text starts with.
const BUILT_IN_ERRORS: Record<string, new (message: string) => Error> = {
  Error,
  RangeError,
  TypeError,
  SyntaxError,
  ReferenceError,
  EvalError,
  URIError,
};

/** The checker-side error for a learner's thrown "Name: message" text. */
export function learnerThrew(text: string): Error {
  const m = /^([A-Za-z]*Error): ([\s\S]*)$/.exec(text);
  const Ctor = m && Object.hasOwn(BUILT_IN_ERRORS, m[1]) ? BUILT_IN_ERRORS[m[1]] : null;
  return Ctor ? new Ctor(m![2]) : new LearnerError(text);
}

/** The names the learner's cell of exercise `id` declares, as local stand-ins. */
function learnerExports(id: string, names: string[]): Record<string, unknown> {
  const reply = request({ op: "load", id });
  if (reply.ok !== true) throw new LearnerError(String(reply.error ?? "the cell did not load"));
  const kinds = (reply.exports ?? {}) as Record<string, { fn?: boolean; value?: unknown }>;
  const out: Record<string, unknown> = {};
  for (const name of names) {
    const kind = Object.hasOwn(kinds, name) ? kinds[name] : undefined;
    if (kind?.fn === true) out[name] = (...args: unknown[]) => callLearner(id, name, args);
    else if (kind && Object.hasOwn(kind, "value")) out[name] = fromWire(kind.value);
    else {
      out[name] = () => {
        throw new LearnerError(`${name} is not defined in the cell of exercise ${id}`);
      };
    }
  }
  return out;
}

function messageOf(e: unknown): string {
  return e instanceof LearnerError ? e.message.slice(0, 2000) : errorText(e);
}

/** The check runner handed to one exercise's tests. */
export type Check = (index: number, fn: () => unknown) => Promise<void>;

/** The grading API used by the generated checker program. */
export const grade = Object.freeze({
  /** Runs one exercise's tests against the learner's `names`; `body` calls `check(i, fn)`. */
  async exercise(
    id: string,
    names: string[],
    body: (check: Check, mine: Record<string, unknown>) => Promise<void>,
  ): Promise<void> {
    const total = planned.get(id);
    if (finished || total === undefined) return;
    callbacks.clear();
    const results: (CheckResult | undefined)[] = [];
    const check: Check = async (index, fn) => {
      if (!Number.isInteger(index) || index < 0 || index >= total || results[index]) return;
      try {
        await fn();
        results[index] = { index, passed: true };
      } catch (e) {
        results[index] = { index, passed: false, message: messageOf(e) };
      }
    };
    let reason: string | undefined;
    try {
      await body(check, learnerExports(id, names));
    } catch (e) {
      reason = messageOf(e);
    }
    if (lost) {
      emit("LOST", { id });
      Deno.exit(3);
    }
    const checks: CheckResult[] = [];
    for (let index = 0; index < total; index++) {
      checks[index] = results[index] ??
        { index, passed: false, message: reason ?? "check did not run" };
    }
    emit("GRADE", { id, checks, reason } satisfies ExerciseResult);
  },
  /** Marks the end of grading. */
  finish() {
    if (!finished) emit("DONE", {});
    finished = true;
    channel?.close(); // the learner's process sees end-of-file and ends
  },
});
