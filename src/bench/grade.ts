/**
 * `deno task bench grade [--submissions 100] [--workers 1,2] [--per-learner 1,4] [--seed 7]`: time
 * to grade a class of submissions with the sandboxed autograder. A submission is the learner
 * version of one of notebooks 01-04 (round robin; the grading fixture if none has exercises), or
 * with `--per-learner 4` a learner's folder with all four, with a random half of the exercises
 * filled with the reference solution, so the expected score is known and checked. Writes
 * `assets/bench/grade.csv` (one row per case; `sandbox` says whether the bwrap jail was used, see
 * `GRADE_JAIL=off`). Goal: 100 submissions in under 5 minutes on 2 cores.
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
import { gitCommit } from "../util/git.ts";

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

/** The flags of `deno task bench grade`, checked (see the module doc). */
function parseGradeFlags(args: string[]) {
  const { values } = parseArgs({
    args,
    options: {
      submissions: { type: "string", default: "100" },
      workers: { type: "string", default: "1,2" },
      seed: { type: "string", default: "7" },
      "per-learner": { type: "string", default: "1,4" },
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
  return {
    count,
    workerCounts,
    seed: Number(values.seed),
    perLearner: values["per-learner"],
    out: values.out,
  };
}

/**
 * The notebooks submissions are made from (01-04, or the grading fixture when none has
 * exercises) and the references they are graded against.
 */
function benchReferences(): { refs: Reference[]; references: Reference[] } {
  const all = loadReferences(join(COURSE_ROOT, "notebooks"));
  const refs = all.filter((r) => /^0[1-4]_/.test(r.name));
  if (refs.length) return { refs, references: all };
  const fixture = loadReferences(join(COURSE_ROOT, "tests/fixtures/grade/reference"));
  return { refs: fixture, references: fixture };
}

/**
 * Writes `count` learners' folders under `dir`, each with `per` notebooks (1: round robin over
 * `refs`) whose exercises are half solved at random; returns their files and expected points.
 */
async function writeSubmissions(
  dir: string,
  count: number,
  per: number,
  refs: Reference[],
  rng: Rng,
): Promise<{ learners: Map<string, string[]>; expected: Map<string, number> }> {
  const learners = new Map<string, string[]>();
  const expected = new Map<string, number>();
  for (let i = 0; i < count; i++) {
    const id = `learner_${String(i).padStart(3, "0")}`;
    const folder = join(dir, `per${per}`, id);
    await Deno.mkdir(folder, { recursive: true });
    const chosen = per === 1 ? [refs[i % refs.length]] : refs;
    let points = 0;
    const files: string[] = [];
    for (const ref of chosen) {
      const solved = new Set(ref.exercises.filter(() => rng.next() < 0.5).map((e) => e.id));
      const file = join(folder, `${ref.name}.ipynb`);
      await Deno.writeTextFile(file, JSON.stringify(mixedSubmission(ref, solved)));
      files.push(file);
      points += ref.exercises.filter((e) => solved.has(e.id)).reduce((s, e) => s + e.points, 0);
    }
    learners.set(id, files);
    expected.set(id, points);
  }
  return { learners, expected };
}

/** The CSV header of assets/bench/grade.csv. */
const HEADER =
  "submissions,notebooks_per_submission,workers,seconds,seconds_per_submission,exercises_graded," +
  "scores_as_expected,notebooks,cpus,load_avg_1min,commit,sandbox";

/** Runs the benchmark (see the module doc). */
export async function run(args: string[]): Promise<void> {
  const { count, workerCounts, seed, perLearner: perFlag, out } = parseGradeFlags(args);
  const { refs, references } = benchReferences();
  const perLearner = perFlag.split(",").map(Number);
  if (perLearner.some((n) => !(n === 1 || n === refs.length))) {
    throw new RangeError(`--per-learner must be 1 or ${refs.length}; got ${perFlag}`);
  }
  const rng = new Rng(seed);
  const dir = await Deno.makeTempDir({ prefix: "bench-grade-" });
  const notebooks = refs.map((r) => r.name).join(" ");
  const commit = await gitCommit(COURSE_ROOT);
  const rows: string[] = [HEADER];
  for (const per of perLearner) {
    const { learners, expected } = await writeSubmissions(dir, count, per, refs, rng);
    console.log(`bench grade: ${count} submissions of ${per} notebook(s) from ${notebooks}`);
    for (const workers of workerCounts) {
      const t0 = performance.now();
      const reports = await gradeAll(learners, references, {
        out: join(dir, `out_${per}_${workers}`),
        workers,
      });
      const seconds = (performance.now() - t0) / 1000;
      const wrong = reports.filter((r) => Math.abs(r.points - expected.get(r.learner)!) > 1e-6);
      const exercises = reports.reduce(
        (s, r) => s + r.files.reduce((t, f) => t + f.exercises.length, 0),
        0,
      );
      console.log(
        `  workers ${workers}: ${seconds.toFixed(1)} s (${
          (seconds / count).toFixed(2)
        } s/submission), ` +
          `${exercises} exercises, ${count - wrong.length}/${count} scores as expected` +
          (wrong.length ? ` (first wrong: ${wrong[0].learner} ${wrong[0].points})` : ""),
      );
      rows.push(
        [
          count,
          per,
          workers,
          seconds.toFixed(2),
          (seconds / count).toFixed(3),
          exercises,
          wrong.length === 0,
          `"${notebooks}"`,
          navigator.hardwareConcurrency,
          Deno.loadavg()[0].toFixed(2),
          commit,
          reports[0]?.files[0]?.sandbox ?? "",
        ].join(","),
      );
    }
  }
  await writeFileAtomic(out, rows.join("\n") + "\n");
  console.log(`wrote ${out}`);
  await Deno.remove(dir, { recursive: true });
}
