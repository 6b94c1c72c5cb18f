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
 * --chunk 256 --no-peer --backend wasm|cpu|webgpu --allow-software --preset tiny|course|full
 * --out assets/bench/train.csv
 * @module
 */
import { parseArgs } from "node:util";
import { type BackendName, initBackend } from "../backend.ts";
import { getPreset, type Preset, presetFromEnv } from "../model/presets.ts";
import { writeFileAtomic } from "../util/atomic.ts";
import {
  adapterText,
  checkedAdapter,
  intFlag,
  loadAverage,
  loadNote,
  machine,
  summarize,
  toCsv,
} from "./env_util.ts";
import {
  measureOurs,
  measurePeer,
  PEER_PACKAGES,
  type PeerAttention,
  type PeerInfo,
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
  "repeats",
  "tokens_per_s_median",
  "tokens_per_s_min",
  "tokens_per_s_max",
  "ratio_vs_best_peer",
  "cpu",
  "cores",
  "load_before",
  "load_after",
  "backend",
  "adapter",
  "note",
];

/** One implementation measured at one length. */
interface Impl {
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
    peers: PeerAttention[];
    chunk: number;
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
  const peers = o.peers.map((attn): Impl => ({
    name: `pytorch-${attn}`,
    measure: async () => {
      const r: PeerInfo = await measurePeer(p, t, batch, o.steps, o.warmup, attn, o.chunk);
      const chunk = attn === "chunked" ? ` chunk=${Math.min(o.chunk, t)}` : "";
      return {
        tps: r.tokensPerS,
        config: `torch ${r.torch} threads=${r.threads}${chunk} blas=${r.blas} env=${
          JSON.stringify(r.openblasEnv)
        }`,
      };
    },
  }));
  return [...ours, ...peers];
}

/** Measures every implementation `repeats` times, interleaved; one CSV row each. */
async function measureLength(
  p: Preset,
  t: number,
  impls: Impl[],
  o: { steps: number; warmup: number; repeats: number; backend: BackendName; adapter: string },
): Promise<Array<Array<string | number>>> {
  const batch = Math.max(1, Math.floor(TOKENS_PER_STEP / t));
  const tps = impls.map(() => [] as number[]);
  const configs = impls.map(() => "");
  const loadBefore = loadAverage();
  for (let r = 0; r < o.repeats; r++) {
    // Rotate the order each repeat, so that no implementation always runs first (or last).
    const order = impls.map((_, i) => (i + r) % impls.length);
    for (const i of order) {
      const impl = impls[i];
      const m = await impl.measure();
      tps[i].push(m.tps);
      configs[i] = m.config;
      console.log(
        `T=${t} B=${batch} repeat ${r + 1}/${o.repeats} ${impl.name}: ${m.tps.toFixed(0)} tok/s`,
      );
    }
  }
  const loadAfter = loadAverage();
  const sums = tps.map((x) => summarize(x));
  const peerMedians = impls.map((m, i) => m.name.startsWith("pytorch") ? sums[i].median : NaN)
    .filter((x) => !Number.isNaN(x));
  const bestPeer = peerMedians.length ? Math.max(...peerMedians) : NaN;
  const { cpu, cores } = machine();
  return impls.map((impl, i) => [
    p.name,
    t,
    batch,
    impl.name,
    configs[i],
    o.steps,
    o.warmup,
    o.repeats,
    +sums[i].median.toFixed(1),
    +sums[i].min.toFixed(1),
    +sums[i].max.toFixed(1),
    impl.name.startsWith("tfjs") && bestPeer > 0 ? +(sums[i].median / bestPeer).toFixed(3) : "",
    cpu,
    cores,
    loadBefore,
    loadAfter,
    o.backend,
    o.adapter,
    loadNote(loadBefore, loadAfter),
  ]);
}

function parse(args: string[]) {
  const { values } = parseArgs({
    args,
    options: {
      preset: { type: "string" },
      lengths: { type: "string" },
      steps: { type: "string", default: "10" },
      warmup: { type: "string", default: "2" },
      repeats: { type: "string", default: "3" },
      workers: { type: "string", default: "1,2" },
      peer: { type: "string", default: "full,chunked" },
      chunk: { type: "string", default: "256" },
      "no-peer": { type: "boolean", default: false },
      backend: { type: "string", default: "wasm" },
      "allow-software": { type: "boolean", default: false },
      out: { type: "string", default: "assets/bench/train.csv" },
    },
  });
  const peers = values["no-peer"] ? [] : values.peer!.split(",") as PeerAttention[];
  for (const a of peers) {
    if (a !== "full" && a !== "chunked") {
      throw new RangeError(`--peer must list full and/or chunked; got "${a}"`);
    }
  }
  const p = values.preset ? getPreset(values.preset) : presetFromEnv();
  return {
    p,
    lengths: values.lengths?.split(",").map((x) => intFlag("lengths", x, 2)) ??
      [p.contextLength, p.targetLength],
    steps: intFlag("steps", values.steps!, 1),
    warmup: intFlag("warmup", values.warmup!, 0),
    repeats: intFlag("repeats", values.repeats!, 1),
    workers: values.workers!.split(",").map((x) => intFlag("workers", x, 1)),
    peers,
    chunk: intFlag("chunk", values.chunk!, 1),
    backend: values.backend as BackendName,
    allowSoftware: values["allow-software"]!,
    out: values.out!,
  };
}

/** Runs the benchmark and writes the CSV (default assets/bench/train.csv). */
export async function run(args: string[]): Promise<void> {
  const o = parse(args);
  if (o.peers.length) await ensurePackages(PEER_PACKAGES);
  const adapter = adapterText(await checkedAdapter(o.backend, o.allowSoftware), o.backend);
  await initBackend({ backend: o.backend });
  const rows: Array<Array<string | number>> = [];
  for (const t of o.lengths) {
    const batch = Math.max(1, Math.floor(TOKENS_PER_STEP / t));
    const impls = implementations(o.p, t, batch, {
      ...o,
      workers: o.workers.filter((w) => w <= batch),
    });
    rows.push(...await measureLength(o.p, t, impls, { ...o, adapter }));
    await writeFileAtomic(o.out, toCsv(HEADER, rows)); // partial results survive a stop
  }
  for (const r of rows) {
    console.log(
      `${r[1]} ${r[3]}: median ${r[8]} tok/s [${r[9]}, ${r[10]}] ratio ${r[11]} ${r[18]}`,
    );
  }
  console.log(`wrote ${o.out}`);
}
