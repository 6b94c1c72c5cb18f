/**
 * Builds the two programs that grade one (submission, reference notebook) pair, run in two
 * processes that share nothing but a data-only channel (see sandbox.ts):
 *
 * - the learner program (`learner.ts`, jailed): the notebook's imports and the context statements
 *   of its non-exercise cells that the learner's cells use (never a reference exercise cell), then
 *   each learner exercise cell as its own module `learner_<id>.ts` (its code wrapped in an async
 *   function returning the names the reference cell declares), loaded on request in notebook order,
 *   so a syntax error or a missing import fails that exercise only. A cell may import only course
 *   modules under src/ (not src/grade), tfjs and node:assert; a cell with `import(` or
 *   `import.meta` is refused.
 * - the checker program (`grade.ts`): the harness first, then the reference notebook's imports and
 *   the context statements the reference TESTS need (a slice by identifiers), then each reference
 *   TESTS cell (visible + hidden; never the learner's copy) with every top-level `assert` statement
 *   as a check, calling the learner's functions through the channel.
 *
 * @example
 * ```ts
 * const program = buildGradingProgram({ reference, referenceName: "01_rope", submission });
 * ```
 * @module
 */
import { join, resolve } from "node:path";
import { pathToFileURL } from "node:url";
import { learnerModuleProblem } from "./learner_check.ts";
import { quote } from "./text.ts";
import {
  cellSource,
  codeOnly,
  declaredNames,
  type Exercise,
  findExercises,
  identifiersUsed,
  type ImportBinding,
  importDeclaration,
  isImportStatement,
  type Notebook,
  type NotebookCell,
  parseImport,
  splitStatements,
  stripComments,
  visibleTests,
} from "./exercises.ts";

/** The course root (where deno.json lives). */
export const COURSE_ROOT = resolve(new URL("../..", import.meta.url).pathname);
const HARNESS = new URL("./harness.ts", import.meta.url).href;
const HOST = new URL("./learner_host.ts", import.meta.url).href;
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
  /** The checker: file name -> source; `grade.ts` is the entry point. */
  files: Record<string, string>;
  /** The learner's program: file name -> source; `learner.ts` is the entry point. */
  learnerFiles: Record<string, string>;
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

// bare names a learner may import: tfjs only (polars, plotly and the rest are not for exercises)
const LEARNER_BARE = BARE_IMPORTS.filter((n) => n.startsWith("@tensorflow/"));

/** Whether a learner may import this specifier (course modules under src/, tfjs, node:assert). */
function learnerImportAllowed(spec: string): string | null {
  if (spec === "node:assert" || spec === "node:assert/strict") return null;
  if (LEARNER_BARE.includes(spec)) return null;
  if (spec.startsWith("./") || spec.startsWith("../")) {
    const path = resolve(join(COURSE_ROOT, "notebooks"), spec);
    if (path.startsWith(join(COURSE_ROOT, "src", "grade"))) return "imports the grader";
    if (!path.startsWith(join(COURSE_ROOT, "src") + "/")) return "is outside src/";
    if (!/\.(ts|js|mjs)$/.test(path)) return "is not a .ts or .js module";
    try {
      Deno.statSync(path);
      return null;
    } catch {
      return "does not exist";
    }
  }
  return "is not a course module under src/, tfjs or node:assert";
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
  /** From a reference exercise cell (a reference solution: never given to learner code). */
  fromExercise: boolean;
}

/** The reference notebook's imports (all cells) and context statements (all but TESTS cells). */
function readContext(reference: Notebook, exercises: Exercise[]) {
  const tests = new Set(exercises.map((e) => e.testsIndex));
  const exerciseCells = new Set(exercises.map((e) => e.cellIndex));
  const imports = new Map<string, ImportBinding>();
  const context: ContextStatement[] = [];
  reference.cells.forEach((cell, i) => {
    if (cell.cell_type !== "code") return;
    for (const stmt of splitStatements(cellSource(cell))) {
      if (isImportStatement(stmt)) {
        for (const b of parseImport(stmt)) {
          imports.set(b.local || b.specifier, { ...b, specifier: absoluteSpecifier(b.specifier) });
        }
      } else if (!tests.has(i)) {
        context.push({
          code: stmt,
          declares: declaredNames(stmt),
          values: declaredNames(stmt, { valuesOnly: true }),
          mutable: /^(let|var)\b/.test(stripComments(stmt).trim()),
          uses: identifiersUsed(stmt),
          fromExercise: exerciseCells.has(i),
        });
      }
    }
  });
  return { imports, context };
}

