/**
 * Paths of the course's shipped files, resolved from this module rather than the working folder,
 * so that code runs the same from notebooks/ (Jupyter), the repository root (tasks) or a grader's
 * work folder.
 *
 * @example
 * ```ts
 * import { assetPath } from "./paths.ts";
 * assetPath("bench/attention.csv"); // "/…/assets/bench/attention.csv"
 * ```
 * @module
 */

/** The repository root (the folder holding deno.json). */
export const COURSE_ROOT_DIR = new URL("../..", import.meta.url).pathname.replace(/\/$/, "");

/** Absolute path of `relative` under assets/. */
export function assetPath(relative: string): string {
  if (relative.startsWith("/") || relative.split("/").includes("..")) {
    throw new RangeError(`relative must be a path inside assets/; got "${relative}"`);
  }
  return `${COURSE_ROOT_DIR}/assets/${relative}`;
}
