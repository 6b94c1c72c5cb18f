/**
 * `deno task bench gpu [--preset full|course|tiny] [--allow-software]`: the GPU-machine run, sized
 * to finish within about 5 minutes on a real GPU. Three parts, one CSV (assets/bench/gpu.csv, with
 * the adapter on every row):
 *
 * 1. kernel checks: the fused attention (forward and gradients, each positional mode) against the
 *    composite reference on the chosen backend;
 * 2. the fused attention forward at N = 1,024 .. `--max-n` (default 32,768; 1,024 at tiny);
 * 3. a few training steps of the preset's model at L0 (tokens/s).
 *
 * It imports only tfjs and the course's own modules (no polars, no plotly), so that what must
 * travel to a GPU machine stays small. A software adapter (llvmpipe) is refused unless
 * `--allow-software`, or at `--preset tiny` (an end-to-end check of the bench itself); its rows
 * say that their timings mean nothing.
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import { parseArgs } from "node:util";
import { type BackendName, initBackend } from "../backend.ts";
import { attention, type AttentionBias, attentionReference } from "../kernels/attention.ts";
import { getPreset, type Preset } from "../model/presets.ts";
import { alibiSlopes } from "../positions/alibi.ts";
import { writeFileAtomic } from "../util/atomic.ts";
import { adapterText, checkedAdapter, loadAverage, loadNote, toCsv } from "./env_util.ts";
import { measureOurs } from "./train_util.ts";

const HEADER = [
  "part",
  "name",
  "n",
  "value",
  "unit",
  "status",
  "detail",
  "preset",
  "backend",
  "adapter",
  "load_before",
  "load_after",
  "note",
];
/** Largest relative error the kernel checks accept (float32 on a GPU, sums over N). */
export const CHECK_TOLERANCE = 2e-3;

type Row = Array<string | number>;

function maxRelError(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let num = 0, den = 1e-30;
  for (let i = 0; i < a.length; i++) {
    if (!Number.isFinite(a[i])) return Infinity;
    num = Math.max(num, Math.abs(a[i] - b[i]));
    den = Math.max(den, Math.abs(b[i]));
  }
  return num / den;
}

function biasFor(mode: AttentionBias["kind"], heads: number): AttentionBias {
  if (mode === "alibi") return { kind: "alibi", slopes: alibiSlopes(heads) };
  if (mode === "t5") {
    return {
      kind: "t5",
      table: tf.randomNormal([32, heads], 0, 1, "float32", 7) as tf.Tensor2D,
      numBuckets: 32,
      maxDistance: 128,
    };
  }
  return { kind: "none" };
}

/** Part 1: fused vs composite attention, output and q/k/v gradients, per positional mode. */
async function kernelChecks(): Promise<Row[]> {
  const rows: Row[] = [];
  const [heads, n, d] = [2, 192, 16];
  for (const mode of ["none", "alibi", "t5"] as const) {
    const bias = biasFor(mode, heads);
    const [q, k, v, dy] = [1, 2, 3, 4].map((s) =>
      tf.randomNormal([1, heads, n, d], 0, 1, "float32", s) as tf.Tensor4D
    );
    const o = { bias, scale: 1 / Math.sqrt(d) };
    const loss = (f: typeof attention) => (a: tf.Tensor, b: tf.Tensor, c: tf.Tensor) =>
      tf.sum(tf.mul(f(a as tf.Tensor4D, b as tf.Tensor4D, c as tf.Tensor4D, o), dy));
    const pairs: Array<[string, tf.Tensor, tf.Tensor]> = [
      ["forward", attention(q, k, v, o), attentionReference(q, k, v, o)],
    ];
    const gf = tf.grads(loss(attention))([q, k, v]),
      gr = tf.grads(loss(attentionReference))([q, k, v]);
    ["dq", "dk", "dv"].forEach((name, i) => pairs.push([name, gf[i], gr[i]]));
    for (const [name, a, b] of pairs) {
      const err = maxRelError(await a.data(), await b.data());
      rows.push([
        "check",
        `attention-${mode}-${name}`,
        n,
        +err.toExponential(3),
        "max rel error",
        err <= CHECK_TOLERANCE ? "ok" : "failed",
        `tolerance ${CHECK_TOLERANCE}`,
      ]);
    }
    tf.dispose([q, k, v, dy, ...pairs.flatMap(([, a, b]) => [a, b])]);
    if (bias.kind === "t5") bias.table.dispose();
  }
  return rows;
}

