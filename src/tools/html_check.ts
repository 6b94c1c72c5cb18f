/**
 * Looks at an exported notebook page the way a reader's browser does: headless chromium loads the
 * HTML (with its local KaTeX), runs its scripts, and returns the resulting DOM or a screenshot.
 * The tests use it to check that math is typeset offline; `deno run -A src/tools/html_check.ts
 * build/02_rope_scaling.html shot.png` writes a screenshot to look at.
 *
 * @example
 * ```ts
 * const dom = await renderedDom("build/01_rope.html");
 * const stats = mathStats(dom); // { typeset: 42, raw: 0, errors: 0 }
 * ```
 * @module
 */
import { resolve } from "node:path";
import { findChromium, headlessArgs } from "../viz/png.ts";

async function chromium(args: string[], height = 1400): Promise<Deno.CommandOutput> {
  const exe = findChromium();
  if (!exe) throw new Error("chromium not found (install Debian's `chromium`, or set CHROMIUM)");
  const profile = await Deno.makeTempDir({ prefix: "course-html-" });
  try {
    return await new Deno.Command(exe, {
      args: [...headlessArgs(profile, { width: 1100, height }), ...args],
      stdout: "piped",
      stderr: "piped",
    }).output();
  } finally {
    await Deno.remove(profile, { recursive: true }).catch(() => {});
  }
}

/** The DOM of `htmlPath` after its scripts ran (chromium `--dump-dom`), as HTML text. */
export async function renderedDom(htmlPath: string): Promise<string> {
  const url = `file://${resolve(htmlPath)}`;
  const res = await chromium(["--dump-dom", url]);
  const dom = new TextDecoder().decode(res.stdout);
  if (!dom.includes("<html")) throw new Error(`chromium could not load ${url} (exit ${res.code})`);
  return dom;
}

/** Writes a PNG screenshot of the top of `htmlPath` (1100 x `height` pixels) to `pngPath`. */
export async function screenshotHtml(htmlPath: string, pngPath: string, height = 900) {
  if (!(height >= 200 && height <= 20000)) {
    throw new RangeError(`height must be in [200, 20000] pixels; got ${height}`);
  }
  const res = await chromium(
    [`--screenshot=${resolve(pngPath)}`, `file://${resolve(htmlPath)}`],
    height,
  );
  await Deno.stat(pngPath).catch(() => {
    throw new Error(`chromium wrote no screenshot (exit ${res.code})`);
  });
}

/** What a rendered DOM shows of its math. */
export interface MathStats {
  /** Formulas KaTeX typeset (`<span class="katex">`). */
  typeset: number;
  /** KaTeX error spans (a formula it could not parse). */
  errors: number;
  /** `$` signs left in visible text outside code: math that was not typeset. */
  raw: number;
}

/** Counts typeset formulas, KaTeX errors and leftover `$` in the visible text of `dom`. */
export function mathStats(dom: string): MathStats {
  const typeset = (dom.match(/<span class="katex">/g) ?? []).length;
  const errors = (dom.match(/class="katex-error"/g) ?? []).length;
  const text = dom
    .replace(/<(script|style|pre|code|annotation)\b[\s\S]*?<\/\1>/g, "")
    .replace(/<[^>]+>/g, "");
  const raw = (text.match(/\$/g) ?? []).length;
  return { typeset, errors, raw };
}

if (import.meta.main) {
  const [html, png] = Deno.args;
  if (!html) throw new Error("usage: html_check.ts PAGE.html [SHOT.png]");
  console.log(mathStats(await renderedDom(html)));
  if (png) await screenshotHtml(html, png);
}
