/**
 * Notebook 10's tables that put the miniature beside the real case: the transfer table (each
 * distortion of the course, the computation or measurement that addresses it, and which way it
 * could move the ranking at full scale), the commands of the ablations still to run with their
 * cost, and the three kinds of support of the recommendation. Every number in a row is computed
 * here from `full_scale.ts` or read from a file named in the row; nothing is typed in.
 *
 * @example
 * ```ts
 * import { transferTable } from "./transfer.ts";
 * import { COURSE_HEAD, FULL_SCALE_HEADS } from "./full_scale.ts";
 * transferTable(COURSE_HEAD, FULL_SCALE_HEADS[0]).length; // one row per distortion
 * ```
 * @module
 */
import {
  alibiWindows,
  type HeadGeometry,
  matchedYarnBetas,
  spectrumTable,
  t5BucketTable,
  yarnBands,
} from "./full_scale.ts";
import { type AblationFindings, piTrendVerdict } from "./ablations.ts";
import type { EvidenceDecision } from "./evidence.ts";
import type { NativeFamily, NativeFinding } from "./native.ts";
import { type LiteratureEntry, sourceKind } from "./literature.ts";

/** One row of the transfer table. */
export interface TransferRow {
  distortion: string;
  course: string;
  fullScale: string;
  /** The ablation or computation that addresses it (and its status). */
  addressedBy: string;
  /** Which way it could move the ranking at full scale. */
  direction: string;
}

function pairs(h: HeadGeometry, scaling: string, key: "oodPairs" | "nearResolvingPairs"): number {
  return spectrumTable(h).find((r) => r.scaling === scaling)![key];
}

/**
 * The transfer table for a course geometry against a full-scale one.
 *
 * @example
 * ```ts
 * transferTable(COURSE_HEAD, FULL_SCALE_HEADS[0])[0].distortion; // "local resolution under PI"
 * ```
 */
export function transferTable(
  course: HeadGeometry,
  full: HeadGeometry,
  findings: AblationFindings | null = null,
  native: readonly NativeFinding[] = [],
): TransferRow[] {
  const nativeLine = (family: NativeFamily) => {
    const f = native.find((x) => x.family === family);
    return f ? `measured: ${[f.length, f.verdict].filter(Boolean).join(" ")}` : "pending";
  };
  const n = (h: HeadGeometry) => h.headDim / 2;
  const yb = (h: HeadGeometry) => {
    const b = yarnBands(h);
    return `${b.kept} kept / ${b.ramped} ramped / ${b.interpolated} interpolated of ${n(h)}`;
  };
  const m = matchedYarnBetas(course, full);
  const reach = (h: HeadGeometry) =>
    `${alibiWindows(h).filter((r) => r.reachesLongBand).length} of ${h.numHeads} heads`;
  const farBuckets = (h: HeadGeometry) =>
    t5BucketTable(h, h.targetLength).filter((r) => r.shareFar > 0 && r.pairsAtL0 === 0).length;
  return [
    {
      distortion: "local resolution under PI",
      course: `${pairs(course, "rope", "nearResolvingPairs")} -> ${
        pairs(course, "pi", "nearResolvingPairs")
      } pairs resolve offsets <= L0/4 after PI`,
      fullScale: `${pairs(full, "rope", "nearResolvingPairs")} -> ${
        pairs(full, "pi", "nearResolvingPairs")
      }`,
      addressedBy: "computed (spectrumTable); ablation pi_s2 / pi_s4 / pi (s = 2, 4, 8): " +
        (findings?.pi.length
          ? `measured: near-range cost at step 0 ${
            piTrendVerdict(findings.piTrend, "step 0")
          }; fine-tuned (s = 1 is the rope control) ${
            piTrendVerdict(findings.piTrend, "fine-tuned")
          }`
          : "pending"),
      direction: "the course overstates PI's near-range cost: PI could rank higher at full scale",
    },
    {
      distortion: "unseen-angle pairs (RoPE spectrum)",
      course: `${pairs(course, "rope", "oodPairs")} of ${n(course)} never turn in L0`,
      fullScale: `${pairs(full, "rope", "oodPairs")} of ${n(full)}`,
      addressedBy: "computed (spectrumTable, outOfDistributionDims)",
      direction: "a larger share is out of distribution in the course, so extrapolation's " +
        "failure may be exaggerated there; the full-scale head still has unseen pairs",
    },
    {
      distortion: "YaRN's bands (alpha 1, beta 32)",
      course: yb(course),
      fullScale: yb(full),
      addressedBy: `ablation yarn_matched (betas ${m.betaFast.toFixed(3)} / ${
        m.betaSlow.toFixed(4)
      }, split ${m.target.kept} kept / ${m.target.interpolated} interpolated): ${
        measuredLine(findings?.yarnMatched, "long-range retrieval (final budget)")
      }`,
      direction: "course YaRN is close to PI; at full scale it keeps more pairs, so YaRN's " +
        "near-range advantage over PI could grow",
    },
    {
      distortion: "ALiBi windows vs the long band (eps 1e-3)",
      course: reach(course),
      fullScale: reach(full),
      addressedBy: `computed (alibiWindows); native ALiBi pretraining: ${nativeLine("alibi")}`,
      direction: `with the paper's slopes ${reach(full)} at full scale reach the long band ` +
        `by the bias alone (${reach(course)} in the course): ALiBi's long-range retrieval could ` +
        "rank lower at full scale when fewer heads reach it",
    },
    {
      distortion: "T5 buckets that only the fine-tune trains",
      course: `${farBuckets(course)} far buckets with no pair at L0 (maxDistance = target)`,
      fullScale: `${farBuckets(full)}`,
      addressedBy: `computed (t5BucketTable); native T5 at maxDistance 128: ${nativeLine("t5")}`,
      direction: "same structure at both scales; at maxDistance 128 every far pair shares one " +
        "bucket at both scales",
    },
  ];
}