/** Part 2: fused attention forward, 4 heads of the preset's head size, N doubling up to maxN. */
async function attentionTimes(p: Preset, maxN: number): Promise<Row[]> {
  const rows: Row[] = [];
  for (let n = 1024; n <= maxN; n *= 2) {
    const shape: [number, number, number, number] = [1, 4, n, p.headDim];
    const [q, k, v] = [1, 2, 3].map((s) =>
      tf.randomNormal(shape, 0, 1, "float32", s) as tf.Tensor4D
    );
    const once = async () => {
      const t0 = performance.now();
      const y = attention(q, k, v, { bias: { kind: "none" }, scale: 1 / Math.sqrt(p.headDim) });
      await y.data();
      y.dispose();
      return performance.now() - t0;
    };
    try {
      await once(); // warm-up: shader compile
      const ms = await once();
      const gflops = (4 * 4 * n * n * p.headDim / 2) / (ms * 1e6);
      rows.push([
        "attention",
        `fused-forward-d${p.headDim}`,
        n,
        +ms.toFixed(1),
        "ms",
        "ok",
        `${gflops.toFixed(2)} GFLOP/s`,
      ]);
      console.log(`attention N=${n}: ${ms.toFixed(0)} ms (${gflops.toFixed(2)} GFLOP/s)`);
    } catch (e) {
      rows.push([
        "attention",
        `fused-forward-d${p.headDim}`,
        n,
        "",
        "ms",
        "failed",
        String((e as Error).message).slice(0, 120),
      ]);
      break;
    } finally {
      tf.dispose([q, k, v]);
    }
  }
  return rows;
}

/** Runs the three parts and writes the CSV. */
export async function run(args: string[]): Promise<void> {
  const { values } = parseArgs({
    args,
    options: {
      preset: { type: "string", default: "full" },
      backend: { type: "string", default: "webgpu" },
      "allow-software": { type: "boolean", default: false },
      "max-n": { type: "string" },
      "train-steps": { type: "string", default: "3" },
      // Default: assets/bench/gpu.csv, or gpu_tiny.csv at --preset tiny (the end-to-end check).
      out: { type: "string" },
    },
  });
  const p = getPreset(values.preset!);
  const backend = values.backend as BackendName;
  const tiny = p.name === "tiny";
  const adapter = await checkedAdapter(backend, values["allow-software"]! || tiny);
  const maxN = Number(values["max-n"] ?? (tiny ? 1024 : 32768));
  const steps = Number(values["train-steps"]);
  if (!Number.isInteger(maxN) || maxN < 1024) {
    throw new RangeError(`--max-n must be an integer >= 1024; got ${values["max-n"]}`);
  }
  if (!Number.isInteger(steps) || steps < 1) {
    throw new RangeError(`--train-steps must be an integer >= 1; got ${values["train-steps"]}`);
  }
  await initBackend({ backend });
  const load0 = loadAverage();
  const rows = await kernelChecks();
  for (const r of rows) console.log(`check ${r[1]}: ${r[3]} ${r[5]}`);
  rows.push(...await attentionTimes(p, maxN));
  const t = p.contextLength, batch = Math.max(1, Math.floor(4096 / t));
  const tps = await measureOurs(p, t, batch, steps, 1, 1, backend);
  rows.push([
    "train",
    `${p.name}-step`,
    t,
    +tps.toFixed(1),
    "tokens/s",
    "ok",
    `batch ${batch}, ${steps} timed steps after 1`,
  ]);
  console.log(`train ${p.name} T=${t} B=${batch}: ${tps.toFixed(0)} tokens/s`);
  const load1 = loadAverage();
  const note = [
    adapter.isFallbackAdapter && backend === "webgpu"
      ? "software adapter: timings not meaningful"
      : "",
    loadNote(load0, load1),
  ].filter(Boolean).join("; ");
  const full = rows.map((
    r,
  ) => [...r, p.name, backend, adapterText(adapter, backend), load0, load1, note]);
  const out = values.out ?? `assets/bench/gpu${tiny ? "_tiny" : ""}.csv`;
  await writeFileAtomic(out, toCsv(HEADER, full));
  console.log(`wrote ${out}`);
  if (rows.some((r) => r[5] === "failed")) {
    throw new Error("some kernel checks or attention sizes failed (see the CSV)");
  }
}

// Run directly (e.g. as the single-file bundle of `deno task bench-gpu-bundle`).
if (import.meta.main) await run(Deno.args);
