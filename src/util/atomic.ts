/**
 * Atomic file writes: write a temp file beside the target, then rename over it, so a reader
 * (or a crash) never sees a half-written checkpoint or results table.
 *
 * @example
 * ```ts
 * await writeFileAtomic("assets/results/x.csv", new TextEncoder().encode("a,b\n"));
 * ```
 * @module
 */
import { dirname } from "node:path";

/** Writes `data` to `path` atomically, creating parent folders. */
export async function writeFileAtomic(path: string, data: Uint8Array | string): Promise<void> {
  await Deno.mkdir(dirname(path), { recursive: true });
  const tmp = `${path}.${Deno.pid}.${crypto.randomUUID().slice(0, 8)}.tmp`;
  try {
    if (typeof data === "string") await Deno.writeTextFile(tmp, data);
    else await Deno.writeFile(tmp, data);
    await Deno.rename(tmp, path);
  } catch (e) {
    await Deno.remove(tmp).catch(() => {});
    throw e;
  }
}
