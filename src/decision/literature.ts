/**
 * What the papers report at scale, as data. Each entry is one number (or one stated setting) with
 * where it sits in the paper and where it was checked: `verified` names the passage the number
 * was read from (abstract, figure caption, section) and the copy that was read; an entry whose
 * paper text could not be read says `not verified` and gives the source actually used instead.
 * Numbers from a paper's tables that could not be read are not listed at all.
 *
 * @example
 * ```ts
 * import { LITERATURE, literatureRows } from "./literature.ts";
 * LITERATURE.filter((e) => e.paper === "YaRN").length;
 * literatureRows(); // rows for a table, one per entry, source in every row
 * ```
 * @module
 */

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
  /** Where in the paper: "abstract", "Figure 1 caption", "Section 2.1", ... */
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
  /** Where it was checked: the passage and the copy read, or "not verified: ..." with why. */
  verified: string;
  /** Which course measurement or computation it sits beside (notebook 10). */
  courseCounterpart: string;
}

/** The entries, grouped by paper. */
export const LITERATURE: readonly LiteratureEntry[] = [
  {
    id: "pi-32k",
    paper: "PI",
    citation:
      "Chen et al. 2023, Extending Context Window of Large Language Models via Positional " +
      "Interpolation",
    arxiv: "2306.15595",
    where: "abstract",
    model: "LLaMA 7B to 65B",
    lengths: "up to 32768",
    steps: "within 1000",
    quantity: "context window reached with minimal fine-tuning",
    value: "32768 tokens within 1000 fine-tuning steps",
    verified: "abstract of arXiv 2306.15595 v1, read in the copy at summarizepaper.com/en/tree/" +
      "2306.15595v1 (CC BY 4.0 abstract) and aitopics.org (same text)",
    courseCounterpart:
      "course fine-tune: 128 steps of one 2,048-byte sequence (FINETUNE_DEFAULTS.course)",
  },
  {
    id: "pi-bound",
    paper: "PI",
    citation: "Chen et al. 2023",
    arxiv: "2306.15595",
    where: "abstract",
    model: "(theory)",
    lengths: "",
    steps: "",
    quantity: "upper bound of interpolation vs extrapolation (attention score)",
    value: "at least ~600x smaller",
    verified: "abstract of arXiv 2306.15595 v1 (summarizepaper.com copy)",
    courseCounterpart: "pi at step 0 vs rope at step 0 (near and long bits/byte)",
  },
  {
    id: "pi-l0",
    paper: "PI",
    citation: "Chen et al. 2023",
    arxiv: "2306.15595",
    where: "Figure 1 caption",
    model: "LLaMA",
    lengths: "pre-trained 2048 (illustrated extension to 4096)",
    steps: "",
    quantity: "pretraining context of the extended models",
    value: "2048",
    verified: "Figure 1 caption as reproduced on liner.com's review of 2306.15595; not checked " +
      "against the PDF itself",
    courseCounterpart: "course L0 = 256 bytes",
  },
  {
    id: "yarn-efficiency",
    paper: "YaRN",
    citation: "Peng et al. 2023, YaRN: Efficient Context Window Extension of Large Language Models",
    arxiv: "2309.00071",
    where: "abstract",
    model: "LLaMA / Llama 2",
    lengths: "",
    steps: "",
    quantity: "training cost relative to previous methods",
    value: "10x less tokens and 2.5x less training steps",
    verified: "abstract of arXiv 2309.00071 v3, read at arxiv.org/html/2309.00071v3",
    courseCounterpart: "course: every option on the same 128-step budget curve (16-128)",
  },
  {
    id: "yarn-checkpoints",
    paper: "YaRN",
    citation: "Peng et al. 2023",
    arxiv: "2309.00071",
    where: "abstract (v2)",
    model: "Llama 2 7B / 13B",
    lengths: "64k and 128k context windows (pretraining length not stated in the passage)",
    steps: "",
    quantity: "published fine-tuned context windows",
    value: "64k and 128k",
    verified:
      "abstract of arXiv 2309.00071 v2 (copy at yiyibooks.cn/__src__/arxiv/2309.00071v2); " +
      "Llama 2's 4096 pretraining length is not stated in that passage",
    courseCounterpart: "course: 256 -> 2,048 (s = 8)",
  },
  {
    id: "yarn-eval",
    paper: "YaRN",
    citation: "Peng et al. 2023",
    arxiv: "2309.00071",
    where: "Figure 1 caption",
    model: "Llama 2 (YaRN fine-tunes)",
    lengths: "documents of 128k, truncated to the evaluation window",
    steps: "",
    quantity: "evaluation protocol of the headline figure",
    value: "sliding-window perplexity, stride S = 256, ten 128k Proof-pile documents",
    verified: "Figure 1 caption of arXiv 2309.00071 v1/v2 (arxiv-vanity.com and yiyibooks.cn " +
      "copies)",
    courseCounterpart: "course: bits/byte by position up to 8 x L0 on held-out text",
  },
  {
    id: "yarn-dynamic",
    paper: "YaRN",
    citation: "Peng et al. 2023",
    arxiv: "2309.00071",
    where: "Section 1 (introduction)",
    model: "",
    lengths: "",
    steps: "0",
    quantity: "Dynamic NTK's use",
    value: "interpolation for pre-trained models without fine-tuning",
    verified: "introduction of arXiv 2309.00071, read in a mirrored copy (lucians-macbook-pro" +
      "...ts.net/2309.00071); not read at arxiv.org itself",
    courseCounterpart: "ablation ntk_dynamic (step 0, no fine-tune): pending",
  },
  {
    id: "yarn-betas",
    paper: "YaRN",
    citation: "Peng et al. 2023",
    arxiv: "2309.00071",
    where: "Section 3 (NTK-by-parts), per HF's implementation",
    model: "LLaMA family",
    lengths: "",
    steps: "",
    quantity: "ramp bounds in turns over L0 (alpha, beta)",
    value: "beta_slow = 1, beta_fast = 32",
    verified: "not verified in the paper text (the passage could not be read); the values are HF " +
      "transformers' YaRN defaults (beta_fast 32, beta_slow 1), which src/positions/rope.ts follows",
    courseCounterpart: "computed: YaRN bands per head (full_scale.ts yarnBands)",
  },
  {
    id: "alibi-1.3b",
    paper: "ALiBi",
    citation: "Press et al. 2022, Train Short, Test Long: Attention with Linear Biases Enables " +
      "Input Length Extrapolation",
    arxiv: "2108.12409",
    where: "abstract",
    model: "1.3B parameters, trained natively with ALiBi",
    lengths: "trained 1024 -> evaluated 2048",
    steps: "(pretraining, no fine-tune)",
    quantity: "perplexity at 2048 vs a sinusoidal model trained at 2048",
    value: "the same perplexity, training 11% faster and using 11% less memory",
    verified: "abstract of arXiv 2108.12409, read at ar5iv.labs.arxiv.org/html/2108.12409 and " +
      "the v2 PDF text (readkong.com copy)",
    courseCounterpart: "native ALiBi pretrained at L0 and evaluated at 8 x L0: pending",
  },
  {
    id: "alibi-fig1",
    paper: "ALiBi",
    citation: "Press et al. 2022",
    arxiv: "2108.12409",
    where: "Figure 1 caption",
    model: "WikiText-103 language models (sinusoidal, rotary, T5 bias, ALiBi)",
    lengths: "trained L = 512 or 1024, evaluated on longer inputs",
    steps: "(pretraining, no fine-tune)",
    quantity: "extrapolation of the T5 bias and rotary",
    value: "sinusoidal, rotary and T5 show degraded perplexity as inputs get longer; ALiBi does " +
      "not; T5 ran out of memory on a 32GB GPU; exact perplexities in appendix Tables 2 and 3",
    verified:
      "Figure 1 caption as reproduced on liner.com's review of 2108.12409; the numbers of " +
      "Tables 2-3 were not read and are not quoted",
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
    value: "32 buckets, max distance 128 (all larger offsets share the last bucket)",
    verified: "not verified in the paper text (the passage could not be read); the values are HF " +
      "transformers' T5Config defaults (relative_attention_num_buckets=32, " +
      "relative_attention_max_distance=128), found in several copies of that config",
    courseCounterpart: "computed: t5BucketTable at maxDistance 128 and 32,768",
  },
  {
    id: "ruler-half",
    paper: "RULER",
    citation: "Hsieh et al. 2024, RULER: What's the Real Context Size of Your Long-Context " +
      "Language Models?",
    arxiv: "2404.06654",
    where: "abstract",
    model: "long-context LMs claiming >= 32K",
    lengths: "evaluated 4K to 128K",
    steps: "",
    quantity: "models that keep satisfactory performance at 32K",
    value: "only half of them",
    verified: "abstract sentence quoted on axiomlogica.com and centerconsulting.com; not read " +
      "in the arXiv copy itself",
    courseCounterpart:
      "course long band: passkey at offsets 2.5-7.5 L0 (one task family, not RULER's 13)",
  },
  {
    id: "ruler-llama2",
    paper: "RULER",
    citation: "Hsieh et al. 2024",
    arxiv: "2404.06654",
    where: "repository README main table (NVIDIA/RULER), not the paper's table",
    model: "Llama2 7B (claimed 4K)",
    lengths: "4K",
    steps: "",
    quantity: "average score at 4K, the threshold an 'effective length' must keep",
    value: "85.6",
    verified: "README of the RULER repository as mirrored (github.ouxiang.me/ShashankMosaicML/" +
      "RULER and others); 17 models x 13 tasks in 4 categories per the same README",
    courseCounterpart: "course retrieval threshold 0.5 (FINETUNE_DEFAULTS.course.threshold)",
  },
];

/**
 * How an entry was checked, computed from its `verified` text: `paper` when the passage was read
 * on arXiv itself (arxiv.org or ar5iv), `not verified` when the paper text was not read at all,
 * else `secondary copy` (a mirror, a review site, a README).
 */
export function sourceKind(e: LiteratureEntry): "paper" | "secondary copy" | "not verified" {
  if (/^not verified/.test(e.verified)) return "not verified";
  return /(^|[\s(/])(arxiv\.org|ar5iv\.labs\.arxiv\.org)\//.test(e.verified) &&
      !/not read at arxiv\.org/.test(e.verified)
    ? "paper"
    : "secondary copy";
}

/** Table rows: every number with its source, and how it was checked, in the same row. */
export function literatureRows(
  entries: readonly LiteratureEntry[] = LITERATURE,
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
  }));
}

/** Entries not checked in the paper's own text on arXiv (secondary copies, or not at all). */
export function unverifiedEntries(
  entries: readonly LiteratureEntry[] = LITERATURE,
): LiteratureEntry[] {
  return entries.filter((e) => sourceKind(e) !== "paper");
}
