/**
 * Fused attention against tfjs composite attention, side by side in one run: time, effective
 * GFLOP/s and peak memory for each sequence length, head dimension and positional mode.
 *
 * `deno task bench attention` (full: N 1,024 .. 32,768, 4 heads, D 32 and 64, every mode) writes
 * `assets/bench/attention.csv` and `assets/bench/attention.png`. Flags for a quick run:
 * `--n 1024,2048 --d 32 --modes none --impls fused,composite --backends wasm --out /tmp/a.csv`;
 * `--replot` redraws the PNG from an existing CSV.
 *
 * Each measurement runs in a fresh child process, so that peak memory (the process's peak RSS,
 * VmHWM, and the wasm heap, which only grows) belongs to that measurement alone, and so that the
 * composite path running out of wasm heap ("Aborted()") cannot poison the next measurement.
 *
 * Implementations: `fused` (src/kernels/attention.ts), `composite` (attentionReference: N x N
 * scores, with the course's wasm kernel fixes), `composite-stock` (the same on tfjs-wasm's stock
 * kernels, i.e. tfjs as shipped). Effective FLOPs count causal work only: 4 * N^2 * D / 2 per head.
 *
 * @example
 * ```ts
 * import { measureAttention } from "./attention.ts";
 * const row = await measureAttention({ impl: "fused", backend: "wasm", n: 1024, d: 32, mode: "alibi" });
 * ```
 * @module
 */
import { OtherCpu } from "../util/cpu_share.ts";
import { codeVersion } from "../util/git.ts";
import * as tf from "@tensorflow/tfjs";
import { parseArgs } from "node:util";
import { type BackendName, initBackend } from "../backend.ts";
import { attention, type AttentionBias, attentionReference } from "../kernels/attention.ts";
import { uninstallWasmFixes } from "../kernels/wasm_fixes.ts";
import { alibiSlopes } from "../positions/alibi.ts";
import { writeFileAtomic } from "../util/atomic.ts";
import { startAttentionThreads, stopAttentionThreads } from "../kernels/attention_threads.ts";
import { adapterText, checkedAdapter, loadAverage, loadNote, machine } from "./env_util.ts";

/** Attention implementations compared. */
export type AttentionImpl = "fused" | "fused-2core" | "composite" | "composite-stock";
/** Positional modes of the op. */
export type AttentionMode = AttentionBias["kind"];

/** One configuration to measure. */
export interface AttentionCase {
  impl: AttentionImpl;
  backend: BackendName;
  n: number;
  d: number;
  mode: AttentionMode;
  heads?: number;
  reps?: number;
}

/** One row of the CSV. */
export interface AttentionRow {
  impl: AttentionImpl;
  backend: BackendName;
  mode: AttentionMode;
  n: number;
  heads: number;
  d: number;
  status: "ok" | "failed" | "skipped";
  ms: number;
  gflops: number;
  peakRssMiB: number;
  wasmHeapMiB: number;
  error: string;
  /** CPU model, load average before/after the measurement, adapter, and a contamination note. */
  cpu?: string;
  loadBefore?: number;
  loadAfter?: number;
  adapter?: string;
  note?: string;
  /** Other processes' share of the cores while it ran, and the commit (util/git.ts). */
  otherCpuShare?: number;
  commit?: string;
}

const T5 = { numBuckets: 32, maxDistance: 128 };

function peakRssMiB(): number {
  try {
    const status = Deno.readTextFileSync("/proc/self/status");
    const m = status.match(/VmHWM:\s+(\d+) kB/);
    return m ? Number(m[1]) / 1024 : NaN;
  } catch {
    return NaN;
  }
}

function wasmHeapMiB(backend: BackendName): number {
  if (backend !== "wasm") return NaN;
  const b = tf.backend() as unknown as { wasm?: { HEAPU8: Uint8Array } };
  return b.wasm ? b.wasm.HEAPU8.buffer.byteLength / 2 ** 20 : NaN;
}

