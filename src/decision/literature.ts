/**
 * What the papers report at scale, as data. Each entry is one number (or one stated setting) with
 * where it sits in the paper and where it was checked: `verified` names the passage the number
 * was read from (abstract, table row, figure caption, section) and the copy that was read, and
 * `copy` says what kind of copy that was (arXiv itself, the paper's arXiv-stamped PDF at a named
 * commit, or a secondary reproduction). Table numbers are quoted as the row reads.
 *
 * @example
 * ```ts
 * import { LITERATURE, literatureRows } from "./literature.ts";
 * LITERATURE.filter((e) => e.paper === "YaRN").length;
 * literatureRows(); // rows for a table, one per entry, source in every row
 * ```
 * @module
 */

/** How an entry's passage was read. */
export type SourceCopy =
  /** On arxiv.org or ar5iv itself. */
  | "arxiv"
  /** The paper's own PDF (its arXiv stamp checked), kept in a repository, named with its commit. */
  | "paper PDF"
  /** A mirror, a review site or a README: the passage as someone else reproduced it. */
  | "secondary"
  /** The passage could not be read; the entry says what was used instead. */
  | "none";

/** One reported number or setting. */
export interface LiteratureEntry {
  /** Short id, e.g. `pi-32k`. */
  id: string;
  /** Method / paper short name: PI, YaRN, ALiBi, T5, RULER. */
  paper: string;
  /** Full citation (first author, year). */
  citation: string;
  /** arXiv id, or null for a paper cited by venue. */
  arxiv: string | null;
  /** Where in the paper: "abstract", "Table 1", "Figure 1 caption", "Section 2.1", ... */
  where: string;
  model: string;
  /** Pretraining -> evaluated / served lengths (tokens), as the passage states them. */
  lengths: string;
  /** Fine-tune steps, as stated ("" when the passage does not say). */
  steps: string;
  /** What the number is. */
  quantity: string;
  /** The number or setting, as written in the passage. */
  value: string;
  /** How the passage was read (see {@link SourceCopy}). */
  copy: SourceCopy;
  /** Where it was checked: the passage and the copy read, or what was used instead. */
  verified: string;
  /** Which course measurement or computation it sits beside (notebook 10). */
  courseCounterpart: string;
}

// The copies read (PDF text extracted with pypdf; each PDF's first page carries its arXiv stamp).
const PI_PDF = "arXiv 2306.15595v2 PDF (stamp '28 Jun 2023'), in viktor-shcherb/msc_thesis " +
  "@76c5ebc references/2023-06-pi-positional-interpolation/2306.15595.pdf";
const YARN_V2_PDF = "arXiv 2309.00071v2 PDF (stamp '1 Nov 2023'), in the authors' repository " +
  "jquesnelle/yarn @995db5b paper/yarn.pdf";
const YARN_V1_PDF = "arXiv 2309.00071v1 PDF (stamp 'submit/5089635 31 Aug 2023'), in the " +
  "authors' repository jquesnelle/yarn @533d064 paper/yarn.pdf";
const ALIBI_PDF = "arXiv 2108.12409v2 PDF (stamp '22 Apr 2022'), in viktor-shcherb/msc_thesis " +
  "@76c5ebc references/2022-04-alibi-train-short-test-long/2108.12409.pdf";
const RULER_PDF = "arXiv 2404.06654v3 PDF (stamp '6 Aug 2024'), in viktor-shcherb/msc_thesis " +
  "@76c5ebc references/2024-10-ruler-context-size/2404.06654.pdf";

const PI = "Chen et al. 2023, Extending Context Window of Large Language Models via Positional " +
  "Interpolation";
const YARN = "Peng et al. 2023, YaRN: Efficient Context Window Extension of Large Language Models";
const ALIBI = "Press et al. 2022, Train Short, Test Long: Attention with Linear Biases Enables " +
  "Input Length Extrapolation";
const RULER = "Hsieh et al. 2024, RULER: What's the Real Context Size of Your Long-Context " +
  "Language Models?";

