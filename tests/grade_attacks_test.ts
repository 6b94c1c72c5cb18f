/**
 * The attacks of issue #17 as learner notebooks: each must score exactly what an honest stub
 * scores (the fixture's learner version: 0 for a stubbed exercise; 3 for 90.2 where the attack
 * notebook solves it honestly), or be rejected with a clear reason. Plus the parts: the data-only
 * wire, linear-time parsing, unique ids, CSV escaping and the jail's view of the machine.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { declaredNames, type Notebook, splitStatements } from "../src/grade/exercises.ts";
import { collectLearners, gradeAll, gradeFile, uniqueIds } from "../src/grade/grade.ts";
import { bwrapArgs, jailStatus } from "../src/grade/jail.ts";
import { COURSE_ROOT } from "../src/grade/module.ts";
import { csvCell, printable } from "../src/grade/text.ts";
import { fromWire, toWire } from "../src/grade/wire.ts";
import { attack, ATTACKS, STUB, STUB_ADD } from "./grade_attacks.ts";
import { exercise, gradeBatch, LIMITS, messages, refs } from "./grade_helpers.ts";

Deno.test("attacks of issue #17: each scores what an honest stub scores", async (t) => {
  const subs: Record<string, Notebook> = { stub: STUB };
  for (const [name, code] of Object.entries(ATTACKS)) subs[name] = attack(code);
  subs.a9_never_resolves = attack(`${STUB_ADD}\nawait new Promise(() => {});`);
  subs.a9_never_settles = attack(
    "function add(a: number, b: number) { return new Promise(() => {}); }",
  );
  subs.a9_crash_stderr = attack(
    `${STUB_ADD}\nconsole.error("IGNORE THE GRADER\\n@@GRADE forged " + "x".repeat(5000));\n` +
      `setTimeout(() => { throw new Error("boom"); }, 0);\nawait new Promise((r) => setTimeout(r, 500));`,
  );
  subs.a8_disk = attack(
    `${STUB_ADD}\nconst mb = new Uint8Array(1 << 20);\n` +
      `for (let i = 0; i < 256; i++) Deno.writeFileSync(\`big\${i}.bin\`, mb);`,
  );
  const { reports } = await gradeBatch(subs, refs, {
    ...LIMITS,
    timeoutMs: 15_000,
    loadMs: 2_000,
    diskMb: 32,
  });
  const r = (n: string) => reports.get(n)!;
  assert.equal(r("stub").points, 0);

  await t.step("1-5: zero for the stubbed exercise, full marks for the honest one", () => {
    for (const name of Object.keys(ATTACKS)) {
      assert.equal(exercise(r(name), "90.1").points, 0, `${name}: ${messages(r(name), "90.1")}`);
      assert.equal(exercise(r(name), "90.2").points, 3, `${name}: ${messages(r(name), "90.2")}`);
    }
  });
  await t.step("1, 3: forged result lines are never read; the crash after them costs 90.1", () => {
    assert.match(exercise(r("a3_heap"), "90.1").reason!, /the learner's process ended/);
    assert.match(exercise(r("a3_heap"), "90.1").reason!, /no heap snapshot/);
  });
  await t.step("2: a reference solution is never handed to learner code", () => {
    assert.match(messages(r("a2_reference"), "90.1"), /add is not defined/);
    assert.match(messages(r("a2_reference_later"), "90.1"), /sumOfSquares is not defined/);
  });
  await t.step("5: import() is refused before anything loads; static imports dropped", () => {
    for (const n of ["a5_import_grader", "a5_import_passwd"]) {
      assert.match(messages(r(n), "90.1"), /import\(\) and import\.meta are not allowed/);
      assert.doesNotMatch(messages(r(n), "90.1"), /root:|__grade|HIDDEN/);
    }
    const notes = r("a5_import_static").files[0].notes.join("\n");
    assert.match(notes, /import of "\.\.\/tests\/fixtures.*dropped \(it is outside src\/\)/);
    assert.match(notes, /import of "\/etc\/passwd" dropped/);
    assert.match(messages(r("a5_eval_import"), "90.1"), /Code generation from strings disallowed/);
    assert.match(messages(r("a5_worker"), "90.1"), /Worker is not defined/);
    assert.match(messages(r("a5_wrapper_escape"), "90.1"), /brackets close the grader's wrapper/);
  });
  await t.step("8: a disk flood fails its exercise; the batch goes on", () => {
    assert.match(messages(r("a8_disk"), "90.1"), /No space left|disk limit exceeded/);
    assert.equal(exercise(r("a8_disk"), "90.2").points, 3);
  });
  await t.step("9: a never-resolving await costs its exercise only", () => {
    assert.match(messages(r("a9_never_resolves"), "90.1"), /did not finish within 2 s/);
    assert.equal(exercise(r("a9_never_resolves"), "90.2").points, 3);
    assert.match(
      messages(r("a9_never_settles"), "90.1"),
      /add returned a promise that did not settle/,
    );
    assert.equal(exercise(r("a9_never_settles"), "90.2").points, 3);
  });
  await t.step("9: learner stderr reaches the report quoted and cut", () => {
    const reason = exercise(r("a9_crash_stderr"), "90.1").reason ?? "";
    assert.match(reason, /the learner's process ended .* its last error output: "/);
    assert.ok(reason.length < 700, `${reason.length} characters`);
    assert.doesNotMatch(reason, /\n/);
    assert.equal(exercise(r("a9_crash_stderr"), "90.2").points, 3);
  });
});

Deno.test("6: no network: imports and fetch never reach a server on 127.0.0.1", async () => {
  let hits = 0;
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, () => {
    hits++;
    return new Response("export default 1;", { headers: { "content-type": "text/javascript" } });
  });
  const url = `http://127.0.0.1:${server.addr.port}`;
  const subs = {
    static_import: attack(`import x from "${url}/a.js";\n${STUB_ADD}\nvoid x;`),
    npm_import: attack(`import pad from "npm:left-pad@1.3.0";\n${STUB_ADD}\nvoid pad;`),
    jsr_import: attack(`import * as std from "jsr:@std/path";\n${STUB_ADD}\nvoid std;`),
    esm_import: attack(`${STUB_ADD}\nawait import("https://esm.sh/left-pad");`),
    built_import: attack(`${STUB_ADD}\nawait import(["${url}", "/b.js"].join(""));`),
    eval_import: attack(`${STUB_ADD}\nawait eval("import('${url}/c.js')");`),
    fetch: attack(`${STUB_ADD}\nawait fetch("${url}/d");`),
  };
  const { reports } = await gradeBatch(subs, refs, LIMITS);
  await server.shutdown();
  assert.equal(hits, 0, "the server saw a request");
  for (const [name, rep] of reports) assert.equal(rep.points, 3, name);
  // refused before any fetch: dropped from the module, refused by the parser check, no eval
  const note = (n: string) => reports.get(n)!.files[0].notes.join("\n");
  const why = (n: string) => messages(reports.get(n)!, "90.1");
  assert.match(note("static_import"), /import of "http:\/\/127\.0\.0\.1.*dropped/);
  assert.match(note("npm_import"), /npm:left-pad.*dropped/);
  assert.match(note("jsr_import"), /jsr:@std\/path.*dropped/);
  for (const n of ["esm_import", "built_import"]) assert.match(why(n), /import\(\) .*not allowed/);
  assert.match(why("eval_import"), /Code generation from strings disallowed/);
  assert.match(why("fetch"), /NotCapable|net access|os error/);
});

Deno.test("7: parsing is linear; oversized cells and notebooks are rejected fast", async () => {
  // doubling the input must not quadruple the time (best of 3, so a busy machine does not decide)
  const unit: Record<string, string> = {
    blocks: "{}/**/",
    divisions: "a/",
    regexes: "(/",
    objects: "a={}+",
    closers: "if(a){}\n",
    comments: "/**/ a /",
  };
  // A growth check, not a speed claim: only the ratio between two sizes is asserted.
  const best = (src: string, f: (s: string) => void = (s) => void splitStatements(s)) =>
    Math.min(...[0, 1, 2].map(() => {
      const t0 = performance.now();
      f(src);
      return performance.now() - t0;
    }));
  for (const [name, u] of Object.entries(unit)) {
    const n = Math.floor(16_000 / u.length);
    const one = best(u.repeat(n));
    const two = best(u.repeat(2 * n));
    assert.ok(
      two < 3 * one + 20,
      `${name}: ${one.toFixed(0)} ms, twice as long ${two.toFixed(0)} ms`,
    );
  }
  const pattern = (n: number) => `const {${"a".repeat(n)}} = x;`;
  const names = (src: string) => splitStatements(src).forEach((st) => declaredNames(st));
  const [p1, p2] = [best(pattern(30_000), names), best(pattern(60_000), names)];
  assert.ok(
    p2 < 3 * p1 + 20,
    `a destructuring pattern: ${p1.toFixed(0)} ms, twice ${p2.toFixed(0)} ms`,
  );
  const dir = await Deno.makeTempDir();
  const big = attack(`${STUB_ADD}\n${"{}/**/".repeat(60_000)}`);
  await Deno.writeTextFile(join(dir, "big.ipynb"), JSON.stringify(big));
  // Rejected by the size check (the reason says so) before any parsing or running.
  const rep = await gradeFile(join(dir, "big.ipynb"), refs, LIMITS);
  assert.equal(rep.status, "rejected");
  assert.match(rep.reason!, /code cell \d+ has 360\d+ characters; a cell may have at most 65536/);
  await Deno.remove(dir, { recursive: true });
});

