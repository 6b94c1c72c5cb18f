/**
 * Builds the tidy tables of an experiment from its committed records (workspace.ts), so they can
 * be rebuilt at any time from what is in the repository: `metrics.csv`, `samples.csv` and
 * `run.json` (schema: src/eval/results.ts). While records are missing the files are named
 * `*.partial.*`, so a partial experiment never poses as done.
 *
 * Step 0 and the base model are evaluated once; their rows appear once (seed 0), never copied to
 * every seed. Steps-to-threshold is computed per seed on the probe examples shared by every
 * budget; a seed that never reaches the threshold is censored (empty value, `censored=1`).
 *
 * @example
 * ```ts
 * const out = await assembleTables(ws, { options: ["rope", "yarn"], seeds: [0, 1], threshold: 0.5 });
 * out.complete; // false until every record exists
 * ```
 * @module
 */
import {
  formatMetricsCsv,
  formatSamplesCsv,
  type MetricRow,
  type SampleRow,
} from "../eval/results.ts";
import { writeFileAtomic } from "../util/atomic.ts";
import { writeJson } from "../util/files.ts";
import type { RetrofitWorkspace, RunRecord, StoredRow } from "./workspace.ts";

/** What the tables should hold. */
export interface AssembleOptions {
  options: readonly string[];
  /** Mitigation variants (`option+variant`), run for every seed; their step 0 is the option's. */
  variants?: readonly string[];
  seeds: readonly number[];
  /** Long-range retrieval accuracy that counts as "reached" for steps-to-threshold. */
  threshold: number;
  /** Examples of the long band read at every budget (the probe's: the first ones). */
  thresholdExamples: number;
  /** Extra fields for run.json (budget, plan, preset, base). */
  run: Record<string, unknown>;
}

/** What {@link assembleTables} returns. */
export interface AssembleResult {
  complete: boolean;
  missing: string[];
  metrics: MetricRow[];
  samples: SampleRow[];
  metricsPath: string;
}

function rowsOf(option: string, seed: number, rows: readonly StoredRow[]) {
  const metrics: MetricRow[] = [];
  const samples: SampleRow[] = [];
  for (const r of rows) {
    metrics.push({
      option,
      seed,
      step: r.step,
      metric: r.metric,
      setting: r.setting,
      value: r.value,
      n: r.n,
      commit: r.commit,
      command: r.command,
    });
    r.samples?.forEach((value, sample) =>
      samples.push({
        option,
        seed,
        step: r.step,
        metric: r.metric,
        setting: r.setting,
        sample,
        value,
        offset: r.offsets?.[sample] ?? null,
        wording: r.wordings?.[sample] ?? "",
      })
    );
  }
  return { metrics, samples };
}

/**
 * First budget among `rows` at which the long band's first `k` examples reach `threshold`;
 * null when none does (censored at the last budget).
 */
export function stepsToThreshold(
  rows: readonly StoredRow[],
  threshold: number,
  k: number,
): number | null {
  const steps = [...new Set(rows.map((r) => r.step))].sort((a, b) => a - b);
  for (const s of steps) {
    const r = rows.find((x) => x.step === s && x.metric === "long_retrieval_acc");
    const xs = r?.samples?.slice(0, k);
    if (xs?.length && xs.reduce((a, b) => a + b, 0) / xs.length >= threshold) return s;
  }
  return null;
}

/** Assembles and writes the tables (atomically); see the module note. */
export async function assembleTables(
  ws: RetrofitWorkspace,
  o: AssembleOptions,
): Promise<AssembleResult> {
  const { missing, metrics, samples, records } = await collectRecords(ws, o);
  const complete = missing.length === 0;
  const suffix = complete ? "" : ".partial";
  const metricsPath = `${ws.resultsDir}/metrics${suffix}.csv`;
  await writeFileAtomic(metricsPath, formatMetricsCsv(metrics));
  await writeFileAtomic(`${ws.resultsDir}/samples${suffix}.csv`, formatSamplesCsv(samples));
  await writeJson(`${ws.resultsDir}/run${suffix}.json`, {
    ...o.run,
    options: o.options,
    seeds: o.seeds,
    threshold: o.threshold,
    complete,
    missing,
    compute: computeSummary(records),
  });
  if (complete) {
    for (const f of ["metrics.partial.csv", "samples.partial.csv", "run.partial.json"]) {
      await Deno.remove(`${ws.resultsDir}/${f}`).catch(() => {});
    }
  }
  return { complete, missing, metrics, samples, metricsPath };
}