/** The entries, grouped by paper. */
export const LITERATURE: readonly LiteratureEntry[] = [
  {
    id: "pi-32k",
    paper: "PI",
    citation: PI,
    arxiv: "2306.15595",
    where: "abstract",
    model: "LLaMA 7B to 65B (32768 reached by 7B and 13B; 33B to 16384, 65B to 8192, Table 1)",
    lengths: "up to 32768",
    steps: "within 1000",
    quantity: "context window reached with minimal fine-tuning",
    value: "32768 tokens within 1000 fine-tuning steps",
    copy: "arxiv",
    verified: `abstract, read at arxiv.org/abs/2306.15595v2 (same sentence in the ${PI_PDF})`,
    courseCounterpart:
      "course fine-tune: 128 steps of one 2,048-byte sequence (FINETUNE_DEFAULTS.course)",
  },
  {
    id: "pi-bound",
    paper: "PI",
    citation: PI,
    arxiv: "2306.15595",
    where: "abstract",
    model: "(theory)",
    lengths: "",
    steps: "",
    quantity: "upper bound of interpolation vs extrapolation (attention score)",
    value: "at least ~600x smaller",
    copy: "arxiv",
    verified: "abstract, read at arxiv.org/abs/2306.15595v2",
    courseCounterpart: "pi at step 0 vs rope at step 0 (near and long bits/byte)",
  },
  {
    id: "pi-l0",
    paper: "PI",
    citation: PI,
    arxiv: "2306.15595",
    where: "Figure 1 caption",
    model: "LLaMA",
    lengths: "pre-trained 2048 (illustrated extension to 4096)",
    steps: "",
    quantity: "pretraining context of the extended models",
    value: "2048",
    copy: "paper PDF",
    verified: `Figure 1 caption ("a Llama model pre-trained with a 2048 context window ` +
      `length"), ${PI_PDF}`,
    courseCounterpart: "course L0 = 256 bytes",
  },
  {
    id: "pi-table1-pg19",
    paper: "PI",
    citation: PI,
    arxiv: "2306.15595",
    where: "Table 1 (PG19 perplexity; 1000 fine-tune steps per Section 3.1)",
    model: "LLaMA 7B",
    lengths: "2048 -> 8192 (s = 4), 16384 (s = 8), 32768 (s = 16); evaluated at 2048 ... 32768",
    steps: "1000",
    quantity: "perplexity at 2048 (inside the original window) per s; s = 16 also at 32768",
    value: "no extension 7.20; PI s = 4: 7.13, s = 8: 7.11, s = 16: 7.23 (6.77 at 32768)",
    copy: "paper PDF",
    verified: `Table 1 rows "7B 2048 None 7.20 > 103 ...", "7B 8192 PI 7.13 6.96 6.95", ` +
      `"7B 16384 PI 7.11 6.93 6.82 6.83" and "7B 32768 PI 7.23 7.04 6.91 6.80 6.77" ` +
      `(superscripts flattened by the text extraction), ${PI_PDF}`,
    courseCounterpart: "PI's near-range cost against s after the fine-tune (section 6's table)",
  },
  {
    id: "pi-table4-passkey",
    paper: "PI",
    citation: PI,
    arxiv: "2306.15595",
    where: "Table 4 (effective passkey window k_max by fine-tune step)",
    model: "LLaMA 7B",
    lengths: "2048 -> 32768",
    steps: "200, 400, 600, 800, 1000",
    quantity: "largest k with >= 20% passkey success at every k' <= k",
    value: "32768, 32768, 18432, 32768, 32768 (direct fine-tuning to 8192: 2560 after 10000 " +
      "steps)",
    copy: "paper PDF",
    verified: `Table 4 rows "7B 32768 PI 32768 32768 18432 32768 32768 -" and "7B 8192 FT ` +
      `1792 2048 2048 2048 2304 2560", ${PI_PDF}`,
    courseCounterpart: "course long-range retrieval of pi and rope, fine-tuned (chapter 09)",
  },
  {
    id: "yarn-efficiency",
    paper: "YaRN",
    citation: YARN,
    arxiv: "2309.00071",
    where: "abstract",
    model: "LLaMA / Llama 2",
    lengths: "",
    steps: "",
    quantity: "training cost: tokens against Code Llama, steps against PI (Section 4)",
    value: "10x less tokens and 2.5x less training steps",
    copy: "arxiv",
    verified: "abstract, read at pdf.arxiv.org/abs/2309.00071 (v2); same sentence in the " +
      `${YARN_V2_PDF}, whose Section 4 says which method each ratio is against ("a 10x ` +
      `reduction from Rozière et al. [31] and 2.5x reduction in training steps from Chen et al. [9]")`,
    courseCounterpart: "course: every option on the same 128-step budget curve (16-128)",
  },
  {
    id: "yarn-steps",
    paper: "YaRN",
    citation: YARN,
    arxiv: "2309.00071",
    where: "Section 4.1 (training)",
    model: "Llama 2 7B / 13B",
    lengths: "4096 -> 64k (s = 16) and 128k (s = 32)",
    steps: "400 (s = 16, global batch 64), then 200 more for s = 32",
    quantity: "fine-tune budget",
    value: "400 steps, batch 64, PG19 in 64k segments; s = 32: 200 more steps from s = 16",
    copy: "paper PDF",
    verified: `Section 4.1 ("For s = 16 we fine-tuned for 400 steps with global batch size 64 ` +
      `... trained for an additional 200 steps"); 4096 from Section 4.3.1 and B.3, ${YARN_V2_PDF}`,
    courseCounterpart: "course fine-tune: 128 steps of one sequence, half of them retrieval rows",
  },
  {
    id: "yarn-table1",
    paper: "YaRN",
    citation: YARN,
    arxiv: "2309.00071",
    where: "Table 1 (Proof-pile sliding-window perplexity, S = 256)",
    model: "Llama 2 7B",
    lengths: "4096 -> 8192 (s = 2), evaluated at 2048 ... 10240",
    steps: "PI and NTK 1B tokens, YaRN 400M tokens",
    quantity: "perplexity at 2048 / 8192 / 10240 (past the extended window)",
    value: "PI 3.92 / 3.34 / 8.07; NTK (theta 20k) 4.20 / 3.59 / 6.24; YaRN 3.91 / 3.35 / 6.04",
    copy: "paper PDF",
    verified: `Table 1 rows "PI (s = 2) 1B 8k 3.92 3.51 3.51 3.34 8.07", "NTK (θ = 20k) 1B ` +
      `8k 4.20 3.75 3.74 3.59 6.24", "YaRN (s = 2) 400M 8k 3.91 3.50 3.51 3.35 6.04", ` +
      YARN_V2_PDF,
    courseCounterpart: "course near-range bits/byte of pi, ntk and yarn (chapter 09)",
  },
  {
    id: "yarn-passkey",
    paper: "YaRN",
    citation: YARN,
    arxiv: "2309.00071",
    where: "Table 5 (passkey retrieval)",
    model: "Llama 2 7B, YaRN s = 16 / s = 32",
    lengths: "extended to 64k / 128k, trained on 64k",
    steps: "400 / 400 + 200",
    quantity: "passkey accuracy (Table 5: averaged over the sizes up to the passkey context, " +
      "the largest size with >= 80% accuracy)",
    value: "96.3% (s = 16, to 64k); 99.4% (s = 32, to 128k)",
    copy: "paper PDF",
    verified: `Table 5 rows "7B YaRN 16 64k 64k YaRN 64k 96.3%" and "7B YaRN 32 128k 64k ` +
      `YaRN 128k 99.4%", ${YARN_V2_PDF}`,
    courseCounterpart: "course long-range retrieval of yarn (chapter 09)",
  },
  {
    id: "yarn-checkpoints",
    paper: "YaRN",
    citation: YARN,
    arxiv: "2309.00071",
    where: "abstract (v2)",
    model: "Llama 2 7B / 13B",
    lengths: "up to 128k context",
    steps: "",
    quantity: "published fine-tuned context windows",
    value: "made available and reproduced online up to 128k context length",
    copy: "paper PDF",
    verified: `abstract of the ${YARN_V2_PDF} (v1, ${YARN_V1_PDF}, named "64k and 128k")`,
    courseCounterpart: "course: 256 -> 2,048 (s = 8)",
  },
  {
    id: "yarn-eval",
    paper: "YaRN",
    citation: YARN,
    arxiv: "2309.00071",
    where: "Figure 1 caption",
    model: "Llama 2 (YaRN fine-tunes)",
    lengths: "documents of 128k, truncated to the evaluation window",
    steps: "",
    quantity: "evaluation protocol of the headline figure",
    value: "sliding-window perplexity, stride S = 256, ten 128k Proof-pile documents",
    copy: "paper PDF",
    verified: `Figure 1 caption, ${YARN_V2_PDF} (same in v1)`,
    courseCounterpart: "course: bits/byte by position up to 8 x L0 on held-out text",
  },
  {
    id: "yarn-dynamic",
    paper: "YaRN",
    citation: YARN,
    arxiv: "2309.00071",
    where: "Section 1 (introduction)",
    model: "",
    lengths: "",
    steps: "0",
    quantity: "Dynamic NTK's use",
    value: "interpolation for pre-trained models without fine-tuning",
    copy: "paper PDF",
    verified: `introduction ("the "Dynamic NTK" interpolation method [14] for pre-trained ` +
      `models without fine-tuning"), ${YARN_V2_PDF}`,
    courseCounterpart: "ablation ntk_dynamic (step 0, no fine-tune), section 4",
  },
  {
    id: "yarn-betas",
    paper: "YaRN",
    citation: YARN,
    arxiv: "2309.00071",
    where: "Section 3.2 (NTK-by-parts)",
    model: "Llama family",
    lengths: "",
    steps: "",
    quantity: "ramp bounds in turns over L0 (the paper's alpha, beta; HF's beta_slow, beta_fast)",
    value: "alpha = 1, beta = 32",
    copy: "paper PDF",
    verified: `Section 3.2 ("for the Llama family of models, good values for α and β are ` +
      `α = 1 and β = 32"), ${YARN_V2_PDF}; src/positions/rope.ts uses HF's names for them`,
    courseCounterpart: "computed: YaRN bands per head (full_scale.ts yarnBands)",
  },
  {
    id: "alibi-1.3b",
    paper: "ALiBi",
    citation: ALIBI,
    arxiv: "2108.12409",
    where: "abstract",
    model: "1.3B parameters, trained natively with ALiBi",
    lengths: "trained 1024 -> evaluated 2048",
    steps: "(pretraining, no fine-tune)",
    quantity: "perplexity at 2048 vs a sinusoidal model trained at 2048",
    value: "the same perplexity, training 11% faster and using 11% less memory",
    copy: "arxiv",
    verified: "abstract, read at ar5iv.labs.arxiv.org/html/2108.12409; same sentence in the " +
      ALIBI_PDF,
    courseCounterpart: "native ALiBi pretrained at L0 and evaluated at 8 x L0: pending",
  },
  {
    id: "alibi-table3",
    paper: "ALiBi",
    citation: ALIBI,
    arxiv: "2108.12409",
    where: "appendix Table 3 (WikiText-103 validation perplexity, trained L = 1024)",
    model: "WikiText-103 models pretrained natively (not swapped): sinusoidal, rotary, T5 bias, " +
      "ALiBi",
    lengths: "trained 1024 -> evaluated 1024 and 8024 (7.8 L)",
    steps: "(pretraining, no fine-tune)",
    quantity: "perplexity at 1024 / at 8024 (nonoverlapping inference, Section 2.1: the " +
      "average over every position of the window, not only the far ones)",
    value: "sinusoidal 19.34 / 284.88; rotary 19.33 / 64.91; T5 bias 18.80 / 25.79; " +
      "ALiBi 18.66 / 17.96",
    copy: "paper PDF",
    verified: `Table 3 rows "1024 19.34 17002 19.33 14690 18.80 14973 18.66 16951" and "8024 ` +
      `284.88 8132 64.91 7355 25.79 4377 17.96 8086" (perplexity and words/s per method), ` +
      ALIBI_PDF,
    courseCounterpart: "native T5 and ALiBi: bits/byte of whole 8 x L0 windows against L0: pending",
  },
  {
    id: "alibi-t5-gain",
    paper: "ALiBi",
    citation: ALIBI,
    arxiv: "2108.12409",
    where: "Section 2.2",
    model: "WikiText-103 T5-bias models",
    lengths: "trained 512 (1024)",
    steps: "(pretraining, no fine-tune)",
    quantity: "extra tokens over which the T5 bias still improves perplexity",
    value: "k = 600 (k = 800) extra tokens for L = 512 (L = 1024)",
    copy: "paper PDF",
    verified: `Section 2.2 ("the T5 bias improves perplexity with longer sequences than the ones ` +
      `it was trained on, i.e., k = 600 (k = 800) extra tokens"), ${ALIBI_PDF}`,
    courseCounterpart: "native T5 at 8 x L0: pending",
  },
  {
    id: "alibi-fig1",
    paper: "ALiBi",
    citation: ALIBI,
    arxiv: "2108.12409",
    where: "Figure 1 caption",
    model: "WikiText-103 language models (sinusoidal, rotary, T5 bias, ALiBi)",
    lengths: "trained L = 512 or 1024, evaluated on longer inputs",
    steps: "(pretraining, no fine-tune)",
    quantity: "extrapolation of the T5 bias and rotary",
    value: "sinusoidal, rotary and T5 show degraded perplexity as inputs get longer; ALiBi does " +
      "not; T5 ran out of memory on a 32GB GPU",
    copy: "paper PDF",
    verified: `Figure 1 caption, ${ALIBI_PDF}`,
    courseCounterpart: "native T5 and ALiBi at 8 x L0, bits/byte by position: pending",
  },
  {
    id: "t5-buckets",
    paper: "T5",
    citation: "Raffel et al. 2020, Exploring the Limits of Transfer Learning with a Unified " +
      "Text-to-Text Transformer (JMLR)",
    arxiv: "1910.10683",
    where: "Section 2.1 (model)",
    model: "T5",
    lengths: "",
    steps: "",
    quantity: "relative-position buckets",
    value: "32 embeddings, ranges growing logarithmically up to an offset of 128, beyond which " +
      "all relative positions share one embedding",
    copy: "secondary",
    verified: "Section 2.1 as copied from ar5iv.labs.arxiv.org/html/1910.10683 into GitHub " +
      "files (not read on ar5iv itself); HF transformers' T5Config (@038869d) has the same " +
      "defaults: relative_attention_num_buckets=32, relative_attention_max_distance=128",
    courseCounterpart:
      "computed: t5BucketTable at maxDistance 128 and 32,768; the native T5 uses 32 / 128",
  },
  {
    id: "ruler-half",
    paper: "RULER",
    citation: RULER,
    arxiv: "2404.06654",
    where: "abstract (v3; v1 named four models instead)",
    model: "long-context LMs claiming >= 32K",
    lengths: "evaluated 4K to 128K",
    steps: "",
    quantity: "models that keep satisfactory performance at 32K",
    value: "only half of them",
    copy: "arxiv",
    verified: `abstract, read at arxiv.org/html/2404.06654v3; same sentence in the ${RULER_PDF}`,
    courseCounterpart:
      "course long band: passkey at offsets 2.5-7.5 L0 (one task family, not RULER's 13)",
  },
  {
    id: "ruler-llama2",
    paper: "RULER",
    citation: RULER,
    arxiv: "2404.06654",
    where: "Table 3 and Section 4 (the effective-length threshold)",
    model: "Llama2 (7B), claimed 4K",
    lengths: "4K",
    steps: "",
    quantity: "average score at 4K, the threshold an 'effective length' must keep",
    value: "85.6",
    copy: "paper PDF",
    verified: `Table 3 row "Llama2 (7B) 4K - 85.6" and its caption ("exceeding the Llama2-7B ` +
      `performance at 4K (85.6%)"), ${RULER_PDF}`,
    courseCounterpart: "course retrieval threshold 0.5 (FINETUNE_DEFAULTS.course.threshold)",
  },
  {
    id: "ruler-together",
    paper: "RULER",
    citation: RULER,
    arxiv: "2404.06654",
    where: "Table 3 (13-task average)",
    model: "Together (7B): Llama 2 extended 4K -> 32K by PI (YaRN's Table 2 labels it PI)",
    lengths: "4K -> 32K, evaluated 4K ... 128K",
    steps: "",
    quantity: "RULER average at 4K / 32K, and its effective length",
    value: "88.2 at 4K, 63.0 at 32K; effective length 4K",
    copy: "paper PDF",
    verified:
      `Table 3 row "Together (7B) 32K 4K 88.2 81.1 69.4 63.0 0.0 0.0 50.3 ...", ${RULER_PDF}; ` +
      `the PI label: YaRN v2 Table 2 row "7B Together 32k PI ...", ${YARN_V2_PDF}`,
    courseCounterpart:
      "the case study itself at full scale (4K -> 32K by PI): course pi, chapter 09",
  },
  {
    id: "ruler-passkey",
    paper: "RULER",
    citation: RULER,
    arxiv: "2404.06654",
    where: "Table 10 (passkey retrieval only)",
    model: "Together (7B), PI to 32K; Yarn-base (7B), YaRN to 128K",
    lengths: "evaluated 4K ... 128K",
    steps: "",
    quantity: "passkey accuracy at 32K",
    value: "Together 100.0; Yarn-base 100.0 (while Table 3's 13-task average at 32K is 63.0 for " +
      "Together)",
    copy: "paper PDF",
    verified: `Table 10 rows "Together (7B) 32K 100.0 100.0 100.0 100.0 0.0 0.0 66.7" and ` +
      `"Yarn-base (7B) 128K 100.0 100.0 99.0 100.0 99.2 39.6 89.6", ${RULER_PDF}`,
    courseCounterpart: "course long band: passkey only, so a pass is a floor on long-context " +
      "skill, not RULER's effective length",
  },
];

