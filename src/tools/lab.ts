/**
 * `deno task lab`: opens the notebooks interactively in a Jupyter server with the Deno kernel
 * (registered by setup). Extra arguments go to Jupyter, e.g. `deno task lab --port 8890`.
 * @module
 */
import { join, resolve } from "node:path";
import { PYTHON } from "./setup.ts";

const root = resolve(new URL("../..", import.meta.url).pathname);
const child = new Deno.Command(PYTHON, {
  args: ["-m", "notebook", `--notebook-dir=${join(root, "notebooks")}`, ...Deno.args],
  stdin: "inherit",
  stdout: "inherit",
  stderr: "inherit",
}).spawn();
Deno.exit((await child.status).code);
