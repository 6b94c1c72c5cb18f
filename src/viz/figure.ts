/**
 * The plotly figure type the course passes around, and a few layout defaults so every chapter's
 * figures look alike.
 *
 * @example
 * ```ts
 * import { figure } from "./figure.ts";
 * const fig = figure([{ x: [1, 2], y: [3, 4], name: "loss" }], { title: "Loss", xTitle: "step" });
 * ```
 * @module
 */

/** A plotly trace: plain data, passed to plotly.js unchanged. */
export type PlotlyTrace = Record<string, unknown>;

/** A plotly figure: traces plus layout, exactly plotly.js's JSON schema. */
export interface PlotlyFigure {
  data: PlotlyTrace[];
  layout?: Record<string, unknown>;
}

/** Options for {@link figure}. */
export interface FigureOptions {
  title?: string;
  xTitle?: string;
  yTitle?: string;
  xLog?: boolean;
  yLog?: boolean;
  /**
   * Extra layout keys, merged last. Plain objects are merged key by key, deeply: passing
   * `{ yaxis: { range: [0, 1] } }` keeps the axis title and grid set by the options above.
   */
  layout?: Record<string, unknown>;
}

const isPlainObject = (v: unknown): v is Record<string, unknown> =>
  typeof v === "object" && v !== null && !Array.isArray(v);

/**
 * Merges `extra` into `base` without mutating either: nested plain objects are merged key by key,
 * anything else (arrays, numbers, strings) in `extra` replaces the value in `base`.
 *
 * @example
 * ```ts
 * mergeLayout({ xaxis: { title: { text: "x" } } }, { xaxis: { range: [0, 1] } });
 * // { xaxis: { title: { text: "x" }, range: [0, 1] } }
 * ```
 */
export function mergeLayout(
  base: Record<string, unknown>,
  extra: Record<string, unknown> = {},
): Record<string, unknown> {
  const out: Record<string, unknown> = { ...base };
  for (const [key, value] of Object.entries(extra)) {
    out[key] = isPlainObject(value) && isPlainObject(out[key])
      ? mergeLayout(out[key] as Record<string, unknown>, value)
      : value;
  }
  return out;
}

/** Builds a figure with the course's layout defaults. */
export function figure(data: PlotlyTrace[], opts: FigureOptions = {}): PlotlyFigure {
  const axis = (title: string | undefined, log: boolean | undefined) => ({
    ...(title ? { title: { text: title } } : {}),
    ...(log ? { type: "log" } : {}),
    gridcolor: "#e5e5e5",
    zeroline: false,
  });
  return {
    data,
    layout: mergeLayout({
      ...(opts.title ? { title: { text: opts.title } } : {}),
      xaxis: axis(opts.xTitle, opts.xLog),
      yaxis: axis(opts.yTitle, opts.yLog),
      template: "plotly_white",
      plot_bgcolor: "#ffffff",
      paper_bgcolor: "#ffffff",
      font: { family: "DejaVu Sans, Arial, sans-serif", size: 13 },
      margin: { l: 70, r: 30, t: opts.title ? 60 : 30, b: 60 },
    }, opts.layout),
  };
}
