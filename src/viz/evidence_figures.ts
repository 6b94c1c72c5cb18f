/**
 * The figures of notebooks 08 and 09 (evaluation and decision), built from the plain rows of
 * src/decision/report.ts: intervals by option, budget curves, steps-to-threshold with censored
 * seeds, paired differences, latency rounds against the bound, and the context x depth grid.
 *
 * @example
 * ```ts
 * import { intervalFigure } from "./evidence_figures.ts";
 * import { showFigure } from "./display.ts";
 * await showFigure(intervalFigure(rows, { title: "near-range retrieval", yTitle: "accuracy" }));
 * ```
 * @module
 */
import { figure, type PlotlyFigure, type PlotlyTrace } from "./figure.ts";
import type { CurvePoint, IntervalRow, ThresholdRow } from "../decision/report.ts";
import type { Interval } from "../eval/paired.ts";

const err = (xs: readonly Interval[]) => ({
  type: "data",
  symmetric: false,
  array: xs.map((x) => x.high - x.mean),
  arrayminus: xs.map((x) => x.mean - x.low),
});

/**
 * Estimates with 95% intervals, one marker group per metric (e.g. training vs held-out wordings),
 * options on the x axis; an optional dashed bound.
 */
export function intervalFigure(
  rows: readonly IntervalRow[],
  o: { title: string; yTitle: string; names?: Record<string, string>; bound?: number },
): PlotlyFigure {
  const metrics = [...new Set(rows.map((r) => r.metric))];
  const traces: PlotlyTrace[] = metrics.map((m) => {
    const rs = rows.filter((r) => r.metric === m);
    return {
      type: "scatter",
      mode: "markers",
      name: o.names?.[m] ?? m,
      x: rs.map((r) => r.option),
      y: rs.map((r) => r.mean),
      error_y: err(rs),
      marker: { size: 9 },
    };
  });
  const shapes = o.bound === undefined ? [] : [{
    type: "line",
    xref: "paper",
    x0: 0,
    x1: 1,
    y0: o.bound,
    y1: o.bound,
    line: { dash: "dash", color: "#888" },
  }];
  return figure(traces, {
    title: o.title,
    yTitle: o.yTitle,
    layout: { scattermode: "group", shapes, xaxis: { type: "category" } },
  });
}

/**
 * Budget curves: x = fine-tune steps (0 = the conversion, no training), one line per option with
 * its intervals; optional dashed references (a threshold, the base model's value).
 */
export function budgetCurveFigure(
  curves: Map<string, CurvePoint[]>,
  o: { title: string; yTitle: string; refs?: { y: number; label: string }[] },
): PlotlyFigure {
  const traces: PlotlyTrace[] = [...curves].filter(([, pts]) => pts.length).map((
    [option, pts],
  ) => ({
    type: "scatter",
    mode: "lines+markers",
    name: option,
    x: pts.map((p) => String(p.step)),
    y: pts.map((p) => p.mean),
    error_y: err(pts),
  }));
  const shapes = (o.refs ?? []).map((r) => ({
    type: "line",
    xref: "paper",
    x0: 0,
    x1: 1,
    y0: r.y,
    y1: r.y,
    line: { dash: "dash", color: "#888" },
  }));
  const annotations = (o.refs ?? []).map((r) => ({
    xref: "paper",
    x: 1,
    xanchor: "right",
    y: r.y,
    yanchor: "bottom",
    text: r.label,
    showarrow: false,
    font: { size: 11, color: "#666" },
  }));
  return figure(traces, {
    title: o.title,
    xTitle: "fine-tune steps (0 = converted, not trained)",
    yTitle: o.yTitle,
    layout: {
      xaxis: { type: "category", title: { text: "fine-tune steps (0 = converted)" } },
      shapes,
      annotations,
    },
  });
}

