/**
 * `deno task bench train`: training tokens/s of the course model (the pretraining step: forward,
 * backward, global-norm clipping, AdamW) at T = L0 and 8 x L0, ours (tfjs, one thread and
 * data-parallel over worker threads, src/train/data_parallel.ts) side by side in one run with the
 * identical architecture in PyTorch on the CPU (Debian's python3-torch at /usr/bin/python3, a peer
 * only) in each attention formulation PyTorch 1.13 allows (full N x N, or causal query chunks).
 *
 * Fairness: the peer runs on OpenBLAS (libopenblas0-pthread, installed here when missing) with
 * OPENBLAS_CORETYPE and OPENBLAS_L2_SIZE unset for its command only, 2 threads; the CSV records the
 * BLAS library it actually loaded, its threads, the CPU model and the load average. Each
 * implementation runs `--repeats` times, interleaved with the others, each repeat `--steps` timed
 * steps after `--warmup` untimed ones; rows give the median and range. Both sides train on the same
 * tokens per step (B = 4,096 / T).
 *
 * Flags: --lengths 256,2048 --steps 10 --warmup 2 --repeats 3 --workers 1,2 --peer full,chunked
 * (each entry attn[:chunk][@threads][+avx512][xprocs], e.g. chunked:64@1+avx512 or chunked:64@1x2) --chunk 256 (default chunk) --no-peer --backend wasm|cpu|webgpu --allow-software --preset tiny|course|full
 * --out assets/bench/train.csv
 * @module
 */
import { OtherCpu } from "../util/cpu_share.ts";
import { codeVersion } from "../util/git.ts";
import { parseArgs } from "node:util";
import { type BackendName, initBackend } from "../backend.ts";
import type { Preset } from "../model/presets.ts";
import { writeFileAtomic } from "../util/atomic.ts";
import { adapterText, checkedAdapter, intFlag, loadAverage, summarize, toCsv } from "./env_util.ts";
import { machineCells, modelBenchFlags, modelBenchOptions } from "./model_bench.ts";
import {
  measureOurs,
  measurePeer,
  parsePeerSpec,
  PEER_PACKAGES,
  type PeerInfo,
  type PeerSpec,
} from "./train_util.ts";
import { ensurePackages } from "../tools/setup.ts";

/** Tokens per step of the bench (B = this / T, at least 1). */
export const TOKENS_PER_STEP = 4096;

const HEADER = [
  "preset",
  "seq_len",
  "batch",
  "impl",
  "config",
  "steps",
  "warmup",
  "repeats_done",
  "tokens_per_s_median",
  "tokens_per_s_min",
  "tokens_per_s_max",
  "ratio_vs_best_peer",
  // Per-repeat ratios (repeat r of ours over repeat r of that peer, timed in the same rotation).
  "ratio_repeat_min",
  "ratio_repeat_max",
  // Every repeat's tok/s in the order measured (the ratios above can be recomputed from these).
  "tokens_per_s_repeats",
  "cpu",
  "cores",
  "load_before",
  "load_max",
  "backend",
  "adapter",
  "note",
  "other_cpu_share",
  "commit",
  // The median again, under the name src/decision/scale.ts reads (the CSV's earlier format).
  "tokens_per_s",
];

/** One implementation measured at one length. */
export interface Impl {
  name: string;
  measure(): Promise<{ tps: number; config: string }>;
}

