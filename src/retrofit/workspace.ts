/**
 * Where a retrofit experiment keeps its files, and its on-disk records.
 *
 * - `assets/results/<preset>/runs/` (committed): one JSON record per finished unit of work, so
 *   that nothing a later sitting needs lives in `build/`: `base.json` (the base model),
 *   `<option>/step0.json` (the conversion before training), `<option>/seed<k>.json` (one whole
 *   fine-tune with its evaluations at every budget: a chunk), `latency.json`, and `base.sha256`
 *   (the base checkpoint every record was made from).
 * - `build/retrofit/<preset>/<option>/seed<k>/` (not committed): the trainer's resumable
 *   checkpoint and the evaluations of a chunk in progress.
 * - `assets/checkpoints/<preset>/retrofits/<option>.safetensors`: seed 0's weights at the final
 *   budget, with the complete config in `__metadata__.config`.
 *
 * @example
 * ```ts
 * import { RetrofitWorkspace } from "./workspace.ts";
 * const ws = new RetrofitWorkspace("tiny", { root: "/tmp/x" });
 * ws.chunkPath("yarn", 2); // "/tmp/x/assets/results/tiny/runs/yarn/seed2.json"
 * ```
 * @module
 */
import { writeFileAtomic } from "../util/atomic.ts";
import { exists, readJson, sha256Hex, writeJson } from "../util/files.ts";
import type { EvalRow } from "../eval/long_context.ts";

/** An evaluation row stamped with the step and the commit and command that made it. */
export interface StoredRow extends EvalRow {
  step: number;
  commit: string;
  command: string;
}

/** A finished unit of work: its rows plus how it was made. */
export interface RunRecord {
  /** `base`, `step0`, `chunk` or `latency`. */
  kind: "base" | "step0" | "chunk" | "latency";
  option: string;
  seed: number;
  rows: StoredRow[];
  commit: string;
  command: string;
  /** Wall seconds this record took to make (training + evaluation). */
  seconds: number;
  /** CPU model, cores and load average when it ran. */
  machine: MachineInfo;
  /** Anything else the record needs (budget, plan). */
  meta?: Record<string, unknown>;
}

/** The machine a record was made on. */
export interface MachineInfo {
  cpu: string;
  cores: number;
  loadAverage: number[];
  backend: string;
}

/** Paths and record I/O of one preset's experiment. */
export class RetrofitWorkspace {
  readonly resultsDir: string;
  readonly runsDir: string;
  readonly workDir: string;
  readonly shipDir: string;

  /** `root` is the repository root (default: this checkout); folders can be overridden. */
  constructor(
    readonly preset: string,
    o: { root?: string; resultsDir?: string; workDir?: string; shipDir?: string } = {},
  ) {
    const root = o.root ?? new URL("../..", import.meta.url).pathname.replace(/\/$/, "");
    this.resultsDir = o.resultsDir ?? `${root}/assets/results/${preset}`;
    this.runsDir = `${this.resultsDir}/runs`;
    this.workDir = o.workDir ?? `${root}/build/retrofit/${preset}`;
    this.shipDir = o.shipDir ?? `${root}/assets/checkpoints/${preset}/retrofits`;
  }

  /** Record of the unconverted base model. */
  basePath(): string {
    return `${this.runsDir}/base.json`;
  }
  /** Record of an option's conversion before any training. */
  step0Path(option: string): string {
    return `${this.runsDir}/${option}/step0.json`;
  }
  /** Record of one finished fine-tune (a chunk). */
  chunkPath(option: string, seed: number): string {
    return `${this.runsDir}/${option}/seed${seed}.json`;
  }
  /** Record of the latency measurement. */
  latencyPath(): string {
    return `${this.runsDir}/latency.json`;
  }
  /** The trainer's folder of a chunk in progress. */
  trainDir(option: string, seed: number): string {
    return `${this.workDir}/${option}/seed${seed}`;
  }
  /** Shipped fine-tuned weights of an option (seed 0, final budget). */
  shippedPath(option: string): string {
    return `${this.shipDir}/${option}.safetensors`;
  }

  /** Reads a record (undefined when it does not exist yet). */
  async read(path: string): Promise<RunRecord | undefined> {
    return await readJson<RunRecord>(path);
  }
  /** Writes a record atomically. */
  async write(path: string, record: RunRecord): Promise<void> {
    await writeJson(path, record);
  }
  /** True when the record exists. */
  async has(path: string): Promise<boolean> {
    return await exists(path);
  }

  /** Every record under runs/ (base, step 0s, chunks, latency). */
  async records(): Promise<RunRecord[]> {
    const out: RunRecord[] = [];
    const walk = async (dir: string) => {
      const entries: Deno.DirEntry[] = [];
      try {
        for await (const e of Deno.readDir(dir)) entries.push(e);
      } catch (e) {
        if (e instanceof Deno.errors.NotFound) return;
        throw e;
      }
      entries.sort((a, b) => a.name.localeCompare(b.name, undefined, { numeric: true }));
      for (const e of entries) {
        if (e.isDirectory) await walk(`${dir}/${e.name}`);
        else if (e.name.endsWith(".json")) out.push((await this.read(`${dir}/${e.name}`))!);
      }
    };
    await walk(this.runsDir);
    return out;
  }

  /**
   * Pins the experiment to one base checkpoint (by SHA-256): records made from another base would
   * mix two experiments, so continuing with a different one is refused.
   */
  async pinBase(basePath: string): Promise<string> {
    const hex = await sha256Hex(basePath);
    const pinPath = `${this.runsDir}/base.sha256`;
    const pinned = await Deno.readTextFile(pinPath).then((t) => t.trim(), () => undefined);
    if (pinned === undefined) await writeFileAtomic(pinPath, hex + "\n");
    else if (pinned !== hex) {
      throw new RangeError(
        `base checkpoint ${basePath} (sha256 ${hex.slice(0, 12)}) differs from the one the ` +
          `records in ${this.runsDir} were made from (${pinned.slice(0, 12)}); use another ` +
          `--out or move those records away`,
      );
    }
    return hex;
  }
}

/** The machine, for records (CPU model from /proc/cpuinfo where readable). */
export function machineInfo(backend: string): MachineInfo {
  let cpu = "unknown";
  try {
    const m = /model name\s*:\s*(.+)/.exec(Deno.readTextFileSync("/proc/cpuinfo"));
    if (m) cpu = m[1].trim();
  } catch { /* not Linux: keep "unknown" */ }
  return {
    cpu,
    cores: navigator.hardwareConcurrency ?? 0,
    loadAverage: Deno.loadavg().map((x) => Number(x.toFixed(2))),
    backend,
  };
}