/** Causal attention FLOPs (two matmuls over the causal half): 4 * N^2 * D / 2 per head. */
export function causalAttentionFlops(n: number, d: number, heads: number): number {
  return heads * 4 * n * n * d / 2;
}

/** The row of case `c` before (or without) a measurement: every number NaN. */
function blankRow(c: AttentionCase, status: AttentionRow["status"], error = ""): AttentionRow {
  return {
    impl: c.impl,
    backend: c.backend,
    mode: c.mode,
    n: c.n,
    heads: c.heads ?? 4,
    d: c.d,
    status,
    ms: NaN,
    gflops: NaN,
    peakRssMiB: NaN,
    wasmHeapMiB: NaN,
    error,
  };
}

/**
 * Measures one case in this process (forward only, median of `reps` after a warm-up for small N).
 * Meant for a fresh process: peak RSS is the process's.
 */
export async function measureAttention(c: AttentionCase): Promise<AttentionRow> {
  const heads = c.heads ?? 4;
  const row = blankRow(c, "ok");
  await initBackend({ backend: c.backend });
  if (c.impl === "fused-2core") {
    if (c.backend !== "wasm") {
      throw new RangeError(`fused-2core needs backend wasm; got ${c.backend}`);
    }
    await startAttentionThreads(1, 0); // one helper thread: the query blocks over both cores
  }
  if (c.impl === "composite-stock") {
    if (c.backend !== "wasm") {
      throw new RangeError(`composite-stock needs backend wasm; got ${c.backend}`);
    }
    uninstallWasmFixes();
  }
  const shape: [number, number, number, number] = [1, heads, c.n, c.d];
  const q = tf.randomNormal(shape) as tf.Tensor4D;
  const k = tf.randomNormal(shape) as tf.Tensor4D;
  const v = tf.randomNormal(shape) as tf.Tensor4D;
  const table = tf.randomNormal([T5.numBuckets, heads]) as tf.Tensor2D;
  const bias: AttentionBias = c.mode === "alibi"
    ? { kind: "alibi", slopes: alibiSlopes(heads) }
    : c.mode === "t5"
    ? { kind: "t5", table, ...T5 }
    : { kind: "none" };
  const op = c.impl.startsWith("fused") ? attention : attentionReference;
  const once = async () => {
    const t0 = performance.now();
    const y = op(q, k, v, { bias, scale: 1 / Math.sqrt(c.d) });
    await y.data(); // asynchronous backends: time until the values exist
    const ms = performance.now() - t0;
    y.dispose();
    return ms;
  };
  try {
    const small = c.n <= 4096;
    if (small || c.backend === "webgpu") await once(); // warm-up (and shader compile)
    const reps = c.reps ?? (small ? 3 : 1);
    const times: number[] = [];
    for (let i = 0; i < reps; i++) times.push(await once());
    times.sort((a, b) => a - b);
    row.ms = times[Math.floor(times.length / 2)];
    row.gflops = causalAttentionFlops(c.n, c.d, heads) / (row.ms * 1e6);
  } catch (e) {
    row.status = "failed";
    row.error = String((e as Error)?.message ?? e).split("\n")[0].slice(0, 120);
  }
  row.peakRssMiB = peakRssMiB();
  row.wasmHeapMiB = wasmHeapMiB(c.backend);
  stopAttentionThreads();
  return row;
}

/** {@link measureChild} with the CPU, load average before and after, and a contamination note. */
async function measureInChild(
  c: AttentionCase,
  timeoutS: number,
  adapter: string,
): Promise<AttentionRow> {
  const loadBefore = loadAverage();
  // The case runs in a child process: once it has exited, its CPU counts as this process's own.
  const other = new OtherCpu();
  const row = await measureChild(c, timeoutS);
  const loadAfter = loadAverage();
  const otherCpuShare = other.share();
  const note = [
    c.backend === "webgpu" && adapter.includes("(software)") ? "software adapter" : "",
    loadNote(loadBefore, loadAfter, otherCpuShare),
  ].filter(Boolean).join("; ");
  const commit = await codeVersion();
  return {
    ...row,
    cpu: machine().cpu,
    loadBefore,
    loadAfter,
    adapter,
    note,
    otherCpuShare,
    commit,
  };
}

