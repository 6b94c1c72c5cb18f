/**
 * Small file helpers used by the runners: existence checks and atomic JSON I/O.
 *
 * @example
 * ```ts
 * import { readJson, writeJson } from "./files.ts";
 * await writeJson("build/x.json", { a: 1 });
 * (await readJson<{ a: number }>("build/x.json"))?.a; // 1
 * ```
 * @module
 */
import { writeFileAtomic } from "./atomic.ts";

/** True when `path` exists (file or folder). */
export async function exists(path: string): Promise<boolean> {
  return await Deno.stat(path).then(() => true, () => false);
}

/** Parsed JSON of `path`, or undefined when the file does not exist. */
export async function readJson<T>(path: string): Promise<T | undefined> {
  try {
    return JSON.parse(await Deno.readTextFile(path)) as T;
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) return undefined;
    throw e;
  }
}

/** Writes `value` as JSON atomically (temp file + rename). */
export async function writeJson(path: string, value: unknown): Promise<void> {
  await writeFileAtomic(path, JSON.stringify(value));
}

/** SHA-256 of a file's bytes, as lowercase hex. */
export async function sha256Hex(path: string): Promise<string> {
  const digest = await crypto.subtle.digest("SHA-256", await Deno.readFile(path));
  return Array.from(new Uint8Array(digest), (b) => b.toString(16).padStart(2, "0")).join("");
}
