/**
 * `deno task bench eval`: evaluation throughput at 8 x L0 (the evidence needs hundreds of long
 * examples per option and seed): retrieval examples/s (teacher-forced scoring, batches of 2) and
 * bits/byte windows/s, on 1 thread and spread over worker threads (src/eval/eval_pool.ts, results
 * identical to the serial path), interleaved, `--repeats` times, median and range, with the CPU
 * and load average in the CSV. The model is a fresh init of the preset (throughput does not depend
 * on the weights).
 *
 * Flags: --preset --length (default 8 x L0) --examples 16 --windows 16 --batch 2 --threads 1,2
 * --repeats 3 --backend wasm|cpu|webgpu --allow-software --out assets/bench/eval.csv
 * @module
 */
import { OtherCpu } from "../util/cpu_share.ts";
import { codeVersion } from "../util/git.ts";
import { parseArgs } from "node:util";
import { initBackend } from "../backend.ts";
import { loadCorpus } from "../data/corpus.ts";
import {
  CANONICAL_WORDING,
  makePasskey,
  maximumOffset,
  minimumOffset,
  type RetrievalExample,
} from "../data/passkey.ts";
import { Rng } from "../data/rng.ts";
import { EvalPool } from "../eval/eval_pool.ts";
import { modelConfig } from "../model/config.ts";
import { Decoder } from "../model/decoder.ts";
import { writeFileAtomic } from "../util/atomic.ts";
import { adapterText, checkedAdapter, intFlag, loadAverage, summarize, toCsv } from "./env_util.ts";
import { machineCells, modelBenchFlags, modelBenchOptions } from "./model_bench.ts";

const HEADER = [
  "preset",
  "length",
  "task",
  "threads",
  "items",
  "batch",
  "repeats",
  "items_per_s_median",
  "items_per_s_min",
  "items_per_s_max",
  "speedup_vs_1_thread",
  "cpu",
  "cores",
  "load_before",
  "load_after",
  "backend",
  "adapter",
  "note",
  "other_cpu_share",
  "commit",
];

function parse(args: string[]) {
  const { values } = parseArgs({
    args,
    options: {
      ...modelBenchOptions("assets/bench/eval.csv"),
      length: { type: "string" },
      examples: { type: "string", default: "16" },
      windows: { type: "string", default: "16" },
      batch: { type: "string", default: "2" },
      threads: { type: "string", default: "1,2" },
    },
  });
  const common = modelBenchFlags(values);
  return {
    ...common,
    length: values.length ? intFlag("length", values.length, 64) : common.p.targetLength,
    examples: intFlag("examples", values.examples!, 1),
    windows: intFlag("windows", values.windows!, 1),
    batch: intFlag("batch", values.batch!, 1),
    threads: values.threads!.split(",").map((x) => intFlag("threads", x, 1)),
    repeats: intFlag("repeats", values.repeats!, 1),
  };
}

/** Runs the benchmark and writes the CSV (default assets/bench/eval.csv). */
export async function run(args: string[]): Promise<void> {
  const o = parse(args);
  const adapter = adapterText(await checkedAdapter(o.backend, o.allowSoftware), o.backend);
  const commit = await codeVersion();
  // Pool threads beyond the first need a CPU backend (one GPU is not shared by threads).
  if (o.backend === "webgpu") o.threads = [1];
  await initBackend({ backend: o.backend });
  const corpus = await loadCorpus();
  const model = Decoder.create(modelConfig(o.p.name), 0);
  const rng = new Rng(7);
  const [lo, hi] = [minimumOffset(), maximumOffset(CANONICAL_WORDING, o.length)];
  const examples: RetrievalExample[] = Array.from(
    { length: o.examples },
    (_, i) =>
      makePasskey({
        filler: corpus.heldOut,
        length: o.length,
        offset: lo + Math.floor(((hi - lo) * i) / o.examples),
        rng,
      }),
  );
  const bpb = { seqLen: o.length, windows: o.windows, batch: o.batch, seed: 1 };
  const pools = new Map<number, EvalPool>();
  for (const t of o.threads) pools.set(t, await EvalPool.start(model, t));
  const tasks = {
    retrieval: (pool: EvalPool) => pool.scoreRetrieval(examples, o.batch).then(() => o.examples),
    "bpb-windows": (pool: EvalPool) => pool.bitsPerByte(corpus.heldOut, bpb).then(() => o.windows),
  };
  const rates = new Map<string, number[]>();
  const loadBefore = loadAverage();
  const other = new OtherCpu();
  // Warm-up: one group per thread, so every worker (not only this thread) has compiled its
  // kernels and grown its heap before the first timed repeat.
  for (const [t, pool] of pools) {
    await pool.scoreRetrieval(examples.slice(0, t), 1);
    await pool.bitsPerByte(corpus.heldOut, { ...bpb, windows: t, batch: 1 });
  }
  for (let r = 0; r < o.repeats; r++) {
    for (const [task, fn] of Object.entries(tasks)) {
      const entries = [...pools];
      for (const [t, pool] of entries.map((_, i) => entries[(i + r) % entries.length])) {
        const t0 = performance.now();
        const items = await fn(pool);
        const rate = items / ((performance.now() - t0) / 1000);
        rates.set(`${task}|${t}`, [...(rates.get(`${task}|${t}`) ?? []), rate]);
        console.log(
          `${task} L=${o.length} threads=${t} repeat ${r + 1}: ${rate.toFixed(2)} items/s`,
        );
      }
    }
  }
  const loadAfter = loadAverage();
  const otherShare = other.share();
  for (const pool of pools.values()) await pool.close();
  model.dispose();
  const rows = [...rates].map(([key, xs]) => {
    const [task, t] = key.split("|");
    const s = summarize(xs), one = rates.get(`${task}|1`);
    const speedup = one ? +(s.median / summarize(one).median).toFixed(3) : "";
    const items = task === "retrieval" ? o.examples : o.windows;
    return [
      o.p.name,
      o.length,
      task,
      Number(t),
      items,
      o.batch,
      o.repeats,
      +s.median.toFixed(3),
      +s.min.toFixed(3),
      +s.max.toFixed(3),
      speedup,
      ...machineCells(loadBefore, loadAfter, o.backend, adapter, otherShare, commit),
    ];
  });
  await writeFileAtomic(o.out, toCsv(HEADER, rows));
  console.log(`wrote ${o.out}`);
}