/** Budget curves of several metrics side by side (one panel each, shared legend by option). */
export function curvePanelsFigure(
  panels: { title: string; curves: Map<string, CurvePoint[]>; ref?: number }[],
  o: { title: string },
): PlotlyFigure {
  const options = [...new Set(panels.flatMap((p) => [...p.curves.keys()]))];
  const palette = ["#636efa", "#ef553b", "#00cc96", "#ab63fa", "#ffa15a", "#19d3f3", "#ff6692"];
  const traces: PlotlyTrace[] = [];
  const layout: Record<string, unknown> = {
    grid: { rows: 1, columns: panels.length, pattern: "independent", xgap: 0.12 },
    annotations: [] as unknown[],
    shapes: [] as unknown[],
    margin: { l: 60, r: 20, t: 90, b: 60 },
  };
  panels.forEach((p, k) => {
    const ax = k === 0 ? "" : String(k + 1);
    for (const [option, pts] of p.curves) {
      if (!pts.length) continue;
      traces.push({
        type: "scatter",
        mode: "lines+markers",
        name: option,
        legendgroup: option,
        showlegend: k === 0,
        line: { color: palette[options.indexOf(option) % palette.length] },
        x: pts.map((q) => String(q.step)),
        y: pts.map((q) => q.mean),
        error_y: err(pts),
        xaxis: `x${ax}`,
        yaxis: `y${ax}`,
      });
    }
    layout[`xaxis${ax}`] = { type: "category", title: { text: "steps" } };
    layout[`yaxis${ax}`] = { gridcolor: "#e5e5e5" };
    (layout.annotations as unknown[]).push({
      text: `<b>${p.title}</b>`,
      xref: `x${ax} domain`,
      yref: `y${ax} domain`,
      x: 0.5,
      y: 1.1,
      showarrow: false,
    });
    if (p.ref !== undefined) {
      (layout.shapes as unknown[]).push({
        type: "line",
        xref: `x${ax} domain`,
        yref: `y${ax}`,
        x0: 0,
        x1: 1,
        y0: p.ref,
        y1: p.ref,
        line: { dash: "dash", color: "#888" },
      });
    }
  });
  return figure(traces, { title: o.title, layout });
}

/**
 * Steps to the threshold per seed: reached seeds as filled dots at their step, censored seeds as
 * open triangles at "not by <budget>" (kept, never dropped).
 */
export function thresholdFigure(
  rows: readonly ThresholdRow[],
  budgets: readonly number[],
): PlotlyFigure {
  const last = Math.max(...budgets, ...rows.map((r) => r.budget));
  const cats = ["0", ...budgets.map(String), `not by ${last}`];
  const reached = rows.filter((r) => !r.censored);
  const censored = rows.filter((r) => r.censored);
  // One row per option, seeds spread around it so every censored seed stays visible.
  const opts = [...new Set(rows.map((r) => r.option))];
  const seeds = [...new Set(rows.map((r) => r.seed))].sort((a, b) => a - b);
  const jitter = (r: ThresholdRow) =>
    opts.indexOf(r.option) + 0.6 * ((seeds.indexOf(r.seed) + 0.5) / seeds.length - 0.5);
  return figure([
    {
      type: "scatter",
      mode: "markers",
      name: "reached (seed)",
      x: reached.map((r) => String(r.steps)),
      y: reached.map(jitter),
      text: reached.map((r) => `seed ${r.seed}`),
      marker: { size: 11, symbol: "circle" },
    },
    {
      type: "scatter",
      mode: "markers",
      name: "censored: not reached (seed)",
      x: censored.map(() => `not by ${last}`),
      y: censored.map(jitter),
      text: censored.map((r) => `seed ${r.seed}`),
      marker: { size: 12, symbol: "triangle-right-open", color: "#c0392b" },
    },
  ], {
    title: `Steps to ${rows[0]?.threshold ?? "?"} long-range retrieval, one marker per seed`,
    xTitle: "fine-tune steps",
    layout: {
      xaxis: {
        type: "category",
        categoryorder: "array",
        categoryarray: cats,
        range: [-0.5, cats.length - 0.5],
        title: { text: "fine-tune steps" },
      },
      yaxis: { tickvals: opts.map((_, i) => i), ticktext: opts, range: [-0.6, opts.length - 0.4] },
    },
  });
}

/** Paired differences as a forest plot: one row per comparison, the zero line dashed. */
export function differenceFigure(
  rows: readonly { label: string; interval: Interval }[],
  o: { title: string; xTitle: string },
): PlotlyFigure {
  return {
    ...figure([{
      type: "scatter",
      mode: "markers",
      x: rows.map((r) => r.interval.mean),
      y: rows.map((r) => r.label),
      error_x: err(rows.map((r) => r.interval)),
      marker: {
        size: 9,
        color: rows.map((r) => (r.interval.low > 0 || r.interval.high < 0 ? "#1f77b4" : "#aaaaaa")),
      },
      showlegend: false,
    }], {
      title: o.title,
      xTitle: o.xTitle,
      layout: {
        yaxis: { type: "category", autorange: "reversed", automargin: true },
        shapes: [{
          type: "line",
          yref: "paper",
          y0: 0,
          y1: 1,
          x0: 0,
          x1: 0,
          line: { dash: "dash", color: "#888" },
        }],
      },
    }),
  };
}

