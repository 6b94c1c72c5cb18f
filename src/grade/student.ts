/**
 * `deno task student [--out build/student] [--notebooks notebooks]`: writes the learner version of
 * every notebook that has exercises (solutions replaced by a stub that throws "not implemented
 * yet", hidden tests removed, outputs cleared) and prints the exercise table. Fails (exit 1, every
 * problem listed) if any exercise marker is wrong or an exercise lacks tests.
 *
 * @example
 * ```ts
 * const written = await writeStudentVersions("notebooks", "build/student");
 * ```
 * @module
 */
import { basename, join } from "node:path";
import { parseArgs } from "node:util";
import { writeFileAtomic } from "../util/atomic.ts";
import { type Exercise, findExercises, learnerVersion, parseNotebookText } from "./exercises.ts";
import { countChecks, COURSE_ROOT } from "./module.ts";

/** One row of the exercise table. */
export interface ExerciseRow {
  notebook: string;
  id: string;
  title: string;
  points: number;
  checks: number;
}

/**
 * Writes learner versions of the notebooks in `dir` that have exercises into `out`; returns the
 * exercise table. Throws one Error listing every invalid notebook.
 */
export async function writeStudentVersions(dir: string, out: string): Promise<ExerciseRow[]> {
  const rows: ExerciseRow[] = [];
  const problems: string[] = [];
  const pending: [string, string][] = [];
  for (const e of [...Deno.readDirSync(dir)].sort((a, b) => a.name.localeCompare(b.name))) {
    if (!e.isFile || !e.name.endsWith(".ipynb")) continue;
    const name = basename(e.name, ".ipynb");
    try {
      const nb = parseNotebookText(await Deno.readTextFile(join(dir, e.name)), name);
      const exercises: Exercise[] = findExercises(nb, name);
      if (!exercises.length) continue;
      for (const ex of exercises) {
        const checks = countChecks(ex.tests);
        if (checks === 0) problems.push(`${name}: TESTS ${ex.id} has no top-level assert check`);
        rows.push({ notebook: name, id: ex.id, title: ex.title, points: ex.points, checks });
      }
      pending.push([join(out, e.name), JSON.stringify(learnerVersion(nb, name), null, 1) + "\n"]);
    } catch (err) {
      problems.push((err as Error).message);
    }
  }
  if (problems.length) throw new Error(problems.join("\n"));
  await Deno.mkdir(out, { recursive: true });
  for (const [path, text] of pending) await writeFileAtomic(path, text);
  return rows;
}

if (import.meta.main) {
  const { values } = parseArgs({
    args: Deno.args,
    options: {
      out: { type: "string", default: join(COURSE_ROOT, "build/student") },
      notebooks: { type: "string", default: join(COURSE_ROOT, "notebooks") },
    },
  });
  try {
    const rows = await writeStudentVersions(values.notebooks, values.out);
    const w = Math.max(5, ...rows.map((r) => r.title.length));
    console.log(`${"notebook".padEnd(20)} ${"id".padEnd(5)} ${"title".padEnd(w)} points checks`);
    for (const r of rows) {
      console.log(
        `${r.notebook.padEnd(20)} ${r.id.padEnd(5)} ${r.title.padEnd(w)} ${
          String(r.points).padStart(6)
        } ${String(r.checks).padStart(6)}`,
      );
    }
    const total = rows.reduce((s, r) => s + r.points, 0);
    const nbs = new Set(rows.map((r) => r.notebook)).size;
    console.log(
      `${rows.length} exercises in ${nbs} notebooks, ${total} points; written to ${values.out}`,
    );
  } catch (e) {
    console.error(`student: ${(e as Error).message}`);
    Deno.exit(1);
  }
}
