/**
 * `deno task lab`: opens the notebooks interactively in a Jupyter server with the Deno kernel
 * (registered by setup). Extra arguments go to Jupyter, e.g. `deno task lab --port 8890`;
 * `deno task lab --dir build/student` opens the learner versions instead of notebooks/.
 * As root (a container, a fresh cloud machine) it passes Jupyter's `--allow-root`, without which
 * Jupyter refuses to start ("Running as root is not recommended").
 * @module
 */
import { join, resolve } from "node:path";
import { PYTHON } from "./setup.ts";

/**
 * The Jupyter command line for `dir`: `--allow-root` added when `uid` is 0, `--dir X` taken out of
 * `extra` (relative to the course root), everything else passed on.
 *
 * @example
 * ```ts
 * labArgs("/course", ["--port", "8890"], 0);
 * // ["-m", "notebook", "--notebook-dir=/course/notebooks", "--allow-root", "--port", "8890"]
 * ```
 */
export function labArgs(root: string, extra: string[], uid: number | null): string[] {
  const rest = [...extra];
  let dir = join(root, "notebooks");
  const at = rest.indexOf("--dir");
  if (at >= 0) {
    if (!rest[at + 1]) throw new RangeError("--dir needs a folder (e.g. --dir build/student)");
    dir = resolve(root, rest[at + 1]);
    rest.splice(at, 2);
  }
  const root_ = uid === 0 && !rest.includes("--allow-root") ? ["--allow-root"] : [];
  return ["-m", "notebook", `--notebook-dir=${dir}`, ...root_, ...rest];
}

if (import.meta.main) {
  const root = resolve(new URL("../..", import.meta.url).pathname);
  const child = new Deno.Command(PYTHON, {
    args: labArgs(root, Deno.args, Deno.uid?.() ?? null),
    stdin: "inherit",
    stdout: "inherit",
    stderr: "inherit",
  }).spawn();
  Deno.exit((await child.status).code);
}
