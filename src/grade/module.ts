/**
 * Builds the grading program for one (submission, reference notebook) pair.
 *
 * Each learner exercise cell becomes its own module `learner_<id>.ts` (the notebook's imports it
 * uses, its own imports, and its code wrapped in an async function returning the names the
 * reference exercise cell declares), imported dynamically by the main module, so a syntax error or
 * a missing import in one exercise fails that exercise only. The main module imports the harness
 * first, then the reference notebook's imports and only the context statements the reference TESTS
 * need (a slice by identifiers: displays, figures and kernels the tests do not use are skipped,
 * which keeps each run short and needs no native addons), then runs each reference TESTS cell
 * (visible + hidden; never the learner's copy) with every top-level `assert` statement as a check.
 *
 * @example
 * ```ts
 * const program = buildGradingProgram({ reference, referenceName: "01_rope", submission });
 * ```
 * @module
 */
import { join, resolve } from "node:path";
import { pathToFileURL } from "node:url";
import {
  cellSource,
  declaredNames,
  type Exercise,
  findExercises,
  identifiersUsed,
  type ImportBinding,
  importDeclaration,
  isImportStatement,
  type Notebook,
  parseImport,
  splitStatements,
  stripComments,
  visibleTests,
} from "./exercises.ts";

/** The course root (where deno.json lives). */
export const COURSE_ROOT = resolve(new URL("../..", import.meta.url).pathname);
const HARNESS = new URL("./harness.ts", import.meta.url).href;
const STAND_IN = new URL("../tools/jupyter_stand_in.ts", import.meta.url).href;

/** One planned exercise: how many checks its tests have. */
export interface PlannedExercise {
  id: string;
  title: string;
  points: number;
  checks: number;
  /** A short label per check (its statement, or "hidden test" for a hidden one), for feedback. */
  labels: string[];
  /** Whether each check is a hidden test. */
  hidden: boolean[];
}

/** The files of a grading program and what the grader needs to read its output. */
export interface GradingProgram {
  /** File name -> source; `grade.ts` is the entry point. */
  files: Record<string, string>;
  plan: PlannedExercise[];
  /** Notes about the submission for the report (edited tests, dropped imports...). */
  notes: string[];
}

function fileUrl(path: string): string {
  return pathToFileURL(path).href;
}

/** Rewrites a relative specifier (relative to notebooks/) to an absolute file URL. */
function absoluteSpecifier(spec: string): string {
  if (spec.startsWith("./") || spec.startsWith("../")) {
    return fileUrl(resolve(join(COURSE_ROOT, "notebooks"), spec));
  }
  return spec;
}

const BARE_IMPORTS = (() => {
  try {
    return Object.keys(JSON.parse(Deno.readTextFileSync(join(COURSE_ROOT, "deno.json"))).imports);
  } catch {
    return [] as string[];
  }
})();

/** Whether a learner may import this specifier (course files, node: builtins, deno.json names). */
function learnerImportAllowed(spec: string): string | null {
  if (spec.startsWith("node:")) return null;
  if (BARE_IMPORTS.includes(spec)) return null;
  if (spec.startsWith("./") || spec.startsWith("../")) {
    const path = resolve(join(COURSE_ROOT, "notebooks"), spec);
    if (path.startsWith(join(COURSE_ROOT, "src", "grade"))) return "imports the grader";
    if (!path.startsWith(join(COURSE_ROOT, "src") + "/")) return "is outside src/";
    try {
      Deno.statSync(path);
      return null;
    } catch {
      return "does not exist";
    }
  }
  return "is not a course module, a node: builtin or a deno.json import";
}

const CHECK_START = /^assert\b/;