/** Indices of the context statements `needed` names depend on (a slice by identifiers). */
function sliceContext(
  context: ContextStatement[],
  needed: Set<string>,
  allowed: (i: number) => boolean,
): Set<number> {
  const mutableNames = new Set(context.filter((s) => s.mutable).flatMap((s) => s.declares));
  const included = new Set<number>();
  for (let changed = true; changed;) {
    changed = false;
    context.forEach((s, i) => {
      if (included.has(i) || !allowed(i)) return;
      const declaresNeeded = s.declares.some((n) => needed.has(n));
      // a statement that updates a needed `let` (a loop filling it) belongs to its value
      const updatesNeeded = s.declares.length === 0 &&
        [...s.uses].some((n) => needed.has(n) && mutableNames.has(n));
      if (declaresNeeded || updatesNeeded) {
        included.add(i);
        for (const n of s.uses) needed.add(n);
        changed = true;
      }
    });
  }
  return included;
}

/** Context statements learner code may share: not exercise cells nor anything built on them. */
function learnerSafeContext(context: ContextStatement[], exerciseNames: Set<string>): Set<number> {
  const tainted = new Set(exerciseNames);
  const safe = new Set<number>();
  context.forEach((s, i) => {
    if (s.fromExercise || [...s.uses].some((n) => tainted.has(n))) {
      s.declares.forEach((n) => tainted.add(n));
    } else safe.add(i);
  });
  return safe;
}

const valueNames = (src: string) =>
  splitStatements(src).flatMap((s) => declaredNames(s, { valuesOnly: true }));

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
  const exerciseNames = new Set(exercises.flatMap((e) => valueNames(e.source)));
  const { imports, context } = readContext(reference, exercises);
  const selected = exercises.filter((e) => !opts.only || opts.only.includes(e.id));
  const learnerFiles = learnerProgram(selected, submission, imports, context, exerciseNames, notes);

  // the checker: names the tests need from the context (the exercise's own come from the learner)
  const needed = new Set<string>();
  for (const ex of selected) {
    for (const n of identifiersUsed(ex.tests)) if (!exerciseNames.has(n)) needed.add(n);
  }
  const included = sliceContext(context, needed, () => true);
  const gradeName = `__grade_${crypto.randomUUID().slice(0, 8)}`;
  const plan: PlannedExercise[] = [];
  const body: string[] = [];
  for (const ex of selected) {
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
    noteEditedTests(ex, submission, notes);
    let k = 0;
    const lines = stmts.map((s) =>
      isCheck(s) ? `await __check(${k++}, async () => {\n${s}\n});` : s
    );
    const names = valueNames(ex.source);
    body.push(
      `await ${gradeName}.exercise(${JSON.stringify(ex.id)}, ${JSON.stringify(names)}, ` +
        `async (__check, __mine: any) => {\n` +
        (names.length ? `const { ${names.join(", ")} } = __mine;\n` : "") +
        `${lines.join("\n")}\n});`,
    );
  }
  const usedImports = [...imports.values()].filter((b) => b.local === "" || needed.has(b.local));
  const files = {
    "grade.ts": [
      `import { grade as ${gradeName} } from ${JSON.stringify(HARNESS)};`,
      `import ${JSON.stringify(STAND_IN)};`,
      ...usedImports.filter((b) => b.local !== "").map(importDeclaration),
      ...context.filter((_, i) => included.has(i)).map((s) => s.code),
      ...body,
      `${gradeName}.finish();`,
      "",
    ].join("\n\n"),
  };
  return { files, learnerFiles, plan, notes };
}

function noteEditedTests(ex: Exercise, submission: Notebook | null, notes: string[]) {
  const learnerTests = submissionCell(submission, "TESTS", ex.id);
  const theirs = learnerTests ? normalise(cellSource(learnerTests)) : "";
  if (
    learnerTests && theirs !== normalise(visibleTests(ex.tests)) && theirs !== normalise(ex.tests)
  ) {
    notes.push(`tests of ${ex.id} were edited in the submission; the reference tests were used`);
  }
}