/**
 * How an entry was checked: `paper` when the passage was read in the paper itself (on arXiv, or
 * in its arXiv-stamped PDF kept in a named repository at a named commit), `secondary copy` when
 * only someone else's reproduction was read, `not verified` when no copy was.
 */
export function sourceKind(e: LiteratureEntry): "paper" | "secondary copy" | "not verified" {
  return e.copy === "none" ? "not verified" : e.copy === "secondary" ? "secondary copy" : "paper";
}

/**
 * Table rows: every number with its source, how it was checked, and the course's counterpart in
 * the same row; `measured` (by entry id) replaces a counterpart with what a run measured.
 */
export function literatureRows(
  entries: readonly LiteratureEntry[] = LITERATURE,
  measured: Readonly<Record<string, string>> = {},
): Record<string, string>[] {
  return entries.map((e) => ({
    paper: e.arxiv ? `${e.paper} (arXiv ${e.arxiv})` : e.paper,
    where: e.where,
    model: e.model,
    lengths: e.lengths,
    steps: e.steps,
    quantity: e.quantity,
    value: e.value,
    "checked against": sourceKind(e),
    "checked in": e.verified,
    "course counterpart": measured[e.id] ?? e.courseCounterpart,
  }));
}

/** Entries not checked in the paper's own text on arXiv (secondary copies, or not at all). */
export function unverifiedEntries(
  entries: readonly LiteratureEntry[] = LITERATURE,
): LiteratureEntry[] {
  return entries.filter((e) => sourceKind(e) !== "paper");
}

