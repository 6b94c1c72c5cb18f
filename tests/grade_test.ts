/**
 * Grading tests: markers and learner versions; the sandboxed grader gives the reference solutions
 * full marks and learner versions zero; every adversarial submission is contained and its report
 * says why. Uses the small fixture notebook tests/fixtures/grade/reference/90_fixture.ipynb, and
 * the real notebooks 01-05 and 09 once.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import {
  cellSource,
  declaredNames,
  findExercises,
  identifiersUsed,
  learnerVersion,
  type Notebook,
  parseNotebookText,
  splitStatements,
} from "../src/grade/exercises.ts";
import { gradeFile, loadReferences, selfCheck } from "../src/grade/grade.ts";
import { writeStudentVersions } from "../src/grade/student.ts";
import {
  exercise,
  fixture,
  FIXTURES,
  gradeBatch,
  LIMITS,
  messages,
  refs,
  ROOT,
  withCellCode,
  withSolution,
} from "./grade_helpers.ts";

Deno.test("markers: exercises found, statements split, names declared", () => {
  const ex = fixture.exercises;
  assert.deepEqual(ex.map((e) => [e.id, e.title, e.points]), [
    ["90.1", "add two numbers", 2],
    ["90.2", "sum of squares", 3],
  ]);
  const stmts = splitStatements(
    'const s = `a ${"}"} b`; // c;\nfor (const x of [1]) {\n  f(x);\n}\nassert.ok(/[;}]/.test("}"));',
  );
  assert.equal(stmts.length, 3, stmts.join("\n---\n"));
  assert.deepEqual(declaredNames("const { a, b: c } = o, [d] = e;"), ["a", "c", "d"]);
  assert.deepEqual(declaredNames("async function f() {}"), ["f"]);
  assert.deepEqual(declaredNames("interface I { a: number }", { valuesOnly: true }), []);
});

Deno.test("markers: invalid notebooks are refused with every problem named", async () => {
  const text = await Deno.readTextFile(join(FIXTURES, "invalid/91_invalid.ipynb"));
  const nb = parseNotebookText(text, "91_invalid");
  assert.throws(() => findExercises(nb, "91_invalid"), (e: Error) => {
    assert.match(e.message, /exercise 91\.1 is not followed by a '\/\/ TESTS 91\.1' cell/);
    assert.match(e.message, /points must be > 0; got 0/);
    assert.match(e.message, /BEGIN SOLUTION without \/\/ END SOLUTION/);
    assert.match(e.message, /TESTS 91\.2 has no assert/);
    return true;
  });
  const out = await Deno.makeTempDir();
  await assert.rejects(() => writeStudentVersions(join(FIXTURES, "invalid"), out), /91\.1/);
  assert.throws(() => parseNotebookText("", "e"), /e is empty/);
  assert.throws(() => parseNotebookText("{", "m"), /m is not a notebook: JSON parse failed/);
  assert.throws(() => parseNotebookText('{"a": 1}', "j"), /not an nbformat 4 notebook/);
});

Deno.test("learner version: stubs, no hidden tests, no outputs", async () => {
  const out = await Deno.makeTempDir();
  const rows = await writeStudentVersions(join(FIXTURES, "reference"), out);
  assert.deepEqual(rows.map((r) => [r.id, r.checks]), [["90.1", 3], ["90.2", 4]]);
  const learner = JSON.parse(await Deno.readTextFile(join(out, "90_fixture.ipynb"))) as Notebook;
  const all = learner.cells.map(cellSource).join("\n");
  assert.match(all, /\n {2}throw new Error\("not implemented yet: add two numbers"\);\n/);
  assert.doesNotMatch(all, /return a \+ b|HIDDEN|add\(H, H\)/);
  assert.match(all, /assert\.equal\(add\(1, 2\), 3\)/);
  assert.ok(learner.cells.every((c) => c.cell_type !== "code" || c.outputs?.length === 0));
  assert.ok(learner.cells.every((c) => c.cell_type !== "code" || c.execution_count === null));
  await Deno.remove(out, { recursive: true });
});

Deno.test("grader: full marks, zero, partial credit, and every attack contained", async (t) => {
  const learner = learnerVersion(fixture.notebook);
  const outside = join(await Deno.makeTempDir(), "pwned.txt");
  const harness = new URL("../src/grade/harness.ts", import.meta.url).href;
  const tamperedTests: Notebook = withSolution("90.1", "  return -1;");
  const t1 = findExercises(tamperedTests).find((e) => e.id === "90.1")!;
  tamperedTests.cells[t1.testsIndex].source = "// TESTS 90.1\nassert.ok(true);";
  const { reports, out } = await gradeBatch({
    reference: fixture.notebook,
    learner,
    partial: withSolution("90.1", "  return Math.abs(a) + b;"),
    read_grader: withCellCode(
      "90.1",
      'Deno.readTextFileSync(new URL("./grade.ts", import.meta.url));',
    ),
    read_notebooks: withSolution(
      "90.1",
      `  return Deno.readTextFileSync(${JSON.stringify(join(ROOT, "notebooks"))}).length;`,
    ),
    read_passwd: withSolution("90.1", '  return Deno.readTextFileSync("/etc/passwd").length;'),
    fetch: withCellCode("90.1", 'await fetch("http://example.com");'),
    write_outside: withSolution(
      "90.1",
      `  Deno.writeTextFileSync(${JSON.stringify(outside)}, "x");\n  return a + b;`,
    ),
    env: withSolution("90.1", '  return Number(Deno.env.get("HOME"));'),
    subprocess: withSolution("90.1", '  new Deno.Command("id").outputSync();\n  return a + b;'),
    loop: withSolution("90.1", "  while (true) { /* forever */ }"),
    exit: withSolution("90.1", "  Deno.exit(0);\n  return a + b;"),
    assert_tamper: withSolution(
      "90.1",
      "  (assert as unknown as Record<string, unknown>).equal = () => {};\n  return -1;",
    ),
    fake_results: withCellCode(
      "90.1",
      `const { grade } = await import(${JSON.stringify(harness)});\n` +
        `await grade.exercise("90.2", async (check: (i: number, f: () => void) => Promise<void>) => {\n` +
        `  for (let i = 0; i < 4; i++) await check(i, () => {});\n});\n` +
        `console.log('@@GRADE 00 {"id":"90.1","checks":[{"index":0,"passed":true}]}');`,
    ),
    builtin_tamper: withSolution("90.1", "  Object.is = () => true;\n  return -1;"),
    edited_tests: tamperedTests,
    flood: withSolution(
      "90.2",
      '  console.log("@@GRADE fake\\n".repeat(1e5));\n  return values.reduce((s, v) => s + v * v, 0);',
    ),
    syntax_error: withSolution("90.1", "  return a + ;"),
    empty: "",
    malformed: '{"nbformat": 4, "cells": [',
    "not_a_notebook.txt": "hello, this is my homework",
    wrong_kernel: JSON.stringify({
      ...fixture.notebook,
      metadata: { kernelspec: { name: "python3" } },
    }),
  });
  const r = (name: string) => reports.get(name)!;
  const full90_2 = (name: string) => assert.equal(exercise(r(name), "90.2").points, 3, name);

  await t.step("reference scores full marks; learner version zero with the stub message", () => {
    assert.equal(r("reference").points, 5);
    assert.equal(r("reference").max, 5);
    assert.equal(r("learner").points, 0);
    assert.match(messages(r("learner"), "90.1"), /not implemented yet: add two numbers/);
  });
  await t.step("partial credit per check, with the failing check's message", () => {
    const ex = exercise(r("partial"), "90.1");
    assert.ok(Math.abs(ex.points - 4 / 3) < 1e-9, String(ex.points));
    assert.deepEqual(ex.checks.map((c) => c.passed), [true, false, true]);
    assert.deepEqual(ex.checks.map((c) => c.hidden), [false, false, true]);
    assert.equal(ex.checks[2].label, "hidden test", "hidden tests are not shown");
    assert.match(ex.checks[1].message!, /opposites cancel/);
    full90_2("partial");
  });
  await t.step(
    "reading /etc/passwd, the grader, the notebooks, fetch, writing outside, env, subprocess: denied",
    async () => {
      assert.match(messages(r("read_passwd"), "90.1"), /NotCapable|PermissionDenied/);
      assert.match(messages(r("read_passwd"), "90.1"), /read access to "\/etc\/passwd"/);
      assert.match(
        messages(r("read_grader"), "90.1"),
        /import\(\) and import\.meta are not allowed/,
      );
      assert.match(messages(r("read_notebooks"), "90.1"), /NotCapable: Requires read access/);
      assert.match(messages(r("fetch"), "90.1"), /net access/);
      assert.match(messages(r("write_outside"), "90.1"), /write access/);
      await assert.rejects(() => Deno.stat(outside), Deno.errors.NotFound);
      assert.match(messages(r("env"), "90.1"), /env access to "HOME"/);
      assert.match(messages(r("subprocess"), "90.1"), /run access/);
      for (const n of ["read_passwd", "fetch", "write_outside", "env", "subprocess"]) full90_2(n);
    },
  );
  await t.step("an infinite loop hits the time limit; the other exercise is still graded", () => {
    assert.match(
      exercise(r("loop"), "90.1").reason!,
      /time limit exceeded \(8 s\) while grading 90\.1/,
    );
    assert.equal(exercise(r("loop"), "90.1").points, 0);
    full90_2("loop");
  });
  await t.step("Deno.exit is refused", () => {
    assert.match(messages(r("exit"), "90.1"), /Deno\.exit is not allowed while grading/);
    full90_2("exit");
  });
  await t.step("tampering: learner code changes only its own process; tests kept", () => {
    assert.equal(exercise(r("assert_tamper"), "90.1").points, 0);
    const fake = r("fake_results");
    assert.match(messages(fake, "90.1"), /import\(\) and import\.meta are not allowed/);
    // 90.2 is the reference solution here: it scores by its own tests, not by what was reported
    assert.equal(exercise(fake, "90.2").points, 3);
    assert.equal(exercise(r("builtin_tamper"), "90.1").points, 0);
    assert.equal(exercise(r("edited_tests"), "90.1").points, 0);
    assert.match(r("edited_tests").files[0].notes.join("\n"), /tests of 90\.1 were edited/);
  });
  await t.step("megabytes of learner output neither hide nor push out results", () => {
    assert.equal(r("flood").points, 5);
  });
  await t.step("a syntax error fails its exercise only", () => {
    assert.match(messages(r("syntax_error"), "90.1"), /SyntaxError|Expression expected/);
    full90_2("syntax_error");
  });
  await t.step("empty, malformed, non-notebook and wrong-kernel files are rejected", () => {
    const reason = (n: string) => r(n).files[0].reason ?? "";
    assert.match(reason("empty"), /is empty/);
    assert.match(reason("malformed"), /not a notebook: JSON parse failed/);
    assert.match(reason("not_a_notebook"), /not a notebook/);
    assert.match(
      reason("wrong_kernel"),
      /wrong kernel: kernelspec\.name must be 'deno'; got 'python3'/,
    );
    for (const n of ["empty", "malformed", "not_a_notebook", "wrong_kernel"]) {
      assert.equal(r(n).points, 0);
    }
  });
  await t.step("reports and the gradebook are written for the whole class", async () => {
    const csv = await Deno.readTextFile(join(out, "gradebook.csv"));
    const lines = csv.trim().split("\n");
    assert.equal(lines.length, reports.size + 1);
    for (const name of reports.keys()) assert.ok(lines.some((l) => l.startsWith(`${name},`)), name);
    assert.match(csv, /^learner,90\.1,90\.2,points,max,notes/);
    assert.match(await Deno.readTextFile(join(out, "gradebook.html")), /<table/);
    const json = JSON.parse(await Deno.readTextFile(join(out, "partial.json")));
    assert.equal(json.files[0].exercises[0].checks[1].passed, false);
  });
  await Deno.remove(join(out, ".."), { recursive: true });
});