/** Latency: every interleaved round as a dot, the estimate with its interval, the bound dashed. */
export function latencyFigure(
  rounds: Map<string, number[]>,
  estimates: readonly IntervalRow[],
  bound: number,
): PlotlyFigure {
  const opts = estimates.map((e) => e.option);
  return figure([
    {
      type: "scatter",
      mode: "markers",
      name: "one round",
      x: opts.flatMap((o) => (rounds.get(o) ?? []).map(() => o)),
      y: opts.flatMap((o) => rounds.get(o) ?? []),
      marker: { size: 6, color: "#bbbbbb" },
    },
    {
      type: "scatter",
      mode: "markers",
      name: "estimate, 95% CI",
      x: opts,
      y: estimates.map((e) => e.mean),
      error_y: err(estimates),
      marker: { size: 11, color: "#1f77b4" },
    },
  ], {
    title: `Forward time per token at 8 x L0 / the base model's (bound ${bound}x dashed)`,
    yTitle: "latency ratio",
    layout: {
      xaxis: { type: "category" },
      shapes: [{
        type: "line",
        xref: "paper",
        x0: 0,
        x1: 1,
        y0: bound,
        y1: bound,
        line: { dash: "dash", color: "#888" },
      }],
    },
  });
}

/** Heatmaps of a grid metric, one panel per option: rows context length, columns depth. */
export function gridFigure(
  cells: readonly { option: string; ctx: number; depth: number; value: number }[],
  o: { title: string },
): { fig: PlotlyFigure; height: number } {
  const panels = [...new Set(cells.map((c) => c.option))];
  const cols = 4;
  const traces: PlotlyTrace[] = [];
  const annotations: Record<string, unknown>[] = [];
  const axes: Record<string, unknown> = {};
  panels.forEach((p, k) => {
    const cs = cells.filter((c) => c.option === p);
    const ctxs = [...new Set(cs.map((c) => c.ctx))].sort((a, b) => a - b);
    const depths = [...new Set(cs.map((c) => c.depth))].sort((a, b) => a - b);
    const z = ctxs.map((c) =>
      depths.map((d) => cs.find((x) => x.ctx === c && x.depth === d)?.value ?? null)
    );
    const ax = k === 0 ? "" : String(k + 1);
    traces.push({
      type: "heatmap",
      x: depths.map(String),
      y: ctxs.map(String),
      z,
      zmin: 0,
      zmax: 1,
      colorscale: "Viridis",
      showscale: k === 0,
      xaxis: `x${ax}`,
      yaxis: `y${ax}`,
      text: z.map((row) => row.map((v) => (v === null ? "" : v.toFixed(2)))),
      texttemplate: "%{text}",
    });
    axes[`xaxis${ax}`] = { type: "category", title: { text: "depth" } };
    axes[`yaxis${ax}`] = { type: "category" };
    annotations.push({
      text: `<b>${p}</b>`,
      xref: `x${ax} domain`,
      yref: `y${ax} domain`,
      x: 0.5,
      y: 1.15,
      showarrow: false,
    });
  });
  const rows = Math.ceil(panels.length / cols);
  return {
    fig: figure(traces, {
      title: o.title,
      layout: {
        grid: { rows, columns: cols, pattern: "independent", ygap: 0.45, xgap: 0.2 },
        annotations,
        ...axes,
        margin: { l: 60, r: 30, t: 80, b: 50 },
      },
    }),
    height: 250 * rows + 110,
  };
}

/** Lines of estimate vs x with intervals, one per option (e.g. bits/byte by context length). */
export function linesFigure(
  series: Map<string, { x: number; i: Interval }[]>,
  o: { title: string; xTitle: string; yTitle: string; xLog?: boolean },
): PlotlyFigure {
  return figure(
    [...series].map(([name, pts]) => ({
      type: "scatter",
      mode: "lines+markers",
      name,
      x: pts.map((p) => p.x),
      y: pts.map((p) => p.i.mean),
      error_y: err(pts.map((p) => p.i)),
    })),
    { title: o.title, xTitle: o.xTitle, yTitle: o.yTitle, xLog: o.xLog },
  );
}

/** Heatmap of decision margins (option x constraint), clipped to [-1, 1]; < 0 fails. */
export function marginFigure(
  ranking: readonly string[],
  labels: readonly string[],
  margins: readonly (readonly number[])[],
): PlotlyFigure {
  return figure([{
    type: "heatmap",
    x: labels,
    y: ranking,
    z: margins.map((r) => r.map((m) => Math.max(-1, Math.min(1, m)))),
    zmin: -1,
    zmax: 1,
    colorscale: "RdBu",
    colorbar: { title: { text: "margin" } },
    text: margins.map((r) => r.map((m) => m.toFixed(2))),
    texttemplate: "%{text}",
  }], {
    title: "decision-margins: margin to each bound (< 0 fails)",
    layout: { yaxis: { type: "category", autorange: "reversed" }, xaxis: { type: "category" } },
  });
}
