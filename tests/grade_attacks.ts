/**
 * The attack notebooks of issue #17, built from the grading fixture: the learner version with
 * exercise 90.1's cell replaced by attack code and 90.2 solved honestly, so an attack that is
 * contained scores exactly 3 of 5 (what the honest stub plus the honest 90.2 score). Shared by
 * tests/grade_attacks_test.ts and by anyone who wants to replay them against another grader.
 * @module
 */
import { learnerVersion, type Notebook } from "../src/grade/exercises.ts";
import { fixture } from "./grade_helpers.ts";

export const STUB = learnerVersion(fixture.notebook);
export const SOLVED_90_2 = "function sumOfSquares(values: number[]): number {\n" +
  "  return values.reduce((s, v) => s + square(v), 0);\n}";

/** The learner version with 90.1's cell replaced by `code` and 90.2 solved honestly. */
export function attack(code: string): Notebook {
  const nb: Notebook = structuredClone(STUB);
  const cells = nb.cells.map((c) => Array.isArray(c.source) ? c.source.join("") : c.source);
  const i1 = cells.findIndex((s) => s.startsWith("// EXERCISE 90.1"));
  const i2 = cells.findIndex((s) => s.startsWith("// EXERCISE 90.2"));
  nb.cells[i1].source = `// EXERCISE 90.1: add two numbers (2 points)\n${code}\n`;
  nb.cells[i2].source = `// EXERCISE 90.2: sum of squares (3 points)\n${SOLVED_90_2}\n`;
  return nb;
}

export const STUB_ADD =
  'function add(a: number, b: number): number {\n  throw new Error("stub");\n}';
// a forged result for every exercise, with a guessed nonce and none
export const FORGED = ["", "0".repeat(32)].map((n) =>
  `console.log(${
    JSON.stringify(`\n@@GRADE ${n} {"id":"90.1","checks":[{"index":0,"passed":true}]}`)
  });`
).join("\n");

export const ATTACKS: Record<string, string> = {
  // 1. a learner-defined Object.prototype.toJSON rewriting every check to passed
  a1_tojson: `${STUB_ADD}
Object.defineProperty(Object.prototype, "toJSON", {
  configurable: true,
  value: function (this: any) {
    if (Array.isArray(this)) return Array.from(this);
    const o: any = Object.assign({}, this);
    if (Array.isArray(o.checks)) {
      o.checks = o.checks.map((c: any) => Object.assign({}, c, { passed: true, message: undefined }));
    }
    if ("tampering" in o) o.tampering = [];
    delete o.reason;
    return o;
  },
});
${FORGED}`,
  // 2. the reference solution handed over through the context
  a2_reference: "void add;",
  a2_reference_later: "function add(a: number, b: number) { return sumOfSquares([a]) + b * 0; }",
  // 3. the nonce from a heap snapshot, then forged lines
  a3_heap: `import v8 from "node:v8";
${STUB_ADD}
let heap = "";
try {
  const lib = typeof v8 !== "undefined" ? v8 : (process as any).getBuiltinModule("node:v8");
  for await (const chunk of lib.getHeapSnapshot()) heap += chunk;
} catch (e) {
  console.error("no heap snapshot:", String(e));
}
// forged lines for every candidate nonce, and for guesses when there is no snapshot
const guesses = [...(heap.match(/\\b[0-9a-f]{32}\\b/g) ?? []), "", "0".repeat(32)];
for (const nonce of new Set(guesses)) {
  for (const [id, n] of [["90.1", 3], ["90.2", 4]] as [string, number][]) {
    const checks = Array.from({ length: n }, (_, index) => ({ index, passed: true }));
    console.log(\`\\n@@GRADE \${nonce} \${JSON.stringify({ id, checks })}\`);
  }
}
setTimeout(() => { throw new Error("gone before the real results"); }, 0);
await new Promise((r) => setTimeout(r, 200));`,
  // 4. the tests' realm: a self-restoring Promise.then, Array index setters, replaced globals
  a4_realm: `${STUB_ADD}
const then = Promise.prototype.then;
Promise.prototype.then = function (ok: any, bad: any) {
  Promise.prototype.then = then;
  return then.call(this, ok, () => ok?.());
};
for (let i = 0; i < 8; i++) {
  Object.defineProperty(Array.prototype, i, { set() {}, get() { return { passed: true }; } });
}
(globalThis as any).Math = { ...Math, abs: () => 0 };
(globalThis as any).JSON = { parse: () => ({}), stringify: () => "{}" };
(globalThis as any).Object = function () {};
(globalThis as any).Number = { isInteger: () => true };`,
  // 5. reads past --allow-read through import()
  a5_import_grader: `${STUB_ADD}
const g = await import(new URL("../checker/grade.ts", import.meta.url).href);
console.log(g);`,
  a5_import_passwd: `${STUB_ADD}\nawait import("/etc/passwd");`,
  a5_import_static:
    `import data from "../tests/fixtures/grade/reference/90_fixture.ipynb" with { type: "json" };
import secret from "/etc/passwd";
function add(a: number, b: number): number { return (data as any).x + (secret as any); }`,
  a5_eval_import: `${STUB_ADD}\nawait eval("import('/etc/passwd')");`,
  a5_worker: `${STUB_ADD}\nnew Worker("data:text/javascript,1", { type: "module" });`,
  // a regex/division ambiguity closing the wrapper function early, to smuggle a top-level import
  a5_wrapper_escape: `${STUB_ADD}
const q = {}/ 1 }; import v8 from "node:v8"; v8.getHeapSnapshot(); export async function __y() { 1 /1//`,
};
