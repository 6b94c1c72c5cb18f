/**
 * Runs the course: executes every notebook in order in the real Deno Jupyter kernel, writes the
 * executed notebooks and an HTML rendering with all figures to `build/`, and prints a summary.
 *
 * `deno task course [--only 01_rope,02] [--preset course] [--timeout 900] [--inplace] [--out build]`
 * `--inplace` also writes the outputs back into notebooks/ (how the committed outputs are made).
 * Exits non-zero if any notebook fails; the failing cell's source and error are printed.
 * @module
 */
import { basename, join, resolve } from "node:path";
import { parseArgs } from "node:util";
import { PYTHON } from "./setup.ts";
import { numberFlag } from "../util/cli.ts";

const ROOT = resolve(new URL("../..", import.meta.url).pathname);
const RUNNER = join(ROOT, "src/tools/nbrun.py");
const KATEX_DIST = join(ROOT, "node_modules/katex/dist");

/** One notebook's outcome. */
export interface NotebookResult {
  notebook: string;
  seconds: number;
  status: "ok" | "failed" | "timeout" | "error";
}

/** Lists the course notebooks in order, keeping those whose name starts with one of `only`. */
export function listNotebooks(dir: string, only: string[] = []): string[] {
  const names = [...Deno.readDirSync(dir)]
    .filter((e) => e.isFile && e.name.endsWith(".ipynb"))
    .map((e) => e.name)
    .sort();
  const kept = only.length ? names.filter((n) => only.some((o) => n.startsWith(o))) : names;
  if (only.length && kept.length === 0) {
    throw new RangeError(`--only ${only.join(",")} matches no notebook; have: ${names.join(", ")}`);
  }
  return kept.map((n) => join(dir, n));
}

/** Executes one notebook with the Python runner; its stderr (failures) passes through. */
export async function runNotebook(
  path: string,
  opts: { out: string; timeout: number; inplace?: boolean; preset?: string },
): Promise<NotebookResult> {
  const t0 = performance.now();
  const args = [RUNNER, path, "--out", opts.out, "--timeout", String(opts.timeout), "--html"];
  args.push("--require-png");
  if (opts.inplace) args.push("--inplace");
  const env: Record<string, string> = {};
  if (opts.preset) env.COURSE_PRESET = opts.preset;
  const res = await new Deno.Command(PYTHON, { args, env, stdout: "inherit", stderr: "inherit" })
    .output();
  const seconds = (performance.now() - t0) / 1000;
  const status = res.code === 0
    ? "ok"
    : res.code === 1
    ? "failed"
    : res.code === 2
    ? "timeout"
    : "error";
  return { notebook: basename(path, ".ipynb"), seconds, status };
}

/**
 * Copies KaTeX (pinned in deno.json, installed from npm) into `out/katex/`, where the exported
 * HTML pages load it from: math renders offline, with no CDN. Returns the files copied.
 *
 * @example
 * ```ts
 * await copyMathAssets("build"); // build/katex/katex.min.js, .css, auto-render, fonts
 * ```
 */
export async function copyMathAssets(out: string, dist = KATEX_DIST): Promise<string[]> {
  const wanted = ["katex.min.css", "katex.min.js", "contrib/auto-render.min.js"];
  try {
    for (const e of Deno.readDirSync(join(dist, "fonts"))) {
      if (e.name.endsWith(".woff2")) wanted.push(`fonts/${e.name}`);
    }
  } catch {
    throw new Error(`KaTeX not found at ${dist}: run \`deno install\` (katex is in deno.json)`);
  }
  await Deno.mkdir(join(out, "katex", "contrib"), { recursive: true });
  await Deno.mkdir(join(out, "katex", "fonts"), { recursive: true });
  for (const f of wanted) await Deno.copyFile(join(dist, f), join(out, "katex", f));
  return wanted;
}

function indexHtml(results: NotebookResult[]): string {
  const rows = results.map((r) =>
    `<tr><td><a href="${r.notebook}.html">${r.notebook}</a></td><td>${r.seconds.toFixed(1)}</td>` +
    `<td>${r.status}</td></tr>`
  ).join("\n");
  return `<!doctype html><html><head><meta charset="utf-8"><title>Long-context retrofit course</title>
<style>body{font-family:sans-serif;margin:2em}td,th{padding:4px 12px;text-align:left}</style></head>
<body><h1>Long-context retrofit course: executed notebooks</h1>
<table><tr><th>notebook</th><th>seconds</th><th>status</th></tr>
${rows}</table></body></html>`;
}

/** The course command's options, parsed from its command line. */
export interface CourseArgs {
  /** Notebook name prefixes to run (empty: all). */
  only: string[];
  /** Explicit notebook paths (resolved), overriding `only`. */
  notebooks: string[];
  preset?: string;
  /** Per-notebook limit in seconds (> 0). */
  timeout: number;
  out: string;
  inplace: boolean;
}

/**
 * Parses the course command line (`--only`, `--notebook`, `--preset`, `--timeout`, `--out`,
 * `--inplace`); a bad value throws a RangeError naming the flag.
 *
 * @example
 * ```ts
 * parseCourseArgs(["--only", "01,02", "--timeout", "60"]).only; // ["01", "02"]
 * ```
 */
export function parseCourseArgs(argv: string[]): CourseArgs {
  const { values } = parseArgs({
    args: argv,
    options: {
      only: { type: "string", default: "" },
      notebook: { type: "string", multiple: true, default: [] },
      preset: { type: "string" },
      timeout: { type: "string", default: "900" },
      out: { type: "string", default: join(ROOT, "build") },
      inplace: { type: "boolean", default: false },
    },
  });
  return {
    only: values.only ? values.only.split(",").map((s) => s.trim()).filter(Boolean) : [],
    notebooks: values.notebook.map((p) => resolve(p)),
    preset: values.preset,
    timeout: numberFlag("timeout", values.timeout, { greaterThan: 0 }),
    out: values.out,
    inplace: values.inplace,
  };
}

async function main(): Promise<number> {
  const values = parseCourseArgs(Deno.args);
  const timeout = values.timeout;
  const notebooks = values.notebooks.length
    ? values.notebooks
    : listNotebooks(join(ROOT, "notebooks"), values.only);
  await Deno.mkdir(values.out, { recursive: true });
  await copyMathAssets(values.out);
  const results: NotebookResult[] = [];
  for (const nb of notebooks) {
    console.log(`course: running ${basename(nb)} ...`);
    const r = await runNotebook(nb, {
      out: values.out,
      timeout,
      inplace: values.inplace,
      preset: values.preset,
    });
    console.log(`course: ${r.notebook} ${r.status} in ${r.seconds.toFixed(1)} s`);
    results.push(r);
  }
  await Deno.writeTextFile(join(values.out, "index.html"), indexHtml(results));
  const w = Math.max(8, ...results.map((r) => r.notebook.length));
  console.log(`\n${"notebook".padEnd(w)}  seconds  status`);
  for (const r of results) {
    console.log(`${r.notebook.padEnd(w)}  ${r.seconds.toFixed(1).padStart(7)}  ${r.status}`);
  }
  const failed = results.filter((r) => r.status !== "ok").length;
  console.log(
    `\n${results.length - failed} of ${results.length} notebooks ok. ` +
      `Open ${join(values.out, "index.html")} (executed notebooks: ${values.out}/*.ipynb)`,
  );
  return failed ? 1 : 0;
}

if (import.meta.main) Deno.exit(await main());
