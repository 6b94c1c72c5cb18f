/**
 * Matmul throughput per tfjs backend, measured side by side in one process.
 *
 * `deno task bench matmul [--sizes 128,256,512]` writes `assets/bench/matmul.csv`.
 * Notebook 00 calls {@link measureMatmul} for its live table.
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import { parseArgs } from "node:util";
import { type BackendName, initBackend } from "../backend.ts";
import { writeFileAtomic } from "../util/atomic.ts";
import { CONTEXT_COLUMNS, contextCells, loadAverage, timedBackends, toCsv } from "./env_util.ts";

/** One measurement: an n x n by n x n float32 matmul on one backend. */
export interface MatmulResult {
  backend: BackendName;
  n: number;
  msPerMatmul: number;
  gflops: number;
}

/**
 * Times `reps` n x n matmuls (after one warm-up that also compiles shaders) on `backend`.
 * Reads the result back each time so that asynchronous backends are timed honestly.
 */
export async function measureMatmul(
  backend: BackendName,
  n: number,
  reps = 3,
): Promise<MatmulResult> {
  if (!Number.isInteger(n) || n < 1) throw new RangeError(`n must be an integer >= 1; got ${n}`);
  if (!Number.isInteger(reps) || reps < 1) {
    throw new RangeError(`reps must be an integer >= 1; got ${reps}`);
  }
  await initBackend({ backend });
  const a = tf.randomNormal([n, n]);
  const b = tf.randomNormal([n, n]);
  const once = async () => {
    const c = tf.matMul(a, b);
    await c.data();
    c.dispose();
  };
  await once();
  const t0 = performance.now();
  for (let i = 0; i < reps; i++) await once();
  const ms = (performance.now() - t0) / reps;
  a.dispose();
  b.dispose();
  return { backend, n, msPerMatmul: ms, gflops: (2 * n ** 3) / (ms * 1e6) };
}

/** Entry point of `deno task bench matmul`. */
export async function run(args: string[]): Promise<void> {
  const { values } = parseArgs({
    args,
    options: {
      sizes: { type: "string", default: "128,256,512,1024" },
      backends: { type: "string", default: "wasm,cpu,webgpu" },
      backend: { type: "string" },
      "allow-software": { type: "boolean", default: false },
    },
  });
  const sizes = values.sizes.split(",").map(Number);
  const rows: Array<MatmulResult & { context: Array<string | number> }> = [];
  const list = (values.backend ?? values.backends).split(",") as BackendName[];
  for (const [backend, adapter] of await timedBackends(list, values["allow-software"])) {
    for (const n of sizes) {
      const before = loadAverage();
      const r = { ...await measureMatmul(backend, n), context: [] as Array<string | number> };
      r.context = contextCells(adapter, before, loadAverage());
      console.log(
        `${backend.padEnd(7)} n=${String(n).padStart(5)}  ${r.gflops.toFixed(2)} GFLOP/s`,
      );
      rows.push(r);
    }
  }
  const csv = toCsv(
    ["backend", "n", "ms_per_matmul", "gflops", ...CONTEXT_COLUMNS],
    rows.map((
      r,
    ) => [r.backend, r.n, +r.msPerMatmul.toFixed(3), +r.gflops.toFixed(4), ...r.context]),
  );
  await writeFileAtomic("assets/bench/matmul.csv", csv);
  console.log("wrote assets/bench/matmul.csv");
}