/**
 * PI's own near-range cost against s, as numbers copied from the rows quoted in `pi-table1-pg19`
 * (LLaMA 7B, PG19 perplexity at 2048 after 1000 steps): the unextended model and PI at s = 4, 8,
 * 16. Printed to two decimals, so each carries a rounding range of +-0.005.
 */
export const PI_PAPER_SERIES = {
  entry: "pi-table1-pg19",
  base: 7.20,
  points: [{ s: 4, perplexity: 7.13 }, { s: 8, perplexity: 7.11 }, { s: 16, perplexity: 7.23 }],
} as const;

/**
 * PI's cost at one point of {@link PI_PAPER_SERIES} as a relative log-perplexity difference, with
 * the range the two-decimal rounding of both numbers allows.
 */
export function piPaperCost(perplexity: number, base: number = PI_PAPER_SERIES.base) {
  return {
    mean: logPerplexityCost(perplexity, base),
    low: logPerplexityCost(perplexity - 0.005, base + 0.005),
    high: logPerplexityCost(perplexity + 0.005, base - 0.005),
  };
}

/**
 * The relative difference in log-perplexity (nats per token) of `a` over `b`: the quantity that
 * compares with a relative difference of bits/byte (both are cross-entropies; the unit cancels).
 *
 * @example
 * ```ts
 * logPerplexityCost(7.23, 7.20); // 0.0021: PI's near-range cost in PI's Table 1
 * ```
 */
