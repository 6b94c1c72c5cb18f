/**
 * One way to show things in a notebook: figures (plotly JSON + PNG fallback), tables and markdown.
 *
 * Inside the Deno Jupyter kernel these publish rich outputs through `Deno.jupyter.display`.
 * Outside it (scripts, `deno test` running a notebook's code) they validate their input and print
 * a short text form, so the same code runs everywhere.
 *
 * @example
 * ```ts
 * import { figure } from "./figure.ts";
 * import { showFigure, showMarkdown, showTable } from "./display.ts";
 * await showFigure(figure([{ y: [1, 4, 9] }], { title: "squares" }));
 * showTable([{ option: "pi", bpb: 1.23 }]);
 * showMarkdown("**done**");
 * ```
 * @module
 */
import type pl from "nodejs-polars";
import { encodeBase64 } from "../util/base64.ts";
import type { PlotlyFigure } from "./figure.ts";
import { renderPlotlyPng } from "./png.ts";

type Bundle = Record<string, unknown>;

function inKernel(): boolean {
  try {
    // Outside `deno jupyter` the getter throws; the notebook tests install a stand-in.
    return typeof Deno.jupyter?.display === "function";
  } catch {
    return false;
  }
}

function publish(bundle: Bundle, fallbackText: string): void {
  if (inKernel()) Deno.jupyter.display(bundle, { raw: true });
  else console.log(fallbackText);
}

/** Options for {@link showFigure}. */
export interface ShowFigureOptions {
  width?: number;
  height?: number;
}

/** Builds the mime bundle for a figure: plotly JSON, a PNG fallback and a text line. */
export async function figureBundle(
  fig: PlotlyFigure,
  opts: ShowFigureOptions = {},
): Promise<Bundle> {
  if (!fig || !Array.isArray(fig.data)) {
    throw new TypeError("fig must be a plotly figure { data: [...], layout?: {...} }");
  }
  const width = opts.width ?? 760;
  const height = opts.height ?? 440;
  const title = (fig.layout?.title as { text?: string } | undefined)?.text ?? "figure";
  const bundle: Bundle = {
    "application/vnd.plotly.v1+json": { data: fig.data, layout: { ...fig.layout, width, height } },
    "text/plain": `<figure: ${title}>`,
  };
  // COURSE_NO_PNG=1 skips chromium (the notebook tests use it for speed; the course run never does).
  if (Deno.env.get("COURSE_NO_PNG") !== "1") {
    bundle["image/png"] = encodeBase64(await renderPlotlyPng(fig, { width, height }));
  }
  return bundle;
}

/** Shows a plotly figure with its PNG fallback. Await it: the PNG is rendered by chromium. */
export async function showFigure(fig: PlotlyFigure, opts: ShowFigureOptions = {}): Promise<void> {
  const bundle = await figureBundle(fig, opts);
  publish(bundle, bundle["text/plain"] as string);
}

/** A row of a table: column name to value. */
export type Row = Record<string, unknown>;

function formatCell(v: unknown): string {
  if (typeof v === "number") {
    if (Number.isInteger(v)) return String(v);
    if (Number.isNaN(v)) return "—"; // a dash for "not measured", never "NaN"
    if (!Number.isFinite(v)) return String(v);
    const a = Math.abs(v);
    return a !== 0 && (a < 1e-3 || a >= 1e6)
      ? v.toExponential(3)
      : String(Number(v.toPrecision(4)));
  }
  if (typeof v === "bigint") return v.toString();
  if (v === null || v === undefined) return "—";
  return String(v);
}

function escapeHtml(s: string): string {
  return s.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;");
}

function toRows(table: pl.DataFrame | Row[]): Row[] {
  if (Array.isArray(table)) return table;
  if (table && typeof (table as pl.DataFrame).toRecords === "function") {
    return (table as pl.DataFrame).toRecords() as Row[];
  }
  throw new TypeError("table must be a polars DataFrame or an array of row objects");
}

/** Renders rows as an HTML table and a fixed-width text table. */
export function tableBundle(table: pl.DataFrame | Row[], opts: { caption?: string } = {}): Bundle {
  const rows = toRows(table);
  const columns = [...new Set(rows.flatMap((r) => Object.keys(r)))];
  const cells = rows.map((r) => columns.map((c) => formatCell(r[c])));
  const widths = columns.map((c, i) => Math.max(c.length, ...cells.map((row) => row[i].length)));
  const line = (vals: string[]) => vals.map((v, i) => v.padEnd(widths[i])).join("  ");
  const text = [
    ...(opts.caption ? [opts.caption] : []),
    line(columns),
    line(widths.map((w) => "-".repeat(w))),
    ...cells.map(line),
  ].join("\n");
  const html = `<table class="course-table">${
    opts.caption ? `<caption>${escapeHtml(opts.caption)}</caption>` : ""
  }<thead><tr>${columns.map((c) => `<th>${escapeHtml(c)}</th>`).join("")}</tr></thead><tbody>${
    cells.map((row) =>
      `<tr>${
        row.map((v, i) =>
          `<td style="text-align:${typeof rows[0][columns[i]] === "number" ? "right" : "left"}">${
            escapeHtml(v)
          }</td>`
        ).join("")
      }</tr>`
    ).join("")
  }</tbody></table>`;
  return { "text/html": html, "text/plain": text };
}

/** Shows a polars DataFrame (or an array of rows) as a table. */
export function showTable(table: pl.DataFrame | Row[], opts: { caption?: string } = {}): void {
  const bundle = tableBundle(table, opts);
  publish(bundle, bundle["text/plain"] as string);
}

/** Shows markdown (math with $...$ works in Jupyter). */
export function showMarkdown(markdown: string): void {
  if (typeof markdown !== "string") throw new TypeError("markdown must be a string");
  publish({ "text/markdown": markdown, "text/plain": markdown }, markdown);
}
