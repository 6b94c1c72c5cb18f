import assert from "node:assert/strict";
import { labArgs } from "../src/tools/lab.ts";

Deno.test("lab: --allow-root as root only, --dir picks the folder, the rest goes to Jupyter", () => {
  assert.deepEqual(labArgs("/c", ["--port", "8890"], 0), [
    "-m",
    "notebook",
    "--notebook-dir=/c/notebooks",
    "--allow-root",
    "--port",
    "8890",
  ]);
  assert.ok(!labArgs("/c", [], 1000).includes("--allow-root"));
  assert.deepEqual(
    labArgs("/c", ["--allow-root"], 0).filter((a) => a === "--allow-root").length,
    1,
  );
  assert.equal(
    labArgs("/c", ["--dir", "build/student"], 1000)[2],
    "--notebook-dir=/c/build/student",
  );
  assert.throws(() => labArgs("/c", ["--dir"], 0), /--dir needs a folder/);
});
