/**
 * The commit that produced a result (recorded next to every results row).
 *
 * @example
 * ```ts
 * import { gitCommit } from "./git.ts";
 * await gitCommit(); // "3dbb340..." or "unknown" outside a repository
 * ```
 * @module
 */

/**
 * `git rev-parse HEAD`, the full hash, of the repository at `cwd` (default: the current folder),
 * or "unknown".
 */
export async function gitCommit(cwd?: string): Promise<string> {
  try {
    const out = await new Deno.Command("git", { args: ["rev-parse", "HEAD"], cwd, stdout: "piped" })
      .output();
    return new TextDecoder().decode(out.stdout).trim() || "unknown";
  } catch {
    return "unknown";
  }
}

/** True when tracked files under `paths` have uncommitted changes (results would misname code). */
export async function isDirty(paths: readonly string[] = ["src"]): Promise<boolean> {
  try {
    const out = await new Deno.Command("git", {
      args: ["status", "--porcelain", "--untracked-files=no", "--", ...paths],
      stdout: "piped",
    }).output();
    return new TextDecoder().decode(out.stdout).trim() !== "";
  } catch {
    return false;
  }
}

/**
 * The commit a measurement ran at, for a CSV cell: the full hash, with "+dirty" when tracked files
 * under src/ had uncommitted changes (the numbers then belong to no commit).
 */
export async function codeVersion(): Promise<string> {
  return `${await gitCommit()}${(await isDirty(["src"])) ? "+dirty" : ""}`;
}