/** Whether a TESTS statement is a check: starts with assert, or is a loop/block containing one. */
function isCheck(stmt: string): boolean {
  const code = stripComments(stmt).trim();
  if (CHECK_START.test(code)) return true;
  return /^(for|while|if|do)\b|^\{/.test(code) && /\bassert\s*[.(]/.test(code);
}

/** The statements of a TESTS cell; a cell that is a single block is unwrapped once. */
export function testStatements(src: string): string[] {
  let stmts = splitStatements(src);
  if (stmts.length === 1) {
    const code = stripComments(stmts[0]).trim();
    if (code.startsWith("{") && code.endsWith("}")) {
      const open = stmts[0].indexOf("{", stmts[0].indexOf(code));
      const close = stmts[0].lastIndexOf("}");
      stmts = splitStatements(stmts[0].slice(open + 1, close));
    }
  }
  // imports of a TESTS cell are hoisted with the notebook's own
  return stmts.filter((s) => !isImportStatement(s));
}

/** The number of checks the tests of an exercise define. */
export function countChecks(tests: string): number {
  return testStatements(tests).filter(isCheck).length;
}

function label(stmt: string): string {
  return stripComments(stmt).trim().replace(/\s+/g, " ").slice(0, 120);
}

function normalise(src: string): string {
  return stripComments(src).replace(/\s+/g, "");
}

/** Finds a submission's cell for exercise `id` (its first line names the id). */
function submissionCell(sub: Notebook | null, marker: "EXERCISE" | "TESTS", id: string) {
  if (!sub) return undefined;
  const re = new RegExp(`^\\s*// ${marker} ${id.replace(".", "\\.")}\\b`);
  return sub.cells.find((c) => c.cell_type === "code" && re.test(cellSource(c)));
}

interface ContextStatement {
  code: string;
  declares: string[];
  values: string[];
  mutable: boolean;
  uses: Set<string>;
}

/**
 * Builds the grading program. `only` restricts it to some exercise ids (used to rerun the rest
 * after one exercise hit the time or memory limit).
 */
export function buildGradingProgram(opts: {
  reference: Notebook;
  referenceName: string;
  submission: Notebook | null;
  only?: string[];
}): GradingProgram {
  const { reference, submission } = opts;
  const exercises = findExercises(reference, opts.referenceName);
  const notes: string[] = [];
  const exerciseCells = new Set(exercises.flatMap((e) => [e.cellIndex, e.testsIndex]));
  const exerciseNames = new Set(
    exercises.flatMap((e) =>
      splitStatements(e.source).flatMap((s) => declaredNames(s, { valuesOnly: true }))
    ),
  );

  // the reference notebook's imports (all cells) and context statements (non-exercise cells,
  // plus the reference exercise cells, so context that calls an exercise function still works)
  const imports = new Map<string, ImportBinding>();
  const context: ContextStatement[] = [];
  reference.cells.forEach((cell, i) => {
    if (cell.cell_type !== "code") return;
    for (const stmt of splitStatements(cellSource(cell))) {
      if (isImportStatement(stmt)) {
        for (const b of parseImport(stmt)) {
          imports.set(b.local || b.specifier, { ...b, specifier: absoluteSpecifier(b.specifier) });
        }
      } else if (!exerciseCells.has(i) || exercises.some((e) => e.cellIndex === i)) {
        const code = stripComments(stmt).trim();
        context.push({
          code: stmt,
          declares: declaredNames(stmt),
          values: declaredNames(stmt, { valuesOnly: true }),
          mutable: /^(let|var)\b/.test(code),
          uses: identifiersUsed(stmt),
        });
      }
    }
  });

  const selected = exercises.filter((e) => !opts.only || opts.only.includes(e.id));
  // names the tests need from the context (the exercise's own names come from the learner)
  const needed = new Set<string>();
  for (const ex of selected) {
    for (const n of identifiersUsed(ex.tests)) if (!exerciseNames.has(n)) needed.add(n);
  }
  // context names the learner code uses (helpers of the notebook, or another exercise's
  // reference solution: exercises are graded independently) are passed to it
  const contextNames = new Set(context.flatMap((s) => s.values));
  const learnerContext = new Map<string, string[]>();
  for (const ex of selected) {
    const cell = submissionCell(submission, "EXERCISE", ex.id);
    const src = cell ? cellSource(cell) : "";
    const stmts = splitStatements(src).filter((s) => !isImportStatement(s));
    const own = new Set(stmts.flatMap((s) => declaredNames(s)));
    const uses = [...identifiersUsed(stmts.join("\n"))].filter((n) =>
      contextNames.has(n) && !own.has(n)
    );
    learnerContext.set(ex.id, uses);
    uses.forEach((n) => needed.add(n));
  }
  const mutableNames = new Set(context.filter((s) => s.mutable).flatMap((s) => s.declares));
  const included = new Set<number>();
  for (let changed = true; changed;) {
    changed = false;
    context.forEach((s, i) => {
      if (included.has(i)) return;
      const declaresNeeded = s.declares.some((n) => needed.has(n));
      // a statement that updates a needed `let` (a loop filling it) belongs to its value
      const updatesNeeded = s.declares.length === 0 &&
        [...s.uses].some((n) => needed.has(n) && mutableNames.has(n));
      if (declaresNeeded || updatesNeeded) {
        included.add(i);
        for (const n of s.uses) if (!needed.has(n)) needed.add(n), changed = true;
        changed = true;
      }
    });
  }

  const id = crypto.randomUUID().slice(0, 8);
  const gradeName = `__grade_${id}`;
  const files: Record<string, string> = {};
  const plan: PlannedExercise[] = [];
  const body: string[] = [];
  for (const ex of selected) {
    const learnerFile = `learner_${ex.id.replace(".", "_")}.ts`;
    const passed = learnerContext.get(ex.id) ?? [];
    files[learnerFile] = learnerModule(ex, submission, imports, new Set(passed), notes);
    const names = splitStatements(ex.source).flatMap((s) => declaredNames(s, { valuesOnly: true }));
    const stmts = testStatements(ex.tests);
    const checks = stmts.filter(isCheck);
    // a check is hidden unless the same statement is among the visible tests
    const visible = new Set(testStatements(visibleTests(ex.tests)).filter(isCheck).map(normalise));
    const hidden = checks.map((s) => !visible.has(normalise(s)));
    plan.push({
      id: ex.id,
      title: ex.title,
      points: ex.points,
      checks: checks.length,
      labels: checks.map((s, i) => hidden[i] ? "hidden test" : label(s)),
      hidden,
    });
    let k = 0;
    const lines = stmts.map((s) =>
      isCheck(s) ? `await __check(${k++}, async () => {\n${s}\n});` : s
    );
    const learnerTests = submissionCell(submission, "TESTS", ex.id);
    const theirs = learnerTests ? normalise(cellSource(learnerTests)) : "";
    if (
      learnerTests && theirs !== normalise(visibleTests(ex.tests)) && theirs !== normalise(ex.tests)
    ) {
      notes.push(`tests of ${ex.id} were edited in the submission; the reference tests were used`);
    }
    // built at module level, where the context names are in scope (the tests may shadow them)
    const contextVar = `__context_${ex.id.replace(".", "_")}`;
    body.push(
      `const ${contextVar} = { ${passed.join(", ")} };\n` +
        `await ${gradeName}.exercise(${JSON.stringify(ex.id)}, async (__check) => {\n` +
        `const { ${
          names.join(", ")
        } } = await (await import("./${learnerFile}")).__learner(${contextVar});\n` +
        `${lines.join("\n")}\n});`,
    );
  }
  const usedImports = [...imports.values()].filter((b) => b.local === "" || needed.has(b.local));
  files["grade.ts"] = [
    `import { grade as ${gradeName} } from ${JSON.stringify(HARNESS)};`,
    `import ${JSON.stringify(STAND_IN)};`,
    ...usedImports.filter((b) => b.local !== "").map(importDeclaration),
    ...context.filter((_, i) => included.has(i)).map((s) => s.code),
    ...body,
    `${gradeName}.finish();`,
    "",
  ].join("\n\n");
  return { files, plan, notes };
}

/** The module holding one learner exercise, wrapped in `export async function __learner()`. */
function learnerModule(
  ex: Exercise,
  submission: Notebook | null,
  refImports: Map<string, ImportBinding>,
  fromContext: Set<string>,
  notes: string[],
): string {
  const cell = submissionCell(submission, "EXERCISE", ex.id);
  const names = splitStatements(ex.source).flatMap((s) => declaredNames(s, { valuesOnly: true }));
  if (!cell) {
    notes.push(`exercise ${ex.id} is missing from the submission`);
    return `export async function __learner(_: unknown): Promise<Record<string, never>> {\n` +
      `  throw new Error("exercise ${ex.id} is missing from the submission");\n}\n`;
  }
  const stmts = splitStatements(cellSource(cell));
  const code: string[] = [];
  const bindings = new Map<string, ImportBinding>();
  for (const s of stmts) {
    if (!isImportStatement(s)) {
      code.push(s);
      continue;
    }
    for (const b of parseImport(s)) {
      const why = learnerImportAllowed(b.specifier);
      if (why) {
        notes.push(`exercise ${ex.id}: import of '${b.specifier}' dropped (it ${why})`);
        continue;
      }
      bindings.set(b.local || b.specifier, { ...b, specifier: absoluteSpecifier(b.specifier) });
    }
  }
  const used = identifiersUsed(code.join("\n"));
  for (const [local, b] of refImports) {
    if (!bindings.has(local) && used.has(local) && !fromContext.has(local)) bindings.set(local, b);
  }
  return [
    ...[...bindings.values()].map(importDeclaration),
    `export async function __learner(__context: any) {`,
    `const { ${[...fromContext].join(", ")} } = __context;`,
    code.join("\n"),
    `;return { ${names.join(", ")} };`,
    `}`,
    "",
  ].join("\n");
}
