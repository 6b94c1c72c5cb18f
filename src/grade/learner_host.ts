/**
 * The learner's side of grading: imported first by the generated learner program, which runs in
 * its own jailed process (see jail.ts) and never shares a process with the tests. It loads each
 * learner exercise cell on request (in notebook order, each with a time limit, so a top-level await
 * that never resolves costs that exercise only) and calls the learner's functions with the
 * arguments the grading process sends, answering with data only (see wire.ts). Nothing secret
 * lives in this process: no nonce, no tests, no reference solution.
 *
 * @example
 * ```ts
 * import { serveLearner } from "../src/grade/learner_host.ts";
 * const add = (a: number, b: number) => a + b;
 * await serveLearner([{ id: "01.1", load: async () => ({ run: async () => ({ add }) }) }], Deno.args);
 * ```
 * @module
 */
import process from "node:process";
import { openChannel } from "./channel.ts";
import { errorText, makePeer, type Peer } from "./rpc.ts";
import { fromWire, toWire } from "./wire.ts";

/**
 * One learner exercise: `load()` imports its module (and the modules it imports; no time limit
 * of its own), then `run(previous)` runs the cell's code and returns the names it declares.
 */
export interface LearnerExercise {
  id: string;
  load: () => Promise<
    { run: (previous: Record<string, unknown>) => Promise<Record<string, unknown>> }
  >;
}

// Exiting ends this process, which the grader reads as a crash of the exercise being graded; a
// clear message is kinder. Workers and node built-ins by name are not needed by any exercise.
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
    [process, "getBuiltinModule", "process.getBuiltinModule"],
  ] as [Record<string, unknown>, string, string][]
) {
  try {
    Object.defineProperty(obj, key, { value: denied(what), writable: false, configurable: false });
  } catch { /* not present on this runtime */ }
}
delete (globalThis as Record<string, unknown>).Worker;

/** The longest a cell may take to load (top-level code), or an async call to settle, in ms. */
const LOAD_MS = Number(Deno.env.get("GRADE_LOAD_MS") ?? 20_000);

interface Loaded {
  exports?: Record<string, unknown>;
  error?: string;
}

function withTimeout<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const limit = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(what)), ms);
  });
  return Promise.race([p, limit]).finally(() => clearTimeout(timer));
}

/** Serves the grading process until it closes the channel. `args` = [read pipe, write pipe]. */
export async function serveLearner(exercises: LearnerExercise[], args: string[]): Promise<void> {
  const [read, write] = args;
  const channel = openChannel({ read, write }, "learner");
  const loaded = new Map<string, Loaded>();
  const callbacks = (id: number) => (...a: unknown[]) => {
    const reply = peer.request({ op: "callback", fn: id, args: toWire(a) });
    if (reply.ok !== true) throw new Error(String(reply.error ?? "callback failed"));
    return fromWire(reply.value);
  };
  const call = (msg: Message): unknown => {
    const fn = loaded.get(String(msg.id))?.exports?.[String(msg.name)];
    if (typeof fn !== "function") throw new TypeError(`${String(msg.name)} is not a function`);
    return fn(...(fromWire(msg.args, callbacks) as unknown[]));
  };
  const reply = (value: unknown): Message => ({ ok: true, value: toWire(value) });
  const peer: Peer = makePeer(channel, (msg) => {
    if (msg.op !== "call") return { ok: false, error: `unexpected request ${String(msg.op)}` };
    try {
      const value = call(msg);
      if (value instanceof Promise) throw new TypeError("an async function called back");
      return reply(value);
    } catch (e) {
      return { ok: false, error: errorText(e) };
    }
  });
  const load = async (id: string): Promise<Loaded> => {
    for (const ex of exercises) {
      if (!loaded.has(ex.id)) {
        const previous: Record<string, unknown> = {};
        for (const l of loaded.values()) Object.assign(previous, l.exports ?? {});
        try {
          const what = `the cell of exercise ${ex.id} did not finish within ${LOAD_MS / 1000} s ` +
            `(a top-level await that never resolves?)`;
          const { run } = await ex.load();
          loaded.set(ex.id, { exports: await withTimeout(run(previous), LOAD_MS, what) });
        } catch (e) {
          loaded.set(ex.id, { error: errorText(e) });
        }
      }
      if (ex.id === id) return loaded.get(id)!;
    }
    return { error: `exercise ${id} is not part of this run` };
  };
  await peer.serveForever(async (msg) => {
    try {
      if (msg.op === "load") {
        const l = await load(String(msg.id));
        if (l.error) return { ok: false, error: l.error };
        const kinds: Record<string, unknown> = {};
        for (const [k, v] of Object.entries(l.exports ?? {})) {
          kinds[k] = typeof v === "function" ? { fn: true } : { value: toWire(v) };
        }
        return { ok: true, exports: kinds };
      }
      if (msg.op === "call") {
        // an async function whose promise never settles costs its own check only
        const what = `${String(msg.name)} returned a promise that did not settle within ` +
          `${LOAD_MS / 1000} s`;
        return reply(await withTimeout(Promise.resolve(call(msg)), LOAD_MS, what));
      }
      return { ok: false, error: `unexpected request ${String(msg.op)}` };
    } catch (e) {
      return { ok: false, error: errorText(e) };
    }
  });
  channel.close();
}

type Message = Record<string, unknown>;
