import assert from "node:assert/strict";
import {
  decorate,
  envelope,
  figure,
  figureBundle,
  heatmaps,
  hrule,
  line,
  mergeLayout,
  panels,
  showMarkdown,
  tableBundle,
  vline,
  xBand,
  yBand,
} from "../src/viz/mod.ts";
import { encodeBase64 } from "../src/util/base64.ts";

Deno.test("figureBundle carries plotly JSON and a real PNG rendered by chromium", async () => {
  const fig = figure([{ x: [1, 2, 3], y: [2, 4, 8], name: "doubling" }], {
    title: "demo",
    yLog: true,
  });
  const bundle = await figureBundle(fig, { width: 320, height: 200 });
  const plotly = bundle["application/vnd.plotly.v1+json"] as {
    data: unknown[];
    layout: { width: number };
  };
  assert.equal(plotly.data.length, 1);
  assert.equal(plotly.layout.width, 320);
  const png = Uint8Array.from(atob(bundle["image/png"] as string), (c) => c.charCodeAt(0));
  assert.deepEqual([...png.subarray(0, 8)], [137, 80, 78, 71, 13, 10, 26, 10]); // PNG signature
  const view = new DataView(png.buffer);
  assert.equal(view.getUint32(16), 320); // IHDR width
  assert.equal(view.getUint32(20), 200); // IHDR height
  assert.equal(bundle["text/plain"], "<figure: demo>");
});

Deno.test("figureBundle rejects something that is not a figure", async () => {
  await assert.rejects(() => figureBundle({} as never), /fig must be a plotly figure/);
});

Deno.test("tableBundle renders rows as HTML and aligned text, escaping HTML", () => {
  const b = tableBundle([{ option: "<pi>", bpb: 1.23456, n: 3 }, {
    option: "yarn",
    bpb: 0.00001,
    n: 4,
  }], {
    caption: "t",
  });
  const html = b["text/html"] as string;
  assert.match(html, /<th>option<\/th><th>bpb<\/th><th>n<\/th>/);
  assert.match(html, /&lt;pi&gt;/);
  assert.match(html, /1\.235/);
  assert.match(html, /1\.000e-5/);
  const lines = (b["text/plain"] as string).split("\n");
  assert.equal(lines[0], "t");
  assert.equal(lines.length, 5);
  assert.throws(() => tableBundle(42 as never), /polars DataFrame or an array of row objects/);
});

Deno.test("showMarkdown rejects non-strings", () => {
  assert.throws(() => showMarkdown(3 as never), /markdown must be a string/);
});

Deno.test("encodeBase64 matches btoa, also past the chunk size", () => {
  const bytes = Uint8Array.from({ length: 70000 }, (_, i) => (i * 31) % 256);
  let s = "";
  for (const b of bytes) s += String.fromCharCode(b);
  assert.equal(encodeBase64(bytes), btoa(s));
  assert.equal(encodeBase64(new Uint8Array([104, 105])), "aGk=");
});

Deno.test("figure merges layout deeply: extra axis keys keep the axis titles", () => {
  const fig = figure([{ y: [1] }], {
    title: "t",
    xTitle: "offset",
    yTitle: "score",
    yLog: true,
    layout: { xaxis: { range: [0, 5] }, yaxis: { dtick: 1 }, barmode: "overlay" },
  });
  const layout = fig.layout as Record<string, Record<string, unknown>>;
  assert.deepEqual(layout.xaxis.title, { text: "offset" });
  assert.deepEqual(layout.xaxis.range, [0, 5]);
  assert.deepEqual(layout.yaxis.title, { text: "score" });
  assert.equal(layout.yaxis.type, "log");
  assert.equal(layout.yaxis.dtick, 1);
  assert.equal(layout.barmode, "overlay");
  assert.deepEqual(mergeLayout({ a: { b: 1, c: [1] } }, { a: { c: [2] } }), {
    a: { b: 1, c: [2] },
  });
});

Deno.test("tableBundle shows a dash, not NaN or a blank, for a missing number", () => {
  const text = tableBundle([{ a: NaN, b: null, c: 1 }])["text/plain"] as string;
  assert.doesNotMatch(text, /NaN/);
  assert.equal(text.split("\n")[2].replace(/\s+/g, " ").trim(), "\u2014 \u2014 1");
});

Deno.test("chart helpers: lines with gaps, bands, heatmaps with their own colour bars", () => {
  const t = line("a", [0, 1, 2], [1, NaN, 3], { dash: "dot" });
  assert.deepEqual(t.y, [1, null, 3]);
  assert.throws(() => line("b", [0], [1, 2]), /x and y must have the same length/);
  const layout = decorate([xBand(2, 5, "far"), vline(1, "L0"), yBand(2.5, 7.5)]);
  assert.equal((layout.shapes as unknown[]).length, 3);
  assert.equal((layout.annotations as unknown[]).length, 2);
  const fig = heatmaps([{ title: "p", z: [[1]] }, { title: "q", z: [[0.001]] }], { title: "h" });
  assert.equal(fig.data.length, 2);
  assert.notEqual(
    (fig.data[0].colorbar as { x: number }).x,
    (fig.data[1].colorbar as { x: number }).x,
  );
  assert.equal(fig.data[1].xaxis, "x2");
  assert.throws(() => heatmaps([]), /panels must hold 1 to 4 heatmaps; got 0/);
  // panel titles are centred over their plot area, not left-anchored
  const title = (fig.layout!.annotations as { text: string; x: number; xanchor: string }[])
    .find((a) => a.text === "q")!;
  const domain = (fig.layout!.xaxis2 as { domain: number[] }).domain;
  assert.equal(title.xanchor, "center");
  assert.ok(Math.abs(title.x - (domain[0] + domain[1]) / 2) < 1e-9);
});

Deno.test("chart helpers: panels, envelopes and rules across a category axis", () => {
  const env = envelope("score", [0, 1, 2, 3, 4], [1, 3, 2, 5, 4], 2);
  assert.equal(env.length, 3);
  assert.deepEqual(env[0].y, [1, 2, 4]); // rolling minimum per 2 points
  assert.deepEqual(env[1].y, [3, 5, 4]); // rolling maximum
  assert.deepEqual(env[2].y, [2, 3.5, 4]); // rolling mean
  assert.throws(() => envelope("x", [0], [1], 0), /window must be an integer >= 1/);
  const labelled = line("slopes", [1, 2], [4, 4], { mode: "markers", text: ["0", "1"] });
  assert.equal(labelled.mode, "markers+text");
  assert.deepEqual(labelled.text, ["0", "1"]);
  assert.equal(heatmaps([{ title: "s", z: [[-1, 1]], zmid: 0 }]).data[0].zmid, 0);
  const rule = hrule(0.5, "uniform");
  assert.equal(rule.shapes[0].xref, "paper");
  const fig = panels([
    { title: "a", traces: [line("m", [0, 1], [1, 2])], decorations: [rule] },
    { title: "b", traces: [line("m", [0, 1], [2, 1])], yLog: true },
  ], { columns: 2 });
  assert.deepEqual(fig.data.map((t) => [t.xaxis, t.yaxis, t.showlegend]), [
    ["x", "y", true],
    ["x2", "y2", false], // the same name is not repeated in the legend
  ]);
  const shapes = fig.layout!.shapes as { xref: string; yref: string }[];
  assert.deepEqual([shapes[0].xref, shapes[0].yref], ["x domain", "y"]); // paper = the panel's own
  assert.equal((fig.layout!.yaxis2 as { type: string }).type, "log");
  assert.throws(() => panels([]), /at least one panel/);
});
