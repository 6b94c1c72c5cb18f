/**
 * Learning-rate schedule: linear warmup to the peak, then cosine decay to `minRatio x peak`.
 *
 * @example
 * ```ts
 * import { learningRate } from "./schedule.ts";
 * learningRate(0, { peak: 1e-3, warmupSteps: 100, totalSteps: 1000 }); // 1e-5
 * ```
 * @module
 */
import { requireGreater, requireInRange, requireInteger } from "../util/validate.ts";

/** Schedule parameters. */
export interface ScheduleOptions {
  peak: number;
  warmupSteps: number;
  totalSteps: number;
  /** Final learning rate as a fraction of the peak (default 0.1). */
  minRatio?: number;
}

/** Learning rate for 0-based `step`. Steps past `totalSteps` stay at the floor. */
export function learningRate(step: number, o: ScheduleOptions): number {
  requireGreater("peak", o.peak, 0);
  requireInteger("warmupSteps", o.warmupSteps, 0);
  requireInteger("totalSteps", o.totalSteps, 1);
  requireInteger("step", step, 0);
  const minRatio = o.minRatio ?? 0.1;
  requireInRange("minRatio", minRatio, 0, 1);
  if (step < o.warmupSteps) return (o.peak * (step + 1)) / o.warmupSteps;
  const decaySteps = Math.max(1, o.totalSteps - o.warmupSteps);
  const progress = Math.min(1, (step - o.warmupSteps) / decaySteps);
  return o.peak * (minRatio + (1 - minRatio) * 0.5 * (1 + Math.cos(Math.PI * progress)));
}
