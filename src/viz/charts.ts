/**
 * Small builders for the traces and decorations the chapters draw again and again, so that a
 * notebook cell states its idea in a few lines instead of plotly JSON.
 *
 * @example
 * ```ts
 * import { figure } from "./figure.ts";
 * import { decorate, line, xBand } from "./charts.ts";
 * const x = [0, 1, 2];
 * const fig = figure([line("score", x, [3, 1, 2])], {
 *   title: "Score against offset",
 *   layout: decorate([xBand(1, 2, "long range")]),
 * });
 * ```
 * @module
 */
import type { PlotlyFigure, PlotlyTrace } from "./figure.ts";
import { figure, mergeLayout } from "./figure.ts";

/** Style of a line or marker trace. */
export interface TraceStyle {
  color?: string;
  dash?: "solid" | "dash" | "dot" | "dashdot";
  width?: number;
  /** "lines" (default), "markers" or "lines+markers". */
  mode?: string;
  /** Marker symbol, for markers. */
  symbol?: string;
  /** Step shape ("hv") instead of straight segments. */
  step?: boolean;
}

/**
 * A named line (or marker) trace. Non-finite y values are left out of the drawing (gaps).
 *
 * @example
 * ```ts
 * line("PI", [0, 1], [1, 0.5], { color: "#1f77b4", dash: "dash" });
 * ```
 */
export function line(
  name: string,
  x: ArrayLike<number | string>,
  y: ArrayLike<number>,
  style: TraceStyle = {},
): PlotlyTrace {
  if (x.length !== y.length) {
    throw new RangeError(`x and y must have the same length; got ${x.length} and ${y.length}`);
  }
  const mode = style.mode ?? "lines";
  return {
    type: "scatter",
    mode,
    name,
    x: Array.from(x),
    y: Array.from(y, (v) => (Number.isFinite(v) ? v : null)),
    line: {
      ...(style.color ? { color: style.color } : {}),
      dash: style.dash ?? "solid",
      width: style.width ?? 2,
      ...(style.step ? { shape: "hv" } : {}),
    },
    ...(mode.includes("markers")
      ? { marker: { color: style.color, size: 8, symbol: style.symbol ?? "circle" } }
      : {}),
  };
}

/** A named bar trace; `colors` may give one colour per bar. */
export function bars(
  name: string,
  x: ArrayLike<number | string>,
  y: ArrayLike<number>,
  colors?: string | string[],
): PlotlyTrace {
  return {
    type: "bar",
    name,
    x: Array.from(x),
    y: Array.from(y, (v) => (Number.isFinite(v) ? v : null)),
    ...(colors ? { marker: { color: colors } } : {}),
  };
}

/** A horizontal reference line from x0 to x1 at height y, as a legend entry. */
export function hline(y: number, x0: number, x1: number, name: string, color = "#444") {
  return line(name, [x0, x1], [y, y], { color, dash: "dash", width: 1.5 });
}

/** A figure decoration: shapes and annotations to merge into a layout. */
export interface Decoration {
  shapes: Record<string, unknown>[];
  annotations: Record<string, unknown>[];
}

/**
 * A shaded vertical band from x0 to x1 labelled above the plot (e.g. the long range 2.5-7.5 L0).
 * `labelX` is where the label sits (log axes need log10 of the centre).
 */
export function xBand(
  x0: number,
  x1: number,
  label: string,
  opts: { color?: string; labelX?: number; row?: number } = {},
): Decoration {
  const color = opts.color ?? "#d62728";
  return {
    shapes: [{
      type: "rect",
      x0,
      x1,
      yref: "paper",
      y0: 0,
      y1: 1,
      fillcolor: color,
      opacity: 0.1,
      line: { width: 0 },
    }],
    annotations: [label ? bandLabel(opts.labelX ?? (x0 + x1) / 2, label, color, opts.row) : []]
      .flat(),
  };
}

/** A shaded horizontal band from y0 to y1 across the whole plot (e.g. 2.5-7.5 L0 on a y axis). */
export function yBand(y0: number, y1: number, color = "#d62728"): Decoration {
  return {
    shapes: [{
      type: "rect",
      xref: "paper",
      x0: 0,
      x1: 1,
      y0,
      y1,
      fillcolor: color,
      opacity: 0.12,
      line: { width: 0 },
    }],
    annotations: [],
  };
}