// The sentence of the line on `quantity`, "measured: ..." or "pending".
function measuredLine(lines: AblationFindings["yarnMatched"] | undefined, quantity: string) {
  const l = lines?.find((x) => x.sentence.includes(quantity));
  return l ? `measured: ${l.sentence}` : "pending";
}

/** Notebook 10's answer for the real case, its three kinds of support kept apart. */
export interface RealCaseAnswer {
  measured: string;
  computed: string;
  cited: string;
  /** The recommendation with its confidence and what could move it. */
  recommendation: string;
  confidence: "high" | "moderate" | "low";
}

/**
 * The answer for 4k -> 32k from the course decision (measured), the transfer table (computed)
 * and the literature entries (cited). The recommended option is the course's. Its confidence is
 * the course-scale confidence only (the computed and cited rows are shown beside it, not scored):
 * high when it passes every constraint and leads the runner-up beyond the noise; moderate when it
 * leads and fails only constraints whose interval holds the bound; low when its lead is inside
 * the noise, no runner-up was measured, or it clearly fails a constraint. The transfer rows'
 * directions are reasoning, listed as such.
 */
export function realCaseAnswer(
  d: EvidenceDecision,
  transfer: readonly TransferRow[],
  cited: readonly LiteratureEntry[],
  native: readonly NativeFinding[] = [],
): RealCaseAnswer {
  const v = d.verdicts.find((x) => x.option === d.recommended)!;
  const m = d.margin?.interval;
  const measuredLead = m !== undefined && Number.isFinite(m.low);
  const leads = measuredLead && (m!.low > 0 || m!.high < 0);
  const failing = v.checks.filter((c) => !c.pass);
  const clearFail = failing.some((c) => !c.uncertain);
  const confidence = !leads || clearFail ? "low" : d.passesAll ? "high" : "moderate";
  const f = (x: number) => `${x >= 0 ? "+" : ""}${x.toFixed(2)}`;
  const label = d.margin
    ? d.rule.constraints.find((c) => c.id === d.margin!.constraint)?.label
    : undefined;
  const lead = d.margin && measuredLead
    ? ` and ${
      leads ? "leads" : "cannot be told apart from"
    } the runner-up \`${d.margin.b}\` on ${label} (paired difference ${f(m!.mean)}, 95% CI ${
      f(m!.low)
    } to ${f(m!.high)}, ${m!.seeds} seeds)`
    : "";
  const fails = failing.map((c) =>
    `${c.label} (${c.uncertain ? "uncertain: its interval holds the bound" : "clearly"})`
  );
  const measured = `Course scale: \`${d.recommended}\` ranks first${lead}. ${
    fails.length ? `It fails ${fails.join(" and ")}.` : "It passes every constraint."
  }${
    native.length
      ? ` Question (ii), the bias families pretrained natively (one pretraining seed each): ${
        native.map((f) => [f.length, f.verdict].filter(Boolean).join(" ")).join(" ")
      }`
      : ""
  }`;
  const why = confidence === "high"
    ? "it passes every constraint and leads beyond the noise"
    : clearFail
    ? "it clearly fails a constraint at course scale"
    : !measuredLead
    ? "no runner-up difference with an interval was measured"
    : !leads
    ? "its lead over the runner-up is inside the noise"
    : "it leads beyond the noise but fails a constraint whose interval holds the bound";
  return {
    measured,
    computed: transfer.map((r) => `${r.distortion}: ${r.course} (course) vs ${r.fullScale} (full)`)
      .join("; ") + ".",
    cited: cited.map((e) => `${e.paper} (${e.where}, ${e.model}; ${sourceKind(e)}): ${e.value}`)
      .join("; ") + ".",
    recommendation:
      `For 4k -> 32k: \`${d.recommended}\`, course-scale confidence ${confidence} (${why}). ` +
      `How the miniature's distortions could move it at full scale (reasoned from the computed ` +
      `rows, not measured): ${transfer.map((r) => `${r.distortion}: ${r.direction}`).join("; ")}.`,
    confidence,
  };
}

/**
 * Seconds the course base model's pretraining took, read from its model card's training heading
 * ("wall time N s in total"); null when the card or the phrase is missing.
 *
 * @example
 * ```ts
 * pretrainSeconds("## Training (six stages, wall time 5,413 s in total)"); // 5413
 * ```
 */
export function pretrainSeconds(modelCard: string | null): number | null {
  const m = modelCard?.match(/wall time ([\d,]+) s in total/);
  return m ? Number(m[1].replaceAll(",", "")) : null;
}