async function measureChild(c: AttentionCase, timeoutS: number): Promise<AttentionRow> {
  const cmd = new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", new URL(import.meta.url).pathname, "--child", JSON.stringify(c)],
    stdout: "piped",
    stderr: "piped",
    signal: AbortSignal.timeout(timeoutS * 1000),
  });
  const base = blankRow(c, "failed");
  try {
    const out = await cmd.output();
    const text = new TextDecoder().decode(out.stdout);
    const line = text.split("\n").find((l) => l.startsWith("{"));
    if (line) {
      // JSON has no NaN: the child's NaN numbers arrive as null.
      const row = JSON.parse(line, (_, v) => (v === null ? NaN : v)) as AttentionRow;
      return row;
    }
    const err = new TextDecoder().decode(out.stderr).split("\n").find((l) =>
      /error|Abort/i.test(l)
    );
    return { ...base, error: (err ?? `exit code ${out.code}`).slice(0, 120) };
  } catch (e) {
    return { ...base, error: `timeout or spawn failure: ${(e as Error).message}`.slice(0, 120) };
  }
}

const CSV_COLUMNS: (keyof AttentionRow)[] = [
  "impl",
  "backend",
  "mode",
  "n",
  "heads",
  "d",
  "status",
  "ms",
  "gflops",
  "peakRssMiB",
  "wasmHeapMiB",
  "error",
  "cpu",
  "loadBefore",
  "loadAfter",
  "adapter",
  "note",
  "otherCpuShare",
  "commit",
];

