/**
 * Figures, tables and markdown for the notebooks.
 *
 * @example
 * ```ts
 * import { figure, showFigure } from "../src/viz/mod.ts";
 * await showFigure(figure([{ y: [1, 2, 3] }], { title: "demo" }));
 * ```
 * @module
 */
export {
  figure,
  type FigureOptions,
  mergeLayout,
  type PlotlyFigure,
  type PlotlyTrace,
} from "./figure.ts";
export {
  figureBundle,
  type Row,
  showFigure,
  type ShowFigureOptions,
  showMarkdown,
  showTable,
  tableBundle,
} from "./display.ts";
export { findChromium, renderPlotlyPng } from "./png.ts";
export {
  bars,
  decorate,
  type Decoration,
  envelope,
  type HeatmapPanel,
  heatmaps,
  hline,
  hrule,
  line,
  type Panel,
  panels,
  type TraceStyle,
  vline,
  xBand,
  yBand,
} from "./charts.ts";