Deno.test("grader: a huge allocation hits the memory limit; the other exercise is graded", async () => {
  // its own batch: a lower limit, reached in a few seconds even on a busy machine
  const { reports, out } = await gradeBatch(
    {
      huge: withSolution("90.1", "  return new Float64Array(4e8).fill(1).length;"),
      huge_heap: withSolution(
        "90.1",
        "  const keep: number[][] = [];\n  while (true) keep.push(new Array(1e6).fill(1.5));",
      ),
    },
    refs,
    { timeoutMs: 30_000, memoryMb: 384 },
  );
  for (const name of ["huge", "huge_heap"]) {
    const r = reports.get(name)!;
    assert.match(exercise(r, "90.1").reason!, /memory limit exceeded \(384 MiB/, name);
    assert.equal(exercise(r, "90.2").points, 3, name);
  }
  await Deno.remove(join(out, ".."), { recursive: true });
});

Deno.test("grader: a learner cell using tfjs (wasm backend) runs in the learner's process", async () => {
  // its own batch with a roomy time limit: loading tfjs is slow on a busy machine
  const { reports, out } = await gradeBatch(
    {
      tfjs_solution: withCellCode(
        "90.1",
        'import * as tf from "@tensorflow/tfjs";\nimport "@tensorflow/tfjs-backend-wasm";\n' +
          'await tf.setBackend("wasm");\n' +
          'if (tf.getBackend() !== "wasm") throw new Error(`backend ${tf.getBackend()}`);\n' +
          "add = (a: number, b: number) => tf.add(a, b).arraySync() as number;",
      ),
    },
    refs,
    { timeoutMs: 60_000, memoryMb: 1536 },
  );
  const r = reports.get("tfjs_solution")!;
  assert.equal(r.points, 5, messages(r, "90.1"));
  await Deno.remove(join(out, ".."), { recursive: true });
});

Deno.test("real notebooks 01-05 and 09 (05 passes callbacks): reference solutions score full marks, learner versions zero", async () => {
  const all = loadReferences(join(ROOT, "notebooks"));
  const course = all.filter((r) => /^(0[1-5]|09)_/.test(r.name));
  if (course.length === 0) return; // the notebooks are not there yet
  const subs: Record<string, Notebook> = {};
  for (const ref of course) {
    subs[`ref_${ref.name}`] = ref.notebook;
    subs[`learner_${ref.name}`] = learnerVersion(ref.notebook, ref.name);
  }
  const { reports, out } = await gradeBatch(subs, all, { timeoutMs: 60_000, memoryMb: 1536 });
  for (const ref of course) {
    const full = reports.get(`ref_${ref.name}`)!;
    const failed = full.files[0].exercises.flatMap((e) =>
      e.checks.filter((c) => !c.passed).map((c) => `${e.id}: ${c.label}: ${c.message}`)
    );
    assert.deepEqual(failed, [], ref.name);
    assert.equal(full.points, full.max);
    assert.ok(full.max > 0);
    const zero = reports.get(`learner_${ref.name}`)!;
    assert.equal(zero.points, 0, ref.name);
    for (const e of zero.files[0].exercises) {
      assert.ok(e.checks.every((c) => /not implemented yet/.test(c.message ?? "")), e.id);
    }
  }
  await Deno.remove(join(out, ".."), { recursive: true });
});

Deno.test("grader: a submission that matches no notebook is rejected with the reason", async () => {
  const nb: Notebook = { ...fixture.notebook, cells: [] };
  const dir = await Deno.makeTempDir();
  await Deno.writeTextFile(join(dir, "x.ipynb"), JSON.stringify(nb));
  const rep = await gradeFile(join(dir, "x.ipynb"), refs, LIMITS);
  assert.equal(rep.status, "rejected");
  assert.match(rep.reason!, /no exercise of the course found/);
  await Deno.remove(dir, { recursive: true });
});

Deno.test("grader self-check: the fixture's reference solutions score full marks", async () => {
  assert.deepEqual(await selfCheck(refs, LIMITS), []);
});

Deno.test("identifiersUsed: a spread or rest name is a use; a property after one dot is not", () => {
  const used = identifiersUsed("const s = Math.max(...longValues) + obj.prop + f(...[a]);");
  for (const n of ["longValues", "Math", "obj", "f", "a"]) assert.ok(used.has(n), n);
  for (const n of ["max", "prop"]) assert.ok(!used.has(n), n);
});
