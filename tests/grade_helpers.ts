/**
 * Helpers shared by the grading tests: the fixture notebook, submissions built from it, and a batch
 * grader writing them to a temp folder.
 * @module
 */
import { join, resolve } from "node:path";
import { cellSource, findExercises, type Notebook } from "../src/grade/exercises.ts";
import {
  gradeAll,
  type LearnerReport,
  loadReferences,
  type Reference,
} from "../src/grade/grade.ts";
import type { SandboxOptions } from "../src/grade/sandbox.ts";

export const ROOT = resolve(new URL("..", import.meta.url).pathname);
export const FIXTURES = join(ROOT, "tests/fixtures/grade");
export const refs = loadReferences(join(FIXTURES, "reference"));
export const fixture = refs[0];
export const LIMITS = { timeoutMs: 8_000, memoryMb: 768 };

/** The fixture notebook with the solution region of exercise `id` replaced by `code`. */
export function withSolution(
  id: string,
  code: string,
  base: Notebook = fixture.notebook,
): Notebook {
  const nb: Notebook = structuredClone(base);
  const ex = findExercises(nb).find((e) => e.id === id)!;
  const src = cellSource(nb.cells[ex.cellIndex]);
  nb.cells[ex.cellIndex].source = src.replace(
    /\/\/ BEGIN SOLUTION[\s\S]*\/\/ END SOLUTION/,
    `// BEGIN SOLUTION\n${code}\n  // END SOLUTION`,
  );
  return nb;
}

/** The fixture notebook with `code` added at the top level of exercise `id`'s cell. */
export function withCellCode(id: string, code: string): Notebook {
  const nb: Notebook = structuredClone(fixture.notebook);
  const ex = findExercises(nb).find((e) => e.id === id)!;
  nb.cells[ex.cellIndex].source = cellSource(nb.cells[ex.cellIndex]) + "\n" + code;
  return nb;
}

/** Writes submissions into a temp folder and grades them as one batch. */
export async function gradeBatch(
  subs: Record<string, Notebook | string>,
  references: Reference[] = refs,
  opts: SandboxOptions = LIMITS,
): Promise<{ reports: Map<string, LearnerReport>; out: string }> {
  const dir = await Deno.makeTempDir({ prefix: "grade-subs-" });
  const learners = new Map<string, string[]>();
  for (const [name, nb] of Object.entries(subs)) {
    const file = join(dir, name.includes(".") ? name : `${name}.ipynb`);
    await Deno.writeTextFile(file, typeof nb === "string" ? nb : JSON.stringify(nb));
    learners.set(name.replace(/\.\w+$/, ""), [file]);
  }
  const out = join(dir, "grades");
  const list = await gradeAll(learners, references, { ...opts, out, workers: 2 });
  return { reports: new Map(list.map((r) => [r.learner, r])), out };
}

export const exercise = (r: LearnerReport, id: string) =>
  r.files[0].exercises.find((e) => e.id === id)!;
export const messages = (r: LearnerReport, id: string) =>
  exercise(r, id).checks.map((c) => c.message ?? "").join("\n") + (exercise(r, id).reason ?? "");
