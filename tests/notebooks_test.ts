/**
 * Notebook tests: every course notebook's code cells, joined into a module, are type-checked and
 * executed (at the tiny preset, with a stand-in for Deno.jupyter); the real-kernel runner is
 * tested on fixtures that must fail, must keep late outputs, and use the wrong kernel.
 */
import assert from "node:assert/strict";
import { join, resolve } from "node:path";
import { listNotebooks } from "../src/tools/course.ts";
import { writeNotebookModule } from "../src/tools/notebook_module.ts";
import { mathStats, renderedDom } from "../src/tools/html_check.ts";

const ROOT = resolve(new URL("..", import.meta.url).pathname);
const DENO = Deno.execPath();
const decode = (b: Uint8Array) => new TextDecoder().decode(b);

async function deno(args: string[], opts: { cwd?: string; env?: Record<string, string> } = {}) {
  const out = await new Deno.Command(DENO, {
    args,
    cwd: opts.cwd ?? ROOT,
    env: opts.env,
    stdout: "piped",
    stderr: "piped",
  }).output();
  return { code: out.code, stdout: decode(out.stdout), stderr: decode(out.stderr) };
}

/** Runs one notebook through the course command (the real kernel) into a temp folder. */
async function runCourse(notebook: string) {
  const out = await Deno.makeTempDir({ prefix: "course-test-" });
  const res = await deno([
    "run",
    "-A",
    "src/tools/course.ts",
    "--notebook",
    notebook,
    "--out",
    out,
  ]);
  return { ...res, out };
}

for (const path of listNotebooks(join(ROOT, "notebooks"))) {
  const name = path.split("/").pop()!;
  Deno.test(`notebook ${name}: type-checks and runs at the tiny preset`, async (t) => {
    const module = await writeNotebookModule(path);
    await t.step("deno check", async () => {
      const res = await deno(["check", module]);
      assert.equal(res.code, 0, `deno check failed for ${name}:\n${res.stderr}`);
    });
    await t.step("deno run", async () => {
      const res = await deno(["run", "-A", module], {
        cwd: join(ROOT, "notebooks"),
        env: { COURSE_PRESET: "tiny", COURSE_NO_PNG: "1" },
      });
      assert.equal(res.code, 0, `${name} failed:\n${res.stderr.slice(-4000)}`);
    });
  });
}

Deno.test("the joined-module harness fails on a broken notebook", async () => {
  const module = await writeNotebookModule(join(ROOT, "tests/fixtures/broken.ipynb"));
  const res = await deno(["run", "-A", module], { cwd: join(ROOT, "tests/fixtures") });
  assert.notEqual(res.code, 0);
  assert.match(res.stderr, /deliberately broken: answer = 41/);
  assert.doesNotMatch(res.stdout, /must never run/);
});

Deno.test("runner: a failing cell fails the run and shows the cell and the error", async () => {
  const res = await runCourse("tests/fixtures/broken.ipynb");
  assert.equal(res.code, 1, `expected exit 1, got ${res.code}\n${res.stdout}\n${res.stderr}`);
  assert.match(res.stderr, /cell 2 failed/);
  assert.match(res.stderr, /throw new Error\(`deliberately broken/); // the cell's source
  assert.match(res.stderr, /deliberately broken: answer = 41/); // the error
  assert.match(res.stdout, /broken\s+[\d.]+\s+failed/); // the summary line
  const nb = JSON.parse(await Deno.readTextFile(join(res.out, "broken.ipynb")));
  const ran = nb.cells[3].outputs as unknown[];
  assert.equal(ran.length, 0, "cells after the failure must not run");
});

Deno.test("runner: keeps every output, including those published after idle", async () => {
  const res = await runCourse("tests/fixtures/outputs.ipynb");
  assert.equal(res.code, 0, res.stderr);
  const nb = JSON.parse(await Deno.readTextFile(join(res.out, "outputs.ipynb")));
  type Output = { output_type: string; data?: Record<string, string | string[]> };
  nb.cells.forEach((cell: { outputs: Output[] }, i: number) => {
    const kinds = cell.outputs.map((o) => o.output_type);
    assert.deepEqual(kinds, ["stream", "display_data", "execute_result"], `cell ${i}: ${kinds}`);
    const text = [cell.outputs[2].data?.["text/plain"] ?? ""].flat().join("");
    // deno-lint-ignore no-control-regex
    assert.equal(text.replace(/\x1b\[[0-9;]*m/g, ""), String(i * 1000 + 7));
  });
  const html = await Deno.readTextFile(join(res.out, "outputs.html"));
  assert.match(html, /7007/);
});

Deno.test("runner: a notebook for another kernel is refused with a clear reason", async () => {
  const res = await runCourse("tests/fixtures/wrong_kernel.ipynb");
  assert.notEqual(res.code, 0);
  assert.match(res.stderr, /kernelspec.name must be 'deno'; got 'python3'/);
});

Deno.test("export: math is typeset offline by KaTeX served from the output folder", async () => {
  const res = await runCourse("tests/fixtures/math.ipynb");
  assert.equal(res.code, 0, res.stderr);
  const html = await Deno.readTextFile(join(res.out, "math.html"));
  assert.doesNotMatch(html, /cdnjs|cdn\.jsdelivr|unpkg|mathjax/i, "no CDN, no MathJax");
  assert.match(html, /<script defer src="katex\/katex\.min\.js">/);
  await Deno.stat(join(res.out, "katex/katex.min.js"));
  await Deno.stat(join(res.out, "katex/fonts/KaTeX_Main-Regular.woff2"));
  // chromium loads the page offline and runs KaTeX: every formula typeset, none left as source
  const stats = mathStats(await renderedDom(join(res.out, "math.html")));
  assert.deepEqual(stats, { typeset: 4, errors: 0, raw: 0 });
  await Deno.remove(res.out, { recursive: true });
});

Deno.test("export: the chapters' own math (01-05, every markdown cell) typesets without error", async () => {
  // The markdown cells of chapters 01-05 in one notebook without code: exporting it is quick, and
  // every formula a reader of those chapters sees goes through KaTeX in chromium.
  const dir = await Deno.makeTempDir({ prefix: "chapter-math-" });
  const cells: unknown[] = [];
  for (const path of listNotebooks(join(ROOT, "notebooks"), ["01", "02", "03", "04", "05"])) {
    const nb = JSON.parse(await Deno.readTextFile(path));
    for (const c of nb.cells) if (c.cell_type === "markdown") cells.push(c);
  }
  const nb = JSON.parse(await Deno.readTextFile(join(ROOT, "tests/fixtures/math.ipynb")));
  const path = join(dir, "chapters.ipynb");
  await Deno.writeTextFile(path, JSON.stringify({ ...nb, cells }));
  const res = await runCourse(path);
  assert.equal(res.code, 0, res.stderr);
  const stats = mathStats(await renderedDom(join(res.out, "chapters.html")));
  assert.ok(stats.typeset > 50, `only ${stats.typeset} formulas typeset`);
  assert.deepEqual({ errors: stats.errors, raw: stats.raw }, { errors: 0, raw: 0 });
  await Deno.remove(res.out, { recursive: true });
  await Deno.remove(dir, { recursive: true });
});
