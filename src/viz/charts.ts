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
  /** A label per point, drawn above it. */
  text?: string[];
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
  const mode = (style.mode ?? "lines") + (style.text ? "+text" : "");
  return {
    type: "scatter",
    mode,
    name,
    ...(style.text ? { text: style.text, textposition: "top center" } : {}),
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

/** Plotly shape coordinates from x0 to x1 (data) over the plot's whole height. */
function fullHeight(x0: number, x1: number) {
  return { x0, x1, yref: "paper", y0: 0, y1: 1 };
}

/** Plotly shape coordinates from y0 to y1 (data) over the plot's whole width. */
function fullWidth(y0: number, y1: number) {
  return { xref: "paper", x0: 0, x1: 1, y0, y1 };
}

/** A filled rectangle without outline at `coords` ({@link fullHeight}, {@link fullWidth}). */
function shadedRect(coords: Record<string, string | number>, color: string, opacity: number) {
  return { type: "rect", ...coords, fillcolor: color, opacity, line: { width: 0 } };
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
  const band = shadedRect(fullHeight(x0, x1), color, 0.1);
  return labelled(band, label, opts.labelX ?? (x0 + x1) / 2, color, opts.row);
}

/** A shaded horizontal band from y0 to y1 across the whole plot (e.g. 2.5-7.5 L0 on a y axis). */
export function yBand(y0: number, y1: number, color = "#d62728"): Decoration {
  return {
    shapes: [shadedRect(fullWidth(y0, y1), color, 0.12)],
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
  const line = { type: "line", ...fullHeight(x, x), line: { color, dash: "dash", width: 1.5 } };
  return labelled(line, label, opts.labelX ?? x, color, opts.row);
}

/** One shape, with `label` (if any) above the plot at `labelX`. */
function labelled(
  shape: Record<string, unknown>,
  label: string,
  labelX: number,
  color: string,
  row?: number,
): Decoration {
  return { shapes: [shape], annotations: label ? [bandLabel(labelX, label, color, row)] : [] };
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
  /** The value at the middle of a diverging colour scale (e.g. 0). */
  zmid?: number;
  /** Coordinates of the columns and rows (e.g. positions); default: their indices. */
  x?: readonly number[];
  y?: readonly number[];
  /** Extra shapes (e.g. lines marking a range), in this panel's axis coordinates. */
  shapes?: Record<string, unknown>[];
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
      ...(p.x ? { x: Array.from(p.x) } : {}),
      ...(p.y ? { y: Array.from(p.y) } : {}),
      xaxis: `x${sfx}`,
      yaxis: `y${sfx}`,
      colorscale: opts.colorscale ?? "Viridis",
      reversescale: opts.reverse ?? false,
      ...(p.zmin !== undefined ? { zmin: p.zmin } : {}),
      ...(p.zmax !== undefined ? { zmax: p.zmax } : {}),
      ...(p.zmid !== undefined ? { zmid: p.zmid } : {}),
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
    // the title centred over the plot area (the colour bar takes the rest of the panel)
    layout.annotations = [...(layout.annotations as unknown[] ?? []), {
      text: p.title,
      x: x0 + width * 0.39,
      xref: "paper",
      xanchor: "center",
      y: 1.02,
      yref: "paper",
      yanchor: "bottom",
      showarrow: false,
    }];
    const own = (p.shapes ?? []).map((sh) => ({ xref: `x${sfx}`, yref: `y${sfx}`, ...sh }));
    layout.shapes = [...(layout.shapes as unknown[] ?? []), ...own];
  });
  const fig = figure(data, { title: opts.title, layout });
  return { data: fig.data, layout: { ...fig.layout, margin: { l: 70, r: 40, t: 90, b: 60 } } };
}

/** A horizontal dashed line across the whole plot at height y (works on category x axes too). */
export function hrule(y: number, label: string, color = "#444"): Decoration {
  return {
    shapes: [{
      type: "line",
      xref: "paper",
      x0: 0,
      x1: 1,
      y0: y,
      y1: y,
      line: { color, dash: "dash", width: 1.5 },
    }],
    annotations: label
      ? [{
        xref: "paper",
        x: 1,
        xanchor: "right",
        y,
        yanchor: "bottom",
        text: label,
        showarrow: false,
        font: { color, size: 12 },
      }]
      : [],
  };
}

/**
 * A rolling minimum-to-maximum band (filled) of a noisy curve over windows of `window` points,
 * with the rolling mean as a line: a 2,000-point oscillating score stays readable.
 */
export function envelope(
  name: string,
  x: ArrayLike<number>,
  y: ArrayLike<number>,
  window: number,
  style: { color?: string; dash?: TraceStyle["dash"] } = {},
): PlotlyTrace[] {
  if (x.length !== y.length) {
    throw new RangeError(`x and y must have the same length; got ${x.length} and ${y.length}`);
  }
  if (!(Number.isInteger(window) && window >= 1)) {
    throw new RangeError(`window must be an integer >= 1; got ${window}`);
  }
  const xs: number[] = [], lo: number[] = [], hi: number[] = [], mean: number[] = [];
  for (let s = 0; s < x.length; s += window) {
    const part = Array.from(y).slice(s, s + window);
    xs.push(x[Math.min(s + Math.floor(part.length / 2), x.length - 1)]);
    lo.push(Math.min(...part));
    hi.push(Math.max(...part));
    mean.push(part.reduce((a, v) => a + v, 0) / part.length);
  }
  const color = style.color ?? "#1f77b4";
  return [
    { type: "scatter", mode: "lines", x: xs, y: lo, line: { width: 0, color }, showlegend: false },
    {
      type: "scatter",
      mode: "lines",
      name: `${name} (min-max per ${window})`,
      x: xs,
      y: hi,
      fill: "tonexty",
      fillcolor: translucent(color, 0.3),
      line: { width: 0, color },
    },
    line(`${name} (mean per ${window})`, xs, mean, { color, dash: style.dash }),
  ];
}