/** The learner program: safe context, then each learner exercise cell as its own module. */
function learnerProgram(
  selected: Exercise[],
  submission: Notebook | null,
  imports: Map<string, ImportBinding>,
  context: ContextStatement[],
  exerciseNames: Set<string>,
  notes: string[],
): Record<string, string> {
  const safe = learnerSafeContext(context, exerciseNames);
  const contextNames = new Set(context.filter((_, i) => safe.has(i)).flatMap((s) => s.values));
  const files: Record<string, string> = {};
  const needed = new Set<string>();
  const loaders: string[] = [];
  const earlier = new Set<string>();
  for (const ex of selected) {
    const cell = submissionCell(submission, "EXERCISE", ex.id);
    const stmts = splitStatements(cell ? cellSource(cell) : "").filter((s) =>
      !isImportStatement(s)
    );
    const own = new Set(stmts.flatMap((s) => declaredNames(s)));
    const uses = [...identifiersUsed(stmts.join("\n"))].filter((n) => !own.has(n));
    const fromContext = uses.filter((n) => contextNames.has(n));
    const fromEarlier = uses.filter((n) => earlier.has(n) && !contextNames.has(n));
    fromContext.forEach((n) => needed.add(n));
    const file = `learner_${ex.id.replace(".", "_")}.ts`;
    files[file] = learnerModule(ex, cell, imports, [...fromContext, ...fromEarlier], notes);
    loaders.push(
      `{ id: ${JSON.stringify(ex.id)}, load: async () => { const m = await import("./${file}"); ` +
        `return { run: (__prev: Record<string, unknown>) => ` +
        `m.__learner({ ...__prev, ${fromContext.join(", ")} }) }; } },`,
    );
    valueNames(ex.source).forEach((n) => earlier.add(n));
  }
  const included = sliceContext(context, needed, (i) => safe.has(i));
  const usedImports = [...imports.values()].filter((b) => b.local !== "" && needed.has(b.local))
    .filter((b) => !learnerImportAllowed(relativeSpecifier(b.specifier)));
  files["learner.ts"] = [
    `import { serveLearner } from ${JSON.stringify(HOST)};`,
    `import ${JSON.stringify(STAND_IN)};`,
    ...usedImports.map(importDeclaration),
    ...context.filter((_, i) => included.has(i)).map((s) => s.code),
    `await serveLearner([\n${loaders.join("\n")}\n], Deno.args);`,
    "",
  ].join("\n\n");
  return files;
}

/** The notebook-relative form of an absolute course file URL (for the import allow list). */
function relativeSpecifier(spec: string): string {
  const prefix = fileUrl(join(COURSE_ROOT, "notebooks")).replace(/notebooks$/, "");
  return spec.startsWith(prefix) ? "../" + spec.slice(prefix.length) : spec;
}

/** Code of a learner cell that may reach the module loader at run time. */
const DYNAMIC_IMPORT = /\bimport\s*(\(|\.\s*meta\b)/;

/** The module holding one learner exercise, wrapped in `export async function __learner()`. */
function learnerModule(
  ex: Exercise,
  cell: NotebookCell | undefined,
  refImports: Map<string, ImportBinding>,
  fromContext: string[],
  notes: string[],
): string {
  const names = valueNames(ex.source);
  const refuse = (why: string) =>
    `export async function __learner(_: unknown): Promise<Record<string, never>> {\n` +
    `  throw new Error(${JSON.stringify(why)});\n}\n`;
  if (!cell) {
    notes.push(`exercise ${ex.id} is missing from the submission`);
    return refuse(`exercise ${ex.id} is missing from the submission`);
  }
  const stmts = splitStatements(cellSource(cell));
  const code: string[] = [];
  const bindings = new Map<string, ImportBinding>();
  for (const s of stmts) {
    if (!isImportStatement(s)) {
      code.push(s);
      continue;
    }
    let parsed: ImportBinding[];
    try {
      parsed = parseImport(s);
    } catch {
      notes.push(`exercise ${ex.id}: an import that cannot be read was dropped: ${quote(s, 80)}`);
      continue;
    }
    for (const b of parsed) {
      const why = learnerImportAllowed(b.specifier);
      if (why) {
        notes.push(`exercise ${ex.id}: import of ${quote(b.specifier, 80)} dropped (it ${why})`);
        continue;
      }
      bindings.set(b.local || b.specifier, { ...b, specifier: absoluteSpecifier(b.specifier) });
    }
  }
  if (DYNAMIC_IMPORT.test(codeOnly(code.join("\n")))) {
    const why = `exercise ${ex.id} was not run: import() and import.meta are not allowed in ` +
      `exercise cells (import course modules with an import declaration)`;
    notes.push(why);
    return refuse(why);
  }
  const used = identifiersUsed(code.join("\n"));
  for (const [local, b] of refImports) {
    if (bindings.has(local) || !used.has(local) || fromContext.includes(local)) continue;
    if (!learnerImportAllowed(relativeSpecifier(b.specifier))) bindings.set(local, b);
  }
  const text = [
    ...[...bindings.values()].map(importDeclaration),
    `export async function __learner(__context: any) {`,
    `const { ${fromContext.join(", ")} } = __context;`,
    code.join("\n"),
    `;return { ${names.join(", ")} };`,
    `}`,
    "",
  ].join("\n");
  const problem = learnerModuleProblem(
    text,
    new Set([...bindings.values()].map((b) => b.specifier)),
  );
  if (problem) {
    const why = /^SyntaxError/.test(problem)
      ? problem
      : `exercise ${ex.id} was not run: ${problem} (exercise cells may import course modules ` +
        `with an import declaration, nothing else)`;
    if (!/^SyntaxError/.test(problem)) notes.push(why);
    return refuse(why);
  }
  return text;
}