/** A dashed vertical line at x labelled above the plot; `row` staggers neighbouring labels. */
export function vline(
  x: number,
  label: string,
  opts: { color?: string; labelX?: number; row?: number } = {},
): Decoration {
  const color = opts.color ?? "#7f7f7f";
  return {
    shapes: [{
      type: "line",
      x0: x,
      x1: x,
      yref: "paper",
      y0: 0,
      y1: 1,
      line: { color, dash: "dash", width: 1.5 },
    }],
    annotations: label ? [bandLabel(opts.labelX ?? x, label, color, opts.row)] : [],
  };
}

function bandLabel(x: number, text: string, color: string, row = 0) {
  return {
    x,
    yref: "paper",
    y: 1.01 + 0.07 * row,
    yanchor: "bottom",
    text,
    showarrow: false,
    font: { color, size: 12 },
  };
}

/** Layout keys (shapes, annotations) for a list of decorations, ready for `figure`'s layout. */
export function decorate(decorations: Decoration[]): Record<string, unknown> {
  return {
    shapes: decorations.flatMap((d) => d.shapes),
    annotations: decorations.flatMap((d) => d.annotations),
  };
}

/** One panel of {@link heatmaps}. */
export interface HeatmapPanel {
  title: string;
  z: (number | null)[][];
  /** Axis titles of this panel. */
  xTitle?: string;
  yTitle?: string;
  /** Colour-bar title. */
  colorTitle?: string;
  /** Colour range; default: this panel's own min and max. */
  zmin?: number;
  zmax?: number;
}

/**
 * Heatmaps side by side, each with its own colour scale and colour bar (a shared scale would
 * wash out a panel whose values are much smaller), rows drawn top to bottom (matrix order).
 *
 * @example
 * ```ts
 * heatmaps([{ title: "a", z: [[1, 2], [3, 4]] }, { title: "b", z: [[0, 0.1], [0.2, 0.3]] }], {
 *   title: "two matrices",
 * });
 * ```
 */
export function heatmaps(
  panels: HeatmapPanel[],
  opts: { title?: string; colorscale?: string; reverse?: boolean; gap?: number } = {},
): PlotlyFigure {
  if (panels.length < 1 || panels.length > 4) {
    throw new RangeError(`panels must hold 1 to 4 heatmaps; got ${panels.length}`);
  }
  const n = panels.length;
  const gap = opts.gap ?? 0.1;
  const width = (1 - gap * (n - 1)) / n;
  const data: PlotlyTrace[] = [];
  let layout: Record<string, unknown> = {};
  panels.forEach((p, k) => {
    const sfx = k === 0 ? "" : String(k + 1);
    const x0 = k * (width + gap);
    data.push({
      type: "heatmap",
      z: p.z,
      xaxis: `x${sfx}`,
      yaxis: `y${sfx}`,
      colorscale: opts.colorscale ?? "Viridis",
      reversescale: opts.reverse ?? false,
      ...(p.zmin !== undefined ? { zmin: p.zmin } : {}),
      ...(p.zmax !== undefined ? { zmax: p.zmax } : {}),
      colorbar: { x: x0 + width * 0.8, len: 0.85, thickness: 10, title: { text: p.colorTitle } },
    });
    layout = mergeLayout(layout, {
      [`xaxis${sfx}`]: {
        domain: [x0, x0 + width * 0.78],
        title: { text: p.xTitle },
        anchor: `y${sfx}`,
      },
      // only the first panel names the rows: the others would collide with the colour bars
      [`yaxis${sfx}`]: {
        autorange: "reversed",
        title: { text: k === 0 ? p.yTitle : "" },
        anchor: `x${sfx}`,
      },
    });
    layout.annotations = [...(layout.annotations as unknown[] ?? []), {
      text: p.title,
      x: x0 + width * 0.4,
      xref: "paper",
      y: 1.02,
      yref: "paper",
      yanchor: "bottom",
      showarrow: false,
    }];
  });
  const fig = figure(data, { title: opts.title, layout });
  return { data: fig.data, layout: { ...fig.layout, margin: { l: 70, r: 40, t: 90, b: 60 } } };
}
