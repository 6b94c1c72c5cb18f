/**
 * Durations for progress lines.
 *
 * @example
 * ```ts
 * import { fmtTime } from "./time.ts";
 * fmtTime(75); // "1m15s"
 * fmtTime(3725); // "1h02m"
 * ```
 * @module
 */

/** `s` seconds as "1h02m" or "4m05s" ("?" when not finite). */
export function fmtTime(s: number): string {
  if (!Number.isFinite(s)) return "?";
  const h = Math.floor(s / 3600), m = Math.floor((s % 3600) / 60), sec = Math.floor(s % 60);
  return h ? `${h}h${String(m).padStart(2, "0")}m` : `${m}m${String(sec).padStart(2, "0")}s`;
}
