/**
 * The two sides of `deno task bench train`: {@link measureOurs} (the course's training step in
 * this process, on one thread or data-parallel over worker threads) and {@link measurePeer} (the
 * PyTorch peer, train_peer.py, in a child process on OpenBLAS with the machine's OpenBLAS
 * overrides removed for that command only).
 *
 * @example
 * ```ts
 * import { measureOurs, measurePeer } from "./train_util.ts";
 * const ours = await measureOurs(getPreset("tiny"), 64, 4, 3, 1, 2, "wasm");
 * const peer = await measurePeer(getPreset("tiny"), 64, 4, 3, 1, "chunked", 256);
 * ```
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import type { BackendName } from "../backend.ts";
import { modelConfig } from "../model/config.ts";
import { Decoder } from "../model/decoder.ts";
import type { Preset } from "../model/presets.ts";
import { AdamW } from "../train/adamw.ts";
import { ParallelGradients } from "../train/data_parallel.ts";
import { type GradientEngine, LocalGradients } from "../train/gradients.ts";

/** Debian packages the peer needs (bench-only: installed by the bench, never by the course). */
export const PEER_PACKAGES = ["python3-torch", "libopenblas0-pthread"];
/** Seconds one peer measurement may take before it is killed (a hung run fails, named). */
export const PEER_TIMEOUT_S = 600;
/** The Python with Debian's torch. */
export const PEER_PYTHON = "/usr/bin/python3";
/** Environment variables removed for the peer's command (set on some machines, they slow it). */
export const PEER_UNSET_ENV = ["OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE"];

/** Attention formulations of the peer (see train_peer.py). */
export type PeerAttention = "full" | "chunked";

/**
 * One PyTorch configuration to time: attention formulation, chunk (chunked only), torch threads,
 * and whether ATen may use its AVX-512 kernels (`ATEN_CPU_CAPABILITY=avx512`; by default 1.13
 * picks AVX2 on AVX-512 machines), and the number of processes: `xN` trains data-parallel over N
 * processes of `threads` threads each (DistributedDataParallel over gloo, how PyTorch's users
 * use several cores for a small model). Written `attn[:chunk][@threads][+avx512][xN]`, e.g.
 * `chunked:64@1x2`; the peer search times several and the ratio is against the best.
 */
export interface PeerSpec {
  attn: PeerAttention;
  chunk?: number;
  threads: number;
  avx512: boolean;
  /**
   * `+blas1`: OpenBLAS's own pool at 1 thread and OpenMP waiting passively, so torch's threads do
   * not compete with OpenBLAS's spinning ones for the cores (the default gives OpenBLAS as many
   * threads as torch).
   */
  blas1: boolean;
  procs: number;
}

/** Parses a `--peer` entry (see {@link PeerSpec}), naming the flag and the form on bad input. */
export function parsePeerSpec(s: string, defaultChunk = 256): PeerSpec {
  const m = /^(full|chunked)(?::(\d+))?(?:@(\d+))?(\+avx512)?(\+blas1)?(?:x(\d+))?$/.exec(s);
  if (
    !m || (m[1] === "full" && m[2] !== undefined) || m[2] === "0" || m[3] === "0" || m[6] === "0"
  ) {
    throw new RangeError(
      `--peer entries are full|chunked[:chunk >= 1][@threads >= 1][+avx512][+blas1]` +
        `[xprocesses >= 1] (chunk only with chunked); got "${s}"`,
    );
  }
  return {
    attn: m[1] as PeerAttention,
    ...(m[1] === "chunked" ? { chunk: m[2] ? Number(m[2]) : defaultChunk } : {}),
    threads: m[3] ? Number(m[3]) : 2,
    avx512: m[4] !== undefined,
    blas1: m[5] !== undefined,
    procs: m[6] ? Number(m[6]) : 1,
  };
}

/**
 * Our tokens/s: `steps` timed training steps (after `warmup`) of preset `p`'s model on random
 * tokens [batch, t + 1], gradients over `workers` threads (1: this thread only).
 */
export async function measureOurs(
  p: Preset,
  t: number,
  batch: number,
  steps: number,
  warmup: number,
  workers: number,
  backend: BackendName,
): Promise<number> {
  const model = Decoder.create(modelConfig(p.name), 0);
  const opt = new AdamW(model.params);
  const engine: GradientEngine = workers > 1
    ? await ParallelGradients.start(model, workers, backend)
    : new LocalGradients(model);
  const tokens = new Int32Array(batch * (t + 1));
  for (let i = 0; i < tokens.length; i++) tokens[i] = (i * 2654435761) >>> 24; // fixed bytes
  const weights = new Float32Array(batch * t).fill(1);
  const step = async () => {
    const { grads } = await engine.compute({ tokens, weights }, { batch, seqLen: t });
    const clipped = await clipAsync(grads, 1);
    opt.apply(clipped, 1e-3);
    tf.dispose([...grads.values(), ...clipped.values()]);
  };
  try {
    for (let i = 0; i < warmup; i++) await step();
    const t0 = performance.now();
    for (let i = 0; i < steps; i++) await step();
    return (steps * batch * t) / ((performance.now() - t0) / 1000);
  } finally {
    await engine.close();
    opt.dispose();
    model.dispose();
  }
}