function toCsv(rows: AttentionRow[]): string {
  const cell = (v: unknown) => {
    if (v === undefined) return "";
    if (typeof v === "number") return Number.isFinite(v) ? String(Math.round(v * 1000) / 1000) : "";
    const s = String(v);
    return /[",\n]/.test(s) ? `"${s.replaceAll('"', '""')}"` : s;
  };
  return [CSV_COLUMNS.join(","), ...rows.map((r) => CSV_COLUMNS.map((c) => cell(r[c])).join(","))]
    .join("\n") + "\n";
}

/**
 * Parses the CSV written by this benchmark (numbers as numbers, empty numeric cells as NaN).
 *
 * @example
 * ```ts
 * const rows = readAttentionCsv(await Deno.readTextFile("assets/bench/attention.csv"));
 * ```
 */
export function readAttentionCsv(text: string): AttentionRow[] {
  const lines = text.trim().split("\n");
  const header = lines[0].split(",") as (keyof AttentionRow)[];
  const numeric = new Set([
    "n",
    "heads",
    "d",
    "ms",
    "gflops",
    "peakRssMiB",
    "wasmHeapMiB",
    "loadBefore",
    "loadAfter",
  ]);
  return lines.slice(1).map((line) => {
    const cells = [...line.matchAll(/("(?:[^"]|"")*"|[^,]*)(,|$)/g)].map((m) => m[1]);
    const row: Record<string, unknown> = {};
    header.forEach((h, i) => {
      const raw = (cells[i] ?? "").replace(/^"|"$/g, "").replaceAll('""', '"');
      row[h] = numeric.has(h) ? (raw === "" ? NaN : Number(raw)) : raw;
    });
    return row as unknown as AttentionRow;
  });
}

/**
 * Latency (no bias, every backend and implementation) and peak memory (wasm, D = 32) against N,
 * log-log: colour = implementation and backend, dash = head dimension.
 *
 * @example
 * ```ts
 * const fig = attentionFigure(readAttentionCsv(csvText));
 * ```
 */
export function attentionFigure(rows: AttentionRow[]) {
  const ok = rows.filter((r) => r.status === "ok" && r.mode === "none");
  const colours: Record<string, string> = {
    "fused|wasm": "#1f77b4",
    "fused-2core|wasm": "#17becf",
    "composite|wasm": "#ff7f0e",
    "composite-stock|wasm": "#d62728",
    "fused|webgpu": "#2ca02c",
    "composite|webgpu": "#9467bd",
  };
  const series = (impl: string, backend: string, d: number) =>
    ok.filter((r) => r.impl === impl && r.backend === backend && r.d === d).sort((a, b) =>
      a.n - b.n
    );
  const traces: Record<string, unknown>[] = [];
  for (const key of Object.keys(colours)) {
    const [impl, backend] = key.split("|");
    for (const d of [32, 64]) {
      const pts = series(impl, backend, d);
      if (!pts.length) continue;
      traces.push({
        x: pts.map((p) => p.n),
        y: pts.map((p) => p.ms / 1000),
        name: `${impl} (${backend}), D ${d}`,
        type: "scatter",
        mode: "lines+markers",
        line: { color: colours[key], dash: d === 32 ? "solid" : "dash" },
      });
      if (backend === "wasm" && d === 32) {
        traces.push({
          x: pts.map((p) => p.n),
          y: pts.map((p) => p.wasmHeapMiB),
          name: `${impl} (wasm), D 32: wasm heap`,
          type: "scatter",
          mode: "lines+markers",
          line: { color: colours[key], dash: "dot" },
          xaxis: "x2",
          yaxis: "y2",
        });
      }
    }
  }
  return {
    data: traces,
    layout: {
      title: { text: "Causal attention forward, 4 heads, no bias: fused vs tfjs composite" },
      grid: { rows: 1, columns: 2, pattern: "independent" },
      xaxis: { title: { text: "sequence length N" }, type: "log" },
      yaxis: { title: { text: "seconds" }, type: "log" },
      xaxis2: { title: { text: "sequence length N" }, type: "log" },
      yaxis2: { title: { text: "peak wasm heap (MiB)" }, type: "log" },
      font: { family: "DejaVu Sans, Arial, sans-serif", size: 12 },
      legend: { font: { size: 10 } },
      margin: { r: 280 },
      paper_bgcolor: "#ffffff",
      plot_bgcolor: "#ffffff",
    },
  };
}

async function writeFigure(rows: AttentionRow[], path: string): Promise<void> {
  try {
    const { renderPlotlyPng } = await import("../viz/png.ts");
    const png = await renderPlotlyPng(attentionFigure(rows), { width: 1300, height: 520 });
    await writeFileAtomic(path, png);
    console.log(`wrote ${path}`);
  } catch (e) {
    console.log(`no figure (${(e as Error).message})`);
  }
}

function describeRow(row: AttentionRow): string {
  const head = `${row.impl.padEnd(15)} ${row.backend.padEnd(6)} D${row.d} ${row.mode.padEnd(5)} ` +
    `N=${String(row.n).padStart(5)}  `;
  if (row.status !== "ok") return head + `${row.status}: ${row.error}`;
  const heap = row.backend === "wasm" ? `  wasm heap ${row.wasmHeapMiB.toFixed(0)} MiB` : "";
  return head +
    `${row.ms.toFixed(0).padStart(7)} ms  ${row.gflops.toFixed(2).padStart(6)} GFLOP/s  ` +
    `peak RSS ${row.peakRssMiB.toFixed(0)} MiB${heap}`;
}

/** The flags of `deno task bench attention` (see the module doc). */
function parseAttentionFlags(args: string[]) {
  return parseArgs({
    args,
    options: {
      n: { type: "string", default: "1024,2048,4096,8192,16384,32768" },
      d: { type: "string", default: "32,64" },
      modes: { type: "string", default: "none,alibi,t5" },
      impls: { type: "string", default: "fused,fused-2core,composite,composite-stock" },
      backends: { type: "string", default: "wasm" },
      // --backend webgpu is --backends webgpu; a software adapter is refused unless allowed.
      backend: { type: "string" },
      "allow-software": { type: "boolean", default: false },
      // Largest N per backend/impl beyond which a run is pointless here (llvmpipe is slow; stock
      // composite is only needed for the N = 4,096 ratio).
      "max-n-webgpu": { type: "string", default: "2048" },
      "max-n-stock": { type: "string", default: "4096" },
      "timeout-s": { type: "string", default: "900" },
      out: { type: "string", default: "assets/bench/attention.csv" },
      figure: { type: "string", default: "" },
      replot: { type: "boolean", default: false },
    },
  }).values;
}

/** What a measuring run covers, from the flags. */
interface AttentionPlan {
  ns: number[];
  ds: number[];
  modes: AttentionMode[];
  impls: AttentionImpl[];
  backends: BackendName[];
  maxNWebgpu: number;
  maxNStock: number;
  timeoutS: number;
}

function attentionPlan(values: ReturnType<typeof parseAttentionFlags>): AttentionPlan {
  const list = (s: string) => s.split(",").map((x) => x.trim()).filter(Boolean);
  return {
    ns: list(values.n).map(Number),
    ds: list(values.d).map(Number),
    modes: list(values.modes) as AttentionMode[],
    impls: list(values.impls) as AttentionImpl[],
    backends: list(values.backend ?? values.backends) as BackendName[],
    maxNWebgpu: Number(values["max-n-webgpu"]),
    maxNStock: Number(values["max-n-stock"]),
    timeoutS: Number(values["timeout-s"]),
  };
}

/**
 * The cases of a plan in measuring order (backend, D, mode, implementation, N), less those that
 * cannot or need not run: wasm-only implementations elsewhere, N above the per-backend limits.
 */
function* planCases(p: AttentionPlan): Generator<AttentionCase> {
  for (const backend of p.backends) {
    for (const d of p.ds) {
      for (const mode of p.modes) {
        for (const impl of p.impls) {
          if ((impl === "composite-stock" || impl === "fused-2core") && backend !== "wasm") {
            continue;
          }
          for (const n of p.ns) {
            const skip = (backend === "webgpu" && n > p.maxNWebgpu) ||
              (impl === "composite-stock" && n > p.maxNStock);
            if (!skip) yield { impl, backend, n, d, mode };
          }
        }
      }
    }
  }
}

/**
 * Measures every case of the plan, each in a child process; once a configuration fails, its
 * larger N are skipped. The CSV at `out` is rewritten after each row.
 */
async function measurePlan(
  p: AttentionPlan,
  adapters: Map<BackendName, string>,
  out: string,
): Promise<AttentionRow[]> {
  const rows: AttentionRow[] = [];
  const failedAt = new Map<string, number>();
  for (const c of planCases(p)) {
    const key = `${c.impl}|${c.backend}|${c.d}|${c.mode}`;
    let row: AttentionRow;
    if (failedAt.has(key)) {
      row = blankRow(c, "skipped", `failed at N=${failedAt.get(key)}`);
    } else {
      row = await measureInChild(c, p.timeoutS, adapters.get(c.backend)!);
      if (row.status === "failed") failedAt.set(key, c.n);
    }
    rows.push(row);
    console.log(describeRow(row));
    await writeFileAtomic(out, toCsv(rows)); // partial results survive a stop
  }
  return rows;
}

/** Entry point of `deno task bench attention`. */
export async function run(args: string[]): Promise<void> {
  const values = parseAttentionFlags(args);
  const figure = values.figure || values.out.replace(/\.csv$/, ".png");
  if (values.replot) {
    // Redraw the figure from an existing CSV without measuring anything.
    const rows = readAttentionCsv(await Deno.readTextFile(values.out));
    await writeFigure(rows, figure);
    return;
  }
  const plan = attentionPlan(values);
  const adapters = new Map<BackendName, string>();
  for (const b of plan.backends) {
    adapters.set(b, adapterText(await checkedAdapter(b, values["allow-software"]!), b));
  }
  for (const n of [...plan.ns, ...plan.ds]) {
    if (!Number.isInteger(n) || n < 1) {
      throw new RangeError(`--n and --d must be integers >= 1; got ${n}`);
    }
  }
  await writeFigure(await measurePlan(plan, adapters, values.out), figure);
}

if (import.meta.main && Deno.args[0] === "--child") {
  const row = await measureAttention(JSON.parse(Deno.args[1]) as AttentionCase);
  console.log(JSON.stringify(row));
  Deno.exit(0);
}