function implementations(
  p: Preset,
  t: number,
  batch: number,
  o: {
    steps: number;
    warmup: number;
    workers: number[];
    peers: PeerSpec[];
    backend: BackendName;
  },
): Impl[] {
  const ours = o.workers.map((w): Impl => ({
    name: `tfjs-${o.backend}-${w}w`,
    measure: async () => ({
      tps: await measureOurs(p, t, batch, o.steps, o.warmup, w, o.backend),
      config: `workers=${w} (data-parallel threads)`,
    }),
  }));
  const peers = o.peers.map((spec): Impl => ({
    name: `pytorch-${spec.attn}${spec.chunk ? `:${spec.chunk}` : ""}@${spec.threads}${
      spec.avx512 ? "+avx512" : ""
    }${spec.blas1 ? "+blas1" : ""}${spec.procs > 1 ? `x${spec.procs}` : ""}`,
    measure: async () => {
      const r: PeerInfo = await measurePeer(p, t, batch, o.steps, o.warmup, spec);
      const chunk = spec.chunk ? ` chunk=${Math.min(spec.chunk, t)}` : "";
      const isa = spec.avx512 ? " ATEN_CPU_CAPABILITY=avx512" : "";
      return {
        tps: r.tokensPerS,
        config:
          `torch ${r.torch} procs=${r.procs} threads=${r.threads} blas_threads=${r.blasThreads} blas_core=${r.blasCore} aten_cpu=${r.cpuCapability}${chunk}${isa} blas=${r.blas} env=${
            JSON.stringify(r.openblasEnv)
          }`,
      };
    },
  }));
  return [...ours, ...peers];
}

/** Timings of one length so far: tok/s per implementation, their configs, load samples. */
export interface LengthTimings {
  t: number;
  batch: number;
  impls: Impl[];
  tps: number[][];
  configs: string[];
  loads: number[];
  /** Other processes' share of the cores since this length started (util/cpu_share.ts). */
  other: OtherCpu;
}

/**
 * One CSV row per implementation measured at least once (median and range of its repeats); ours
 * carry the ratio of their median to the fastest peer's median, peers leave it empty.
 */
export function summaryRows(
  p: Preset,
  m: LengthTimings,
  o: { steps: number; warmup: number; backend: BackendName; adapter: string; commit: string },
): Array<Array<string | number>> {
  const done = m.impls.map((_, i) => i).filter((i) => m.tps[i].length > 0);
  const sums = new Map(done.map((i) => [i, summarize(m.tps[i])]));
  const peers = done.filter((i) => m.impls[i].name.startsWith("pytorch"));
  const bestPeer = peers.length ? Math.max(...peers.map((i) => sums.get(i)!.median)) : NaN;
  const best = peers.find((i) => sums.get(i)!.median === bestPeer);
  // Repeat r of ours against repeat r of the best peer: the noise a rotation round shares cancels.
  const perRepeat = (i: number) =>
    best === undefined
      ? []
      : m.tps[i].slice(0, m.tps[best].length).map((x, r) => x / m.tps[best][r]);
  // Load before the first measurement, and the highest seen after any of them.
  const [before, after] = [m.loads[0], Math.max(...m.loads.slice(1))];
  return done.map((i) => {
    const s = sums.get(i)!;
    const ours = m.impls[i].name.startsWith("tfjs");
    return [
      p.name,
      m.t,
      m.batch,
      m.impls[i].name,
      m.configs[i],
      o.steps,
      o.warmup,
      s.n,
      +s.median.toFixed(1),
      +s.min.toFixed(1),
      +s.max.toFixed(1),
      ours && bestPeer > 0 ? +(s.median / bestPeer).toFixed(3) : "",
      ...(ours && perRepeat(i).length
        ? [+Math.min(...perRepeat(i)).toFixed(3), +Math.max(...perRepeat(i)).toFixed(3)]
        : ["", ""]),
      m.tps[i].map((x) => x.toFixed(1)).join(";"),
      ...machineCells(before, after, o.backend, o.adapter, m.other.share(), o.commit),
      +s.median.toFixed(1),
    ];
  });
}

/**
 * Measures every implementation `repeats` times, interleaved (the order rotates each repeat);
 * calls `progress` with the rows so far after every measurement, so a stopped run keeps them.
 */
