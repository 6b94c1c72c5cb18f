/**
 * Mitigations as fine-tune variants that differ from the plain fine-tune (their control) in
 * exactly one thing: the same optimizer steps, training tokens, schedule, seeds and data stream,
 * with one change to what the steps contain. Each is run for the same seeds as the control, so
 * `<option>+<variant>` against `<option>` is a paired, controlled comparison.
 *
 * @example
 * ```ts
 * import { MITIGATIONS } from "./mitigations.ts";
 * MITIGATIONS.short_replay.train({ steps: 128, contextLength: 256 }); // { shortFrom: 96, shortSeqLen: 256 }
 * ```
 * @module
 */
import type { TrainOptions } from "../train/trainer.ts";

/** The variant ids. */
export const MITIGATION_IDS = ["short_replay", "copy_rows"] as const;

/** One variant id. */
export type MitigationVariantId = typeof MITIGATION_IDS[number];

/** A variant: what it changes, as trainer options. */
export interface MitigationVariant {
  id: MitigationVariantId;
  /** The one thing that differs from the control. */
  description: string;
  train(o: { steps: number; contextLength: number }): Partial<TrainOptions>;
}

/** The variants, keyed by id. */
export const MITIGATIONS: { readonly [K in MitigationVariantId]: MitigationVariant } = {
  short_replay: {
    id: "short_replay",
    description: "the last quarter of the steps on L0-long rows (8 of them per step at 8 x L0, " +
      "so the same tokens per step, and the task fraction divided by 8, so the same retrieval " +
      "rows per step in expectation); steps, schedule, optimizer and data seed unchanged",
    train: ({ steps, contextLength }) => ({
      shortFrom: Math.round(steps * 0.75),
      shortSeqLen: contextLength,
    }),
  },
  copy_rows: {
    id: "copy_rows",
    description: "a quarter of the rows are copy tasks (dense look-back practice) instead of " +
      "plain text; steps, tokens, schedule and data seed unchanged",
    train: () => ({ copyFraction: 0.25 }),
  },
};

/** Parses `option+variant` (e.g. `yarn+short_replay`); throws naming the allowed variants. */
export function parseVariantLabel(label: string): { option: string; variant: MitigationVariantId } {
  const [option, variant] = label.split("+");
  if (!option || !MITIGATION_IDS.includes(variant as MitigationVariantId)) {
    throw new RangeError(
      `a mitigation must be <option>+<variant> with variant one of ${MITIGATION_IDS.join(", ")}; ` +
        `got "${label}"`,
    );
  }
  return { option, variant: variant as MitigationVariantId };
}
