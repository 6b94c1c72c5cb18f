/**
 * What every bench records next to its numbers: the machine (CPU model, cores), the load average
 * before and after (a bench run while other processes compete for the cores is contaminated, and
 * its row says so), the tfjs backend and, for WebGPU, the adapter. Plus the statistics of
 * repeated timings (median and range) shared by the benches.
 *
 * @example
 * ```ts
 * import { machine, loadNote, summarize } from "./env_util.ts";
 * const m = machine(); // { cpu: "AMD EPYC", cores: 2, load1: 0.12 }
 * summarize([3, 1, 2]); // { median: 2, min: 1, max: 3, n: 3 }
 * ```
 * @module
 */
import { otherCpuNote } from "../util/cpu_share.ts";
import { type AdapterReport, type BackendName, describeAdapter } from "../backend.ts";

/** Load average (1 minute) above which a timing is marked contaminated. */
export const LOAD_LIMIT = 1.5;

/** The machine a bench ran on. */
export interface Machine {
  cpu: string;
  cores: number;
  /** 1-minute load average when read. */
  load1: number;
}

/** The 1-minute load average (NaN where /proc/loadavg is missing). */
export function loadAverage(): number {
  try {
    return Number(Deno.readTextFileSync("/proc/loadavg").split(" ")[0]);
  } catch {
    return NaN;
  }
}

/** CPU model, core count and the current load average. */
export function machine(): Machine {
  let cpu = "unknown";
  try {
    const m = Deno.readTextFileSync("/proc/cpuinfo").match(/^model name\s*:\s*(.+)$/m);
    if (m) cpu = m[1].trim();
  } catch { /* not Linux */ }
  return { cpu, cores: navigator.hardwareConcurrency ?? 0, load1: loadAverage() };
}

/**
 * The `note` column for a measurement: with `otherShare` (other processes' share of the cores
 * while it ran, util/cpu_share.ts) that decides; without it (no /proc) the load averages
 * `before` and `after` do, though a bench on two cores raises the load by itself.
 */
export function loadNote(before: number, after: number, otherShare = NaN): string {
  if (Number.isFinite(otherShare)) return otherCpuNote(otherShare);
  const worst = Math.max(before, after);
  return worst > LOAD_LIMIT
    ? `contaminated: load average ${worst.toFixed(2)} > ${LOAD_LIMIT} (other processes running)`
    : "";
}

/** Median and range of repeated measurements. */
export interface Summary {
  median: number;
  min: number;
  max: number;
  n: number;
}

/** Median, min and max of `xs` (at least one value). */
export function summarize(xs: readonly number[]): Summary {
  if (xs.length === 0) throw new RangeError("summarize needs at least one value; got none");
  const s = [...xs].sort((a, b) => a - b);
  const mid = s.length >> 1;
  const median = s.length % 2 ? s[mid] : (s[mid - 1] + s[mid]) / 2;
  return { median, min: s[0], max: s.at(-1)!, n: s.length };
}

/**
 * The adapter as CSV text: "vendor architecture ... (software)" or why there is none; prefixed
 * "unused: " when the bench runs on another backend.
 */
export function adapterText(a: AdapterReport, backend: BackendName = "webgpu"): string {
  const text = `${a.description}${a.isFallbackAdapter ? " (software)" : ""}`;
  return backend === "webgpu" ? text : `unused: ${text}`;
}

/**
 * For `--backend webgpu`: the adapter, refusing to time a software adapter (llvmpipe and the like,
 * right for correctness but not for speed) unless `allowSoftware`.
 */
export async function checkedAdapter(
  backend: BackendName,
  allowSoftware: boolean,
): Promise<AdapterReport> {
  const a = await describeAdapter();
  if (backend !== "webgpu") return a;
  if (!a.available) throw new Error(`--backend webgpu: no WebGPU adapter (${a.description})`);
  if (a.isFallbackAdapter && !allowSoftware) {
    throw new Error(
      `--backend webgpu: the adapter is a software one (${a.description}); its timings say ` +
        `nothing about a GPU. Pass --allow-software to time it anyway.`,
    );
  }
  return a;
}

/** Quotes a CSV field when it holds a comma, quote or newline. */
export function csvField(v: string | number | boolean): string {
  const s = typeof v === "number" ? (Number.isFinite(v) ? String(v) : "") : String(v);
  return /[",\n]/.test(s) ? `"${s.replaceAll('"', '""')}"` : s;
}

/** A CSV text from a header and rows of fields; a row of another width is refused. */
export function toCsv(
  header: readonly string[],
  rows: ReadonlyArray<ReadonlyArray<string | number | boolean>>,
): string {
  const bad = rows.findIndex((r) => r.length !== header.length);
  if (bad >= 0) {
    throw new RangeError(
      `CSV row ${bad} has ${rows[bad].length} fields; the header has ${header.length}`,
    );
  }
  return [header.join(","), ...rows.map((r) => r.map(csvField).join(","))].join("\n") + "\n";
}

/** Parses the value of flag `--name` as an integer >= `min`, or throws naming the flag. */
export function intFlag(name: string, v: string, min: number): number {
  const x = Number(v);
  if (!Number.isInteger(x) || x < min) {
    throw new RangeError(`--${name} must be an integer >= ${min}; got "${v}"`);
  }
  return x;
}

/** The CSV columns every bench row ends with ({@link contextCells}). */
export const CONTEXT_COLUMNS = ["cpu", "cores", "load_before", "load_after", "adapter", "note"];

/**
 * The backends of `list` that may be timed, with their adapter text: webgpu on a software adapter
 * is dropped (with a notice) unless `allowSoftware`. Throws when nothing is left.
 */
export async function timedBackends(
  list: readonly BackendName[],
  allowSoftware: boolean,
): Promise<Map<BackendName, string>> {
  const out = new Map<BackendName, string>();
  for (const b of list) {
    try {
      out.set(b, adapterText(await checkedAdapter(b, allowSoftware), b));
    } catch (e) {
      console.error(`skipping ${b}: ${(e as Error).message}`);
    }
  }
  if (out.size === 0) throw new RangeError(`no backend of ${list.join(", ")} may be timed here`);
  return out;
}

/** The {@link CONTEXT_COLUMNS} cells of a row measured between load averages before and after. */
export function contextCells(
  adapter: string,
  before: number,
  after: number,
): Array<string | number> {
  const { cpu, cores } = machine();
  const note = [
    adapter.includes("(software)") && !adapter.startsWith("unused") ? "software adapter" : "",
    loadNote(before, after),
  ]
    .filter(Boolean).join("; ");
  return [cpu, cores, before, after, adapter, note];
}