export function logPerplexityCost(perplexityA: number, perplexityB: number): number {
  if (!(perplexityA > 1 && perplexityB > 1)) {
    throw new RangeError(`perplexities must be > 1; got ${perplexityA} and ${perplexityB}`);
  }
  return Math.log(perplexityA) / Math.log(perplexityB) - 1;
}

/** The papers that measured each option at scale (NTK-aware scaling is measured in YaRN's). */
export const PAPERS_OF_OPTION: Readonly<Record<string, readonly string[]>> = {
  rope: ["PI"],
  pi: ["PI"],
  ntk: ["YaRN"],
  ntk_dynamic: ["YaRN"],
  yarn: ["YaRN"],
  alibi: ["ALiBi"],
  t5: ["T5", "ALiBi"],
};

/**
 * The entries that support an option at scale: its papers' table rows (measured numbers), or
 * their other entries when no table row is listed; empty for an option no paper here covers.
 *
 * @example
 * ```ts
 * citedFor("yarn").map((e) => e.id); // ["yarn-table1", "yarn-passkey"]
 * ```
 */
export function citedFor(
  option: string,
  entries: readonly LiteratureEntry[] = LITERATURE,
): LiteratureEntry[] {
  const papers = PAPERS_OF_OPTION[option] ?? [];
  const mine = entries.filter((e) => papers.includes(e.paper));
  const tables = mine.filter((e) => /\bTable \d/.test(e.where));
  return tables.length ? tables : mine;
}