/** The records found (in reading order), what is missing, and the table rows they give. */
interface Collected {
  missing: string[];
  metrics: MetricRow[];
  samples: SampleRow[];
  records: RunRecord[];
}

/**
 * Reads every record the tables need, in table order: base, then per option its step 0 and its
 * seeds' chunks (each with its steps-to-threshold row), the mitigation variants, latency.
 */
async function collectRecords(ws: RetrofitWorkspace, o: AssembleOptions): Promise<Collected> {
  const c: Collected = { missing: [], metrics: [], samples: [], records: [] };
  const add = (option: string, seed: number, rows: readonly StoredRow[]) => {
    const r = rowsOf(option, seed, rows);
    c.metrics.push(...r.metrics);
    c.samples.push(...r.samples);
  };
  const load = async (path: string, what: string): Promise<RunRecord | undefined> => {
    const rec = await ws.read(path);
    if (rec) c.records.push(rec);
    else c.missing.push(what);
    return rec;
  };
  const base = await load(ws.basePath(), "base");
  if (base) add("base", 0, base.rows);
  for (const id of o.options) {
    const zero = await load(ws.step0Path(id), `${id} step 0`);
    if (zero) add(id, 0, zero.rows);
    for (const seed of o.seeds) {
      const chunk = await load(ws.chunkPath(id, seed), `${id} seed ${seed}`);
      if (chunk) add(id, seed, [...chunk.rows, thresholdRow(zero, chunk, o)]);
    }
  }
  for (const label of o.variants ?? []) {
    for (const seed of o.seeds) {
      const chunk = await load(ws.chunkPath(label, seed), `${label} seed ${seed}`);
      if (chunk) add(label, seed, chunk.rows);
    }
  }
  const latency = await load(ws.latencyPath(), "latency");
  for (const r of latency?.rows ?? []) {
    add(/option=([^;]+)/.exec(r.setting)![1], 0, [latencyRow(r)]);
  }
  return c;
}

/**
 * A chunk's steps-to-threshold row, at its last step: the first fine-tune budget that reaches
 * it. Step 0 is one evaluation shared by every seed, so it is not counted per seed here (that
 * would count it once per seed); notebook 08 reports it once, with its interval.
 */
function thresholdRow(
  _zero: RunRecord | undefined,
  chunk: RunRecord,
  o: AssembleOptions,
): StoredRow {
  const last = chunk.rows.at(-1)!;
  const reached = stepsToThreshold(
    chunk.rows.filter((r) => r.step > 0),
    o.threshold,
    o.thresholdExamples,
  );
  return {
    metric: "steps_to_threshold",
    setting: `threshold=${o.threshold};examples=${o.thresholdExamples};censored=${
      reached === null ? 1 : 0
    }`,
    value: reached,
    n: 1,
    step: last.step,
    commit: last.commit,
    command: last.command,
  };
}

/** A latency record's row of one option, without the option in its setting. */
function latencyRow(r: StoredRow): StoredRow {
  // The value is the rounds' geometric mean, recomputed here so that records made by code that
  // stored another average agree with the paired statistics (src/eval/paired.ts).
  const value = r.samples?.length
    ? Math.exp(r.samples.reduce((t, x) => t + Math.log(x), 0) / r.samples.length)
    : r.value;
  return { ...r, value, setting: r.setting.replace(/;option=[^;]+/, "") };
}

/** Total wall seconds by kind of record and the machines they ran on. */
export function computeSummary(records: readonly RunRecord[]): Record<string, unknown> {
  const byKind: Record<string, number> = {};
  for (const r of records) byKind[r.kind] = (byKind[r.kind] ?? 0) + r.seconds;
  const total = Object.values(byKind).reduce((a, b) => a + b, 0);
  return {
    coreHours: Number((total / 3600).toFixed(2)),
    secondsByKind: Object.fromEntries(
      Object.entries(byKind).map(([k, v]) => [k, Math.round(v)]),
    ),
    note: "each record ran on one core (wasm is single-threaded); two ran side by side",
    machines: [...new Set(records.map((r) => `${r.machine.cpu} (${r.machine.cores} cores)`))],
    commits: [...new Set(records.map((r) => r.commit))],
  };
}