/** `#rrggbb` as `rgba(r, g, b, alpha)`; any other colour string is returned unchanged. */
function translucent(color: string, alpha: number): string {
  const m = /^#([0-9a-f]{2})([0-9a-f]{2})([0-9a-f]{2})$/i.exec(color);
  if (!m) return color;
  return `rgba(${m.slice(1).map((h) => parseInt(h, 16)).join(", ")}, ${alpha})`;
}

/** One panel of {@link panels}. */
export interface Panel {
  title: string;
  traces: PlotlyTrace[];
  xTitle?: string;
  yTitle?: string;
  xLog?: boolean;
  yLog?: boolean;
  /** Axis ranges (log axes: log10 of the ends). */
  xRange?: [number, number];
  yRange?: [number, number];
  /** Bands and lines; `paper` coordinates are read as this panel's own area. */
  decorations?: Decoration[];
}

/**
 * Panels in a grid (`columns` per row), each with its own axes and title; a trace name shown in
 * one panel's legend is not repeated for the next. Use it for one method per panel against a
 * common reference instead of many overlapping curves.
 *
 * @example
 * ```ts
 * panels([
 *   { title: "PI", traces: [line("PI", [0, 1], [1, 2])] },
 *   { title: "YaRN", traces: [line("YaRN", [0, 1], [2, 1])] },
 * ], { title: "Score against offset", columns: 2 });
 * ```
 */
export function panels(
  list: Panel[],
  opts: { title?: string; columns?: number; gap?: number } = {},
): PlotlyFigure {
  if (list.length < 1) throw new RangeError("panels needs at least one panel");
  const cols = Math.min(opts.columns ?? list.length, list.length);
  const rows = Math.ceil(list.length / cols);
  const gapX = opts.gap ?? 0.1, gapY = 0.2;
  const w = (1 - gapX * (cols - 1)) / cols, h = (1 - gapY * (rows - 1)) / rows;
  const data: PlotlyTrace[] = [];
  const shown = new Set<string>();
  let layout: Record<string, unknown> = { shapes: [], annotations: [] };
  const axis = (title?: string, log?: boolean, range?: [number, number]) => ({
    ...(title ? { title: { text: title } } : {}),
    ...(log ? { type: "log", exponentformat: "power" } : {}),
    ...(range ? { range } : {}),
    gridcolor: "#e5e5e5",
    zeroline: false,
  });
  list.forEach((p, k) => {
    const sfx = k === 0 ? "" : String(k + 1);
    const col = k % cols, row = Math.floor(k / cols);
    const x0 = col * (w + gapX), y1 = 1 - row * (h + gapY);
    for (const t of p.traces) {
      const name = String(t.name ?? "");
      const showlegend = t.showlegend !== false && !!name && !shown.has(name);
      if (showlegend) shown.add(name);
      data.push({ ...t, xaxis: `x${sfx}`, yaxis: `y${sfx}`, legendgroup: name, showlegend });
    }
    const ref = (r: unknown, axisLetter: "x" | "y") =>
      r === "paper" ? `${axisLetter}${sfx} domain` : `${axisLetter}${sfx}`;
    const shapes = (p.decorations ?? []).flatMap((d) => d.shapes).map((s) => ({
      ...s,
      xref: ref(s.xref, "x"),
      yref: ref(s.yref, "y"),
    }));
    const notes = (p.decorations ?? []).flatMap((d) => d.annotations).map((a) => ({
      ...a,
      xref: ref(a.xref, "x"),
      yref: ref(a.yref, "y"),
    }));
    layout = mergeLayout(layout, {
      [`xaxis${sfx}`]: {
        ...axis(p.xTitle, p.xLog, p.xRange),
        domain: [x0, x0 + w],
        anchor: `y${sfx}`,
      },
      [`yaxis${sfx}`]: {
        ...axis(p.yTitle, p.yLog, p.yRange),
        domain: [y1 - h, y1],
        anchor: `x${sfx}`,
      },
    });
    layout.shapes = [...(layout.shapes as unknown[]), ...shapes];
    layout.annotations = [...(layout.annotations as unknown[]), ...notes, {
      text: `<b>${p.title}</b>`,
      xref: `x${sfx} domain`,
      x: 0.5,
      xanchor: "center",
      yref: `y${sfx} domain`,
      y: (p.decorations ?? []).some((d) => d.annotations.length) ? 1.09 : 1.0, // above band labels
      yanchor: "bottom",
      showarrow: false,
    }];
  });
  const fig = figure(data, { title: opts.title, layout });
  return { data: fig.data, layout: { ...fig.layout, margin: { l: 70, r: 30, t: 90, b: 60 } } };
}
