// Command-line parsing: the shared flag parsers (src/util/cli.ts) and the commands' parse
// functions, with the errors that name the flag and its range.
import assert from "node:assert/strict";
import {
  choiceFlag,
  listFlag,
  numberFlag,
  optionalNumber,
  splitOwnFlags,
} from "../src/util/cli.ts";
import { parseCourseArgs } from "../src/tools/course.ts";
import { parseBaseReportArgs } from "../src/eval/base_report.ts";

Deno.test("numberFlag: numbers within limits; everything else names the flag and the range", () => {
  assert.equal(numberFlag("steps", "128", { min: 1, integer: true }), 128);
  assert.equal(numberFlag("lr", "3e-4", { min: 0 }), 3e-4);
  assert.equal(numberFlag("threshold", "1", { min: 0, max: 1 }), 1);
  assert.equal(numberFlag("timeout", "0.5", { greaterThan: 0 }), 0.5);
  const bad: [string, string, Parameters<typeof numberFlag>[2], RegExp][] = [
    ["steps", "", { min: 1 }, /--steps must be a number >= 1; got ""/],
    ["steps", " ", {}, /--steps must be a number; got " "/],
    ["steps", "12abc", {}, /--steps must be a number; got "12abc"/],
    ["steps", "1.5", { min: 1, integer: true }, /--steps must be an integer >= 1; got "1.5"/],
    ["steps", "0", { min: 1, integer: true }, /--steps must be an integer >= 1; got "0"/],
    ["threshold", "1.01", { min: 0, max: 1 }, /--threshold must be a number >= 0 <= 1/],
    ["timeout", "0", { greaterThan: 0 }, /--timeout must be a number > 0; got "0"/],
    ["lr", "Infinity", {}, /--lr must be a number; got "Infinity"/],
    ["lr", "NaN", {}, /--lr must be a number/],
  ];
  for (const [name, value, limits, message] of bad) {
    assert.throws(() => numberFlag(name, value, limits), (e: Error) => {
      assert.ok(e instanceof RangeError, `${name}=${value}: ${e}`);
      assert.match(e.message, message);
      return true;
    });
  }
});

Deno.test("optionalNumber, listFlag and choiceFlag", () => {
  assert.equal(optionalNumber("batch", undefined, 8, { min: 1 }), 8);
  assert.equal(optionalNumber("batch", "4", 8, { min: 1 }), 4);
  assert.throws(() => optionalNumber("batch", "0", 8, { min: 1 }), /--batch must be a number >= 1/);
  const seeds = (s: string) =>
    listFlag("seeds", s, (x) => numberFlag("seeds", x, { integer: true }));
  assert.deepEqual(seeds("0, 1,2"), [0, 1, 2]);
  assert.throws(() => seeds("0,,2"), /--seeds must be a comma-separated list without empty items/);
  assert.throws(() => seeds("0,x"), /--seeds must be an integer; got "x"/);
  assert.equal(choiceFlag("preset", "tiny", ["tiny", "course"] as const), "tiny");
  assert.throws(
    () => choiceFlag("preset", "huge", ["tiny", "course"] as const),
    /--preset must be one of tiny, course; got "huge"/,
  );
});

Deno.test("course command line: defaults, --only prefixes, --timeout checked", () => {
  const d = parseCourseArgs([]);
  assert.deepEqual([d.only, d.notebooks, d.timeout, d.inplace, d.preset], [
    [],
    [],
    900,
    false,
    undefined,
  ]);
  assert.ok(d.out.endsWith("build"));
  const a = parseCourseArgs(["--only", "01_rope, 02", "--timeout", "60", "--inplace"]);
  assert.deepEqual([a.only, a.timeout, a.inplace], [["01_rope", "02"], 60, true]);
  assert.ok(parseCourseArgs(["--notebook", "x.ipynb"]).notebooks[0].endsWith("/x.ipynb"));
  assert.throws(() => parseCourseArgs(["--timeout", "0"]), /--timeout must be a number > 0/);
  assert.throws(() => parseCourseArgs(["--timeout", "soon"]), /--timeout must be a number > 0/);
  assert.throws(() => parseCourseArgs(["--bogus"]), /Unknown option '--bogus'/);
});

Deno.test("base report command line: counts are integers >= 1, wordings a known set", () => {
  const d = parseBaseReportArgs([]);
  assert.deepEqual(
    [d.perOffset, d.longPerOffset, d.windows, d.longWindows, d.wordings, d.out],
    [20, 10, 64, 32, "training", "assets/checkpoints/course"],
  );
  assert.throws(() => parseBaseReportArgs(["--long-windows", "0"]), /--long-windows must be/);
  const a = parseBaseReportArgs(["--checkpoint", "x/m.safetensors", "--windows", "8"]);
  assert.deepEqual([a.out, a.windows], ["x", 8]);
  assert.equal(parseBaseReportArgs(["--out", "o"]).out, "o");
  assert.throws(() => parseBaseReportArgs(["--windows", "0"]), /--windows must be an integer >= 1/);
  assert.throws(
    () => parseBaseReportArgs(["--per-offset", "2.5"]),
    /--per-offset must be an integer/,
  );
  assert.throws(() => parseBaseReportArgs(["--wordings", "klingon"]), /--wordings must be one of/);
});

Deno.test("splitOwnFlags: takes a wrapper's flags out, passes the rest through verbatim", () => {
  const argv = ["--preset", "course", "--jobs", "2", "--seeds=0,1", "--land", "--option=yarn", "x"];
  assert.deepEqual(splitOwnFlags(argv, ["preset", "option", "variant"]), {
    own: { preset: "course", option: "yarn" },
    rest: ["--jobs", "2", "--seeds=0,1", "--land", "x"],
  });
  assert.throws(() => splitOwnFlags(["--variant"], ["variant"]), /--variant needs a value/);
});
