/**
 * `deno task bench grade [--submissions 100] [--workers 1,2] [--seed 7]`: time to grade a class of
 * submissions with the sandboxed autograder. Each submission is the learner version of one of
 * notebooks 01-04 (round robin; the grading fixture if none has exercises) with a random half of
 * its exercises filled with the reference solution, so the expected score is known and checked.
 * Writes `assets/bench/grade.csv` (one row per worker count). Goal: 100 submissions in under 5
 * minutes on 2 cores.
 * @module
 */
import { join } from "node:path";
import { parseArgs } from "node:util";
import { Rng } from "../data/rng.ts";
import {
  cellSource,
  learnerExerciseSource,
  learnerVersion,
  type Notebook,
} from "../grade/exercises.ts";
import { gradeAll, loadReferences, type Reference } from "../grade/grade.ts";
import { COURSE_ROOT } from "../grade/module.ts";
import { writeFileAtomic } from "../util/atomic.ts";

/** A learner version with the reference solution kept for the exercises in `solved`. */
function mixedSubmission(ref: Reference, solved: Set<string>): Notebook {
  const nb = learnerVersion(ref.notebook, ref.name);
  for (const ex of ref.exercises) {
    if (!solved.has(ex.id)) continue;
    // the learner version's exercise cell is at the same index: put the reference back
    const stub = learnerExerciseSource(ex.source, ex.title);
    if (cellSource(nb.cells[ex.cellIndex]) !== stub) throw new Error(`cell moved: ${ex.id}`);
    nb.cells[ex.cellIndex].source = ex.source;
  }
  return nb;
}

function gitCommit(): string {
  try {
    const out = new Deno.Command("git", {
      args: ["rev-parse", "--short", "HEAD"],
      cwd: COURSE_ROOT,
    })
      .outputSync();
    return new TextDecoder().decode(out.stdout).trim();
  } catch {
    return "unknown";
  }
}

/** Runs the benchmark (see the module doc). */
export async function run(args: string[]): Promise<void> {
  const { values } = parseArgs({
    args,
    options: {
      submissions: { type: "string", default: "100" },
      workers: { type: "string", default: "1,2" },
      seed: { type: "string", default: "7" },
      out: { type: "string", default: join(COURSE_ROOT, "assets/bench/grade.csv") },
    },
  });
  const count = Number(values.submissions);
  if (!(Number.isInteger(count) && count >= 1)) {
    throw new RangeError(`--submissions must be an integer >= 1; got ${values.submissions}`);
  }
  const workerCounts = values.workers.split(",").map(Number);
  if (workerCounts.some((w) => !(Number.isInteger(w) && w >= 1))) {
    throw new RangeError(`--workers must be integers >= 1; got ${values.workers}`);
  }
  const all = loadReferences(join(COURSE_ROOT, "notebooks"));
  let refs = all.filter((r) => /^0[1-4]_/.test(r.name));
  let references = all;
  if (!refs.length) {
    references = refs = loadReferences(join(COURSE_ROOT, "tests/fixtures/grade/reference"));
  }
  const rng = new Rng(Number(values.seed));
  const dir = await Deno.makeTempDir({ prefix: "bench-grade-" });
  const learners = new Map<string, string[]>();
  const expected = new Map<string, number>();
  for (let i = 0; i < count; i++) {
    const ref = refs[i % refs.length];
    const solved = new Set(ref.exercises.filter(() => rng.next() < 0.5).map((e) => e.id));
    const id = `learner_${String(i).padStart(3, "0")}`;
    const file = join(dir, `${id}.ipynb`);
    await Deno.writeTextFile(file, JSON.stringify(mixedSubmission(ref, solved)));
    learners.set(id, [file]);
    expected.set(
      id,
      ref.exercises.filter((e) => solved.has(e.id)).reduce((s, e) => s + e.points, 0),
    );
  }
  const notebooks = refs.map((r) => r.name).join(" ");
  console.log(`bench grade: ${count} submissions over ${notebooks}`);
  const rows: string[] = [
    "submissions,workers,seconds,seconds_per_submission,exercises_graded,scores_as_expected,notebooks,cpus,commit",
  ];
  for (const workers of workerCounts) {
    const t0 = performance.now();
    const reports = await gradeAll(learners, references, {
      out: join(dir, `out_${workers}`),
      workers,
    });
    const seconds = (performance.now() - t0) / 1000;
    const wrong = reports.filter((r) => Math.abs(r.points - expected.get(r.learner)!) > 1e-6);
    const exercises = reports.reduce((s, r) => s + r.files[0].exercises.length, 0);
    console.log(
      `workers ${workers}: ${seconds.toFixed(1)} s (${
        (seconds / count).toFixed(2)
      } s/submission), ` +
        `${exercises} exercises, ${count - wrong.length}/${count} scores as expected` +
        (wrong.length ? ` (first wrong: ${wrong[0].learner} ${wrong[0].points})` : ""),
    );
    rows.push(
      [
        count,
        workers,
        seconds.toFixed(2),
        (seconds / count).toFixed(3),
        exercises,
        wrong.length === 0,
        `"${notebooks}"`,
        navigator.hardwareConcurrency,
        gitCommit(),
      ].join(","),
    );
  }
  await writeFileAtomic(values.out, rows.join("\n") + "\n");
  console.log(`wrote ${values.out}`);
  await Deno.remove(dir, { recursive: true });
}
