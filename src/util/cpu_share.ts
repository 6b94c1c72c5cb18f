/**
 * How much of the machine other processes used while a bench ran. The load average cannot say
 * it: a bench on two cores (two workers, or a two-thread peer) raises the load to about 2 by
 * itself. Linux's /proc gives the machine's busy CPU time (`/proc/stat`) and this process's own,
 * all its threads plus its waited-for children such as the PyTorch peer (`/proc/self/stat`):
 * the difference is everyone else's.
 *
 * @example
 * ```ts
 * import { OtherCpu } from "./cpu_share.ts";
 * const meter = new OtherCpu();
 * // ... time something ...
 * meter.share(); // 0.01: other processes used 1% of all cores meanwhile (NaN without /proc)
 * ```
 * @module
 */

/** Above this share of all cores used by other processes, a timing is marked contaminated. */
export const OTHER_CPU_LIMIT = 0.1;

interface Sample {
  /** Busy clock ticks of all CPUs together. */
  busy: number;
  /** Clock ticks of this process and its waited-for children. */
  own: number;
  /** Milliseconds. */
  at: number;
}

/** Parses /proc/stat's first line: busy = everything but idle and iowait. */
export function busyTicks(procStat: string): number {
  const f = procStat.split("\n")[0].trim().split(/\s+/).slice(1).map(Number);
  const [user, nice, system, _idle, _iowait, irq, softirq, steal] = f;
  return user + nice + system + irq + softirq + (steal ?? 0);
}

/** Parses /proc/self/stat: utime + stime + cutime + cstime (fields 14-17, after the comm). */
export function ownTicks(selfStat: string): number {
  const rest = selfStat.slice(selfStat.lastIndexOf(")") + 2).split(" ").map(Number);
  // rest[0] is field 3 (state), so field 14 is rest[11].
  return rest[11] + rest[12] + rest[13] + rest[14];
}

function sample(): Sample | null {
  try {
    return {
      busy: busyTicks(Deno.readTextFileSync("/proc/stat")),
      own: ownTicks(Deno.readTextFileSync("/proc/self/stat")),
      at: performance.now(),
    };
  } catch {
    return null; // no /proc (macOS, Windows): unknown
  }
}

/** Meters the CPU share of other processes from its construction (or the last `reset`). */
export class OtherCpu {
  #start = sample();
  /** Clock ticks per second (USER_HZ: 100 on Linux builds everywhere in practice). */
  constructor(readonly ticksPerSecond = 100, readonly cores = navigator.hardwareConcurrency) {}

  /** Starts a new interval. */
  reset(): void {
    this.#start = sample();
  }

  /** Share of all cores' time that other processes used since the start (NaN when unknown). */
  share(): number {
    const end = sample();
    if (!this.#start || !end) return NaN;
    const seconds = (end.at - this.#start.at) / 1000;
    if (seconds <= 0) return NaN;
    const other = (end.busy - this.#start.busy) - (end.own - this.#start.own);
    return Math.max(0, other / this.ticksPerSecond / (seconds * this.cores));
  }
}

/** The CSV note for a share: empty when clean, "contaminated: ..." above the limit. */
export function otherCpuNote(share: number): string {
  if (!Number.isFinite(share)) return "other processes' CPU unknown (no /proc)";
  return share > OTHER_CPU_LIMIT
    ? `contaminated: other processes used ${(100 * share).toFixed(0)}% of the cores ` +
      `(limit ${100 * OTHER_CPU_LIMIT}%)`
    : "";
}