/**
 * Global-norm clipping as in the trainer (clipByGlobalNorm's arithmetic), reading the norm back
 * asynchronously: WebGPU under Deno has no synchronous readback.
 */
async function clipAsync(
  grads: Map<string, tf.Tensor>,
  maxNorm: number,
): Promise<Map<string, tf.Tensor>> {
  const n = tf.tidy(() => tf.sqrt(tf.addN([...grads.values()].map((g) => tf.sum(tf.square(g))))));
  const norm = (await n.data())[0];
  n.dispose();
  if (norm <= maxNorm) return grads;
  return new Map([...grads].map(([k, g]) => [k, tf.mul(g, maxNorm / norm)]));
}

/** What the peer reports. */
export interface PeerInfo {
  tokensPerS: number;
  stepS: number[];
  blas: string;
  threads: number;
  /** OpenBLAS's own thread pool (null when the BLAS is not OpenBLAS). */
  blasThreads: number | null;
  /** OpenBLAS's kernel core type (e.g. Cooperlake), null when not OpenBLAS. */
  blasCore: string | null;
  /** The ATen CPU kernels in use (e.g. AVX2). */
  cpuCapability: string | null;
  /** Data-parallel processes (1: one process). */
  procs: number;
  torch: string;
  openblasEnv: Record<string, string>;
}

/**
 * The peer's tokens/s and configuration, from train_peer.py in a child process (and its
 * data-parallel children when `spec.procs` > 1; the batch is split between them).
 */
export async function measurePeer(
  p: Preset,
  t: number,
  batch: number,
  steps: number,
  warmup: number,
  spec: PeerSpec,
): Promise<PeerInfo> {
  const script = new URL("./train_peer.py", import.meta.url).pathname;
  const flags: Record<string, number | string> = {
    d: p.dModel,
    layers: p.numLayers,
    heads: p.numHeads,
    "head-dim": p.headDim,
    mlp: p.mlpHidden,
    seq: t,
    batch,
    steps,
    warmup,
    threads: spec.threads,
    attn: spec.attn,
    chunk: spec.chunk ?? t,
    procs: spec.procs,
  };
  const env = Deno.env.toObject();
  for (const k of PEER_UNSET_ENV) delete env[k];
  if (spec.avx512) env.ATEN_CPU_CAPABILITY = "avx512";
  // torch.set_num_threads does not reach OpenBLAS's own pool: give it the same count (or 1 with
  // +blas1, OpenMP then waiting passively); OMP_NUM_THREADS is set for the record.
  env.OPENBLAS_NUM_THREADS = spec.blas1 ? "1" : String(spec.threads);
  env.OMP_NUM_THREADS = String(spec.threads);
  if (spec.blas1) env.OMP_WAIT_POLICY = "PASSIVE";
  // A data-parallel peer can hang in gloo's rendezvous: stop it rather than the whole bench.
  const cmd = new Deno.Command(PEER_PYTHON, {
    args: [script, ...Object.entries(flags).flatMap(([k, v]) => [`--${k}`, String(v)])],
    env,
    clearEnv: true,
    stdout: "piped",
    stderr: "inherit",
  }).spawn();
  const timer = setTimeout(() => cmd.kill("SIGKILL"), PEER_TIMEOUT_S * 1000);
  const out = await cmd.output().finally(() => clearTimeout(timer));
  const text = new TextDecoder().decode(out.stdout).trim();
  if (!out.success) {
    const why = out.signal
      ? `killed (${out.signal}) at the ${PEER_TIMEOUT_S} s limit`
      : `exit ${out.code}`;
    throw new Error(`PyTorch peer failed (${why}): ${text}`);
  }
  const r = JSON.parse(text.split("\n").at(-1)!);
  return {
    tokensPerS: r.tokens_per_s,
    stepS: r.step_s,
    blas: r.blas,
    threads: r.threads,
    blasThreads: r.blas_threads ?? null,
    blasCore: r.blas_core ?? null,
    cpuCapability: r.cpu_capability ?? null,
    procs: r.procs ?? 1,
    torch: r.torch,
    openblasEnv: r.openblas_env,
  };
}