Deno.test("9: learner ids are unique; CSV cells cannot become formulas", async () => {
  assert.deepEqual(uniqueIds(["a b", "a_b", "Alice", "alice", ".."]), [
    "a_b",
    "a_b-2",
    "Alice",
    "alice-2",
    "_..",
  ]);
  const dir = await Deno.makeTempDir();
  await Deno.mkdir(join(dir, "alice"));
  await Deno.writeTextFile(join(dir, "alice", "x.ipynb"), "{}");
  await Deno.writeTextFile(join(dir, "alice.txt"), "{}");
  await Deno.writeTextFile(join(dir, "=1+2.ipynb"), "{}");
  await Deno.symlink("/etc/passwd", join(dir, "link.ipynb"));
  const learners = collectLearners([dir]);
  assert.equal(learners.size, 4);
  assert.deepEqual([...learners.keys()].sort(), ["_1_2", "alice", "alice-2", "link"]);
  const link = await gradeFile(learners.get("link")![0], refs, LIMITS);
  assert.match(link.reason!, /symbolic link/);
  const notJson = await gradeFile(join(dir, "alice.txt"), refs, LIMITS);
  await Deno.writeTextFile(join(dir, "secret.ipynb"), "root:x:0:0:root:/root:/bin/bash");
  const secret = await gradeFile(join(dir, "secret.ipynb"), refs, LIMITS);
  assert.match(secret.reason!, /JSON parse failed/);
  assert.doesNotMatch(secret.reason! + notJson.reason, /root:x/, "no file content in a reason");
  assert.equal(csvCell("=1+2"), "'=1+2");
  assert.equal(csvCell("@SUM(A1)"), "'@SUM(A1)");
  assert.equal(csvCell('a,"b"'), '"a,""b"""');
  assert.equal(csvCell(-1.5), "-1.5");
  assert.equal(printable("a\u001b[31mb\nc"), "a\\u001b[31mb\\u000ac");
  const { out } = await gradeBatch({ "=cmd|calc": STUB }, refs, LIMITS);
  const csv = await Deno.readTextFile(join(out, "gradebook.csv"));
  assert.match(csv, /\n'=cmd\|calc,0,0,0,5,/);
  await Deno.remove(dir, { recursive: true });
});

Deno.test("wire: data only; a __proto__ key is a plain property; no functions back", () => {
  const v = fromWire(JSON.parse('{"$":"obj","v":[["__proto__",{"$":"obj","v":[["x",1]]}]]}'));
  assert.equal(({} as Record<string, unknown>).x, undefined);
  assert.equal(Object.getPrototypeOf(v), Object.prototype);
  const back = fromWire(toWire([NaN, -0, Infinity, new Float32Array([1.5]), undefined, 2n]));
  assert.deepEqual(back, [NaN, -0, Infinity, new Float32Array([1.5]), undefined, 2n]);
  assert.throws(() => toWire(() => 1), /a function cannot be sent back/);
  assert.throws(() => fromWire({ $: "fn", id: 1 }), /malformed value/);
});

Deno.test("jail: the learner's process sees no notebooks, tests, network or /etc", async (t) => {
  // skipped only when bwrap truly cannot run here, not because GRADE_JAIL=off is set
  const off = Deno.env.get("GRADE_JAIL");
  Deno.env.delete("GRADE_JAIL");
  const jail = await jailStatus();
  if (off !== undefined) Deno.env.set("GRADE_JAIL", off);
  if (!jail.available) {
    console.log(`skipped: the OS jail cannot run here (${jail.reason})`);
    return;
  }
  const dir = await Deno.makeTempDir();
  const args = bwrapArgs({
    courseReadOnly: ["src", "node_modules", "deno.json", "deno.lock", "datasets", "assets"].map((
      p,
    ) => join(COURSE_ROOT, p)),
    learnerDir: dir,
    pipes: [],
    diskBytes: 4 << 20,
    env: { PATH: "/usr/bin:/bin" },
  });
  const script = `ls ${COURSE_ROOT}; ls /etc 2>&1 | head -1; cat /proc/net/dev | tail -n +3; ` +
    `head -c 8388608 /dev/zero > /grade/work/f 2>&1 || echo full; touch ${COURSE_ROOT}/src/x 2>&1; ` +
    `for f in /x /dev/x /dev/shm/x /grade/x; do touch $f 2>/dev/null && echo "wrote $f"; done`;
  const out = await new Deno.Command("bwrap", { args: [...args, "/bin/sh", "-c", script] })
    .output();
  const text = new TextDecoder().decode(out.stdout) + new TextDecoder().decode(out.stderr);
  await t.step("only the course files learner code needs", () => {
    assert.deepEqual(text.split("\n").slice(0, 6), [
      "assets",
      "datasets",
      "deno.json",
      "deno.lock",
      "node_modules",
      "src",
    ]);
    assert.doesNotMatch(text, /notebooks|tests|build|\.nbtest/);
  });
  await t.step("no /etc, only the loopback device, a full disk, a read-only course", () => {
    assert.match(text, /No such file or directory/);
    assert.doesNotMatch(text, /eth0|ens/);
    assert.match(text, /full/);
    assert.match(text, /Read-only file system/);
    assert.doesNotMatch(text, /wrote/, "the jail's root, /dev and /grade are read-only");
  });
  await Deno.remove(dir, { recursive: true });
});

Deno.test("fallback without the jail: Deno's sandbox, a disk poll, and a warning", async () => {
  Deno.env.set("GRADE_JAIL", "off");
  try {
    const { reports } = await gradeBatch(
      {
        disk: attack(
          `${STUB_ADD}\nconst mb = new Uint8Array(1 << 20);\n` +
            `for (let i = 0; i < 400; i++) { Deno.writeFileSync(\`b\${i}\`, mb); ` +
            `await new Promise((r) => setTimeout(r, 5)); }`,
        ),
        passwd: attack(`${STUB_ADD}\nDeno.readTextFileSync("/etc/passwd");`),
      },
      refs,
      { ...LIMITS, diskMb: 16 },
    );
    const disk = reports.get("disk")!;
    assert.match(disk.files[0].notes.join("\n"), /graded without the OS jail \(GRADE_JAIL=off\)/);
    assert.equal(disk.files[0].sandbox, "deno permissions only");
    assert.match(messages(disk, "90.1"), /disk limit exceeded \(16 MiB written\)/);
    assert.equal(disk.points, 3);
    assert.match(messages(reports.get("passwd")!, "90.1"), /NotCapable/);
  } finally {
    Deno.env.delete("GRADE_JAIL");
  }
});

Deno.test("8: a temp folder the grader cannot use fails its learners with a reason; the batch ends", async () => {
  const dir = await Deno.makeTempDir();
  await Deno.writeTextFile(join(dir, "a.ipynb"), JSON.stringify(STUB));
  const before = Deno.env.get("TMPDIR");
  Deno.env.set("TMPDIR", join(dir, "missing"));
  try {
    const reports = await gradeAll(new Map([["a", [join(dir, "a.ipynb")]]]), refs, {
      ...LIMITS,
      out: join(dir, "out"),
    });
    assert.match(reports[0].files[0].reason!, /grader error: .*NotFound|No such file/);
  } finally {
    if (before === undefined) Deno.env.delete("TMPDIR");
    else Deno.env.set("TMPDIR", before);
  }
  assert.match(await Deno.readTextFile(join(dir, "out", "gradebook.csv")), /\na,/);
  await Deno.remove(dir, { recursive: true });
});
