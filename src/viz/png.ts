/**
 * Renders a plotly figure to PNG with headless Debian chromium, so that figures also appear in
 * plain Jupyter and in the HTML export (neither renders plotly's JSON mime type).
 *
 * @example
 * ```ts
 * const png = await renderPlotlyPng({ data: [{ y: [1, 3, 2] }] }, { width: 640, height: 400 });
 * ```
 * @module
 */
import type { PlotlyFigure } from "./figure.ts";

const PLOTLY_JS = new URL("../../node_modules/plotly.js-dist/plotly.js", import.meta.url);
const CHROMIUM_CANDIDATES = [
  "/usr/bin/chromium",
  "/usr/bin/chromium-browser",
  "/usr/bin/google-chrome",
];

/** Path of a headless-capable chromium, or undefined when none is installed. */
export function findChromium(): string | undefined {
  const fromEnv = Deno.env.get("CHROMIUM");
  for (const p of fromEnv ? [fromEnv, ...CHROMIUM_CANDIDATES] : CHROMIUM_CANDIDATES) {
    try {
      if (Deno.statSync(p).isFile) return p;
    } catch { /* not here */ }
  }
  return undefined;
}

/**
 * Command-line flags for one headless chromium run: no sandbox, GPU, network chatter or
 * scrollbars; a throwaway profile; the window size; time for the page's scripts to finish.
 *
 * @example
 * ```ts
 * const args = [...headlessArgs("/tmp/p", { width: 800, height: 600 }), "--dump-dom", url];
 * ```
 */
export function headlessArgs(profile: string, size: { width: number; height: number }): string[] {
  return [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--allow-file-access-from-files",
    "--hide-scrollbars",
    `--user-data-dir=${profile}`,
    `--window-size=${size.width},${size.height}`,
    "--virtual-time-budget=10000",
  ];
}

/** Renders `fig` to PNG bytes at the given pixel size. Throws if chromium is missing or fails. */
export async function renderPlotlyPng(
  fig: PlotlyFigure,
  size: { width: number; height: number },
): Promise<Uint8Array> {
  const chromium = findChromium();
  if (!chromium) {
    throw new Error("chromium not found (install Debian's `chromium`, or set CHROMIUM=/path)");
  }
  const dir = await Deno.makeTempDir({ prefix: "course-fig-" });
  try {
    const layout = { ...fig.layout, width: size.width, height: size.height };
    // The figure is rendered before the load event, so the screenshot sees the finished plot.
    const html = `<!doctype html><html><head><meta charset="utf-8">
<style>html,body{margin:0;padding:0;background:#fff}</style>
<script src="${PLOTLY_JS.href}"></script></head><body><div id="fig"></div>
<script>Plotly.newPlot("fig", ${JSON.stringify(fig.data)}, ${JSON.stringify(layout)},
{staticPlot: true, displayModeBar: false});</script></body></html>`;
    await Deno.writeTextFile(`${dir}/fig.html`, html);
    const out = `${dir}/fig.png`;
    const cmd = new Deno.Command(chromium, {
      args: [
        ...headlessArgs(`${dir}/profile`, size),
        `--screenshot=${out}`,
        `file://${dir}/fig.html`,
      ],
      stdout: "piped",
      stderr: "piped",
    });
    const res = await cmd.output();
    let png: Uint8Array;
    try {
      png = await Deno.readFile(out);
    } catch {
      const err = new TextDecoder().decode(res.stderr).split("\n").slice(-5).join("\n");
      throw new Error(`chromium did not write a screenshot (exit ${res.code}):\n${err}`);
    }
    return png;
  } finally {
    await Deno.remove(dir, { recursive: true }).catch(() => {});
  }
}
