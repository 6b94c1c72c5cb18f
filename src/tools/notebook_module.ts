/**
 * Turns a notebook into a TypeScript module: its code cells joined in order, preceded by the
 * `Deno.jupyter` stand-in, so `deno check` type-checks it and `deno run` executes it.
 *
 * The module is written to `<root>/.nbtest/`, a folder at the same depth as `notebooks/`, so the
 * notebooks' relative imports (`../src/...`) resolve unchanged. Run it with cwd `notebooks/`.
 *
 * @example
 * ```ts
 * const path = await writeNotebookModule("notebooks/00_setup.ipynb");
 * ```
 * @module
 */
import { basename, join, resolve } from "node:path";

const ROOT = resolve(new URL("../..", import.meta.url).pathname);
const STAND_IN = new URL("./jupyter_stand_in.ts", import.meta.url).href;

interface Cell {
  cell_type: string;
  source: string | string[];
}

/** Reads a notebook and checks it is one the course can run (nbformat 4, Deno kernel). */
export function readNotebook(path: string): { cells: Cell[]; kernel: string } {
  let nb: { nbformat?: number; cells?: Cell[]; metadata?: { kernelspec?: { name?: string } } };
  try {
    nb = JSON.parse(Deno.readTextFileSync(path));
  } catch (e) {
    throw new TypeError(`${path} is not a notebook (JSON parse failed: ${(e as Error).message})`);
  }
  if (nb.nbformat !== 4 || !Array.isArray(nb.cells)) {
    throw new TypeError(`${path} is not an nbformat 4 notebook`);
  }
  return { cells: nb.cells, kernel: nb.metadata?.kernelspec?.name ?? "" };
}

/** The joined module's source. */
export function notebookModuleSource(path: string): string {
  const { cells } = readNotebook(path);
  const parts = [`import "${STAND_IN}";`];
  cells.forEach((cell, i) => {
    if (cell.cell_type !== "code") return;
    const src = Array.isArray(cell.source) ? cell.source.join("") : cell.source;
    parts.push(`// ---- cell ${i} ----\n${src}`);
  });
  return parts.join("\n\n") + "\n";
}

/** Writes the joined module to `.nbtest/<name>.ts` and returns its path. */
export async function writeNotebookModule(path: string): Promise<string> {
  const dir = join(ROOT, ".nbtest");
  await Deno.mkdir(dir, { recursive: true });
  const out = join(dir, basename(path, ".ipynb") + ".ts");
  await Deno.writeTextFile(out, notebookModuleSource(path));
  return out;
}