async function measureLength(
  p: Preset,
  t: number,
  impls: Impl[],
  o: {
    steps: number;
    warmup: number;
    repeats: number;
    backend: BackendName;
    adapter: string;
    commit: string;
  },
  progress: (rows: Array<Array<string | number>>) => Promise<void>,
): Promise<Array<Array<string | number>>> {
  const batch = Math.max(1, Math.floor(TOKENS_PER_STEP / t));
  const m: LengthTimings = {
    t,
    batch,
    impls,
    tps: impls.map(() => []),
    configs: impls.map(() => ""),
    loads: [loadAverage()],
    other: new OtherCpu(),
  };
  for (let r = 0; r < o.repeats; r++) {
    for (const i of impls.map((_, j) => (j + r) % impls.length)) {
      const x = await impls[i].measure();
      m.tps[i].push(x.tps);
      m.configs[i] = x.config;
      m.loads.push(loadAverage());
      console.log(
        `T=${t} B=${batch} repeat ${r + 1}/${o.repeats} ${impls[i].name}: ${
          x.tps.toFixed(0)
        } tok/s`,
      );
      await progress(summaryRows(p, m, o));
    }
  }
  return summaryRows(p, m, o);
}

function parse(args: string[]) {
  const { values } = parseArgs({
    args,
    options: {
      ...modelBenchOptions("assets/bench/train.csv"),
      lengths: { type: "string" },
      steps: { type: "string", default: "10" },
      warmup: { type: "string", default: "2" },
      workers: { type: "string", default: "1,2" },
      // The one-process forms and the data-parallel one (the fastest found on 2 cores).
      peer: {
        type: "string",
        default: "full,chunked:64,chunked:64@1,chunked:64+blas1,chunked:64@1x2",
      },
      chunk: { type: "string", default: "256" },
      "no-peer": { type: "boolean", default: false },
    },
  });
  const chunk = intFlag("chunk", values.chunk!, 1);
  const peers = values["no-peer"]
    ? []
    : values.peer!.split(",").map((s) => parsePeerSpec(s, chunk));
  const common = modelBenchFlags(values);
  return {
    ...common,
    lengths: values.lengths?.split(",").map((x) => intFlag("lengths", x, 2)) ??
      [common.p.contextLength, common.p.targetLength],
    steps: intFlag("steps", values.steps!, 1),
    warmup: intFlag("warmup", values.warmup!, 0),
    repeats: intFlag("repeats", values.repeats!, 1),
    workers: values.workers!.split(",").map((x) => intFlag("workers", x, 1)),
    peers,
  };
}

/** Runs the benchmark and writes the CSV (default assets/bench/train.csv). */
export async function run(args: string[]): Promise<void> {
  const o = parse(args);
  if (o.peers.length) await ensurePackages(PEER_PACKAGES);
  const adapter = adapterText(await checkedAdapter(o.backend, o.allowSoftware), o.backend);
  const commit = await codeVersion();
  await initBackend({ backend: o.backend });
  const rows: Array<Array<string | number>> = [];
  for (const t of o.lengths) {
    const batch = Math.max(1, Math.floor(TOKENS_PER_STEP / t));
    const impls = implementations(o.p, t, batch, {
      ...o,
      // Data-parallel workers need a CPU backend; none may get an empty shard.
      workers: o.workers.filter((w) => w <= batch && (w === 1 || o.backend !== "webgpu")),
    });
    // The CSV is rewritten after every measurement: partial results survive a stop.
    const save = (part: Array<Array<string | number>>) =>
      writeFileAtomic(o.out, toCsv(HEADER, [...rows, ...part]));
    rows.push(...await measureLength(o.p, t, impls, { ...o, adapter, commit }, save));
  }
  for (const r of rows) {
    console.log(
      `${r[1]} ${r[3]}: median ${r[8]} tok/s [${r[9]}, ${r[10]}] ratio ${r[11]} ${
        r[HEADER.indexOf("backend")]
      }`,
    );
  }
  console.log(`wrote ${o.out}`);
}
