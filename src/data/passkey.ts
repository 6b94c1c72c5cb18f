/**
 * Seeded retrieval tasks: passkey retrieval (one 5-digit key hidden in filler text at a controlled
 * depth, the question at the end) and a multi-key variant (the needle among distractor keys with
 * other labels), since plain passkey alone overstates long-context ability.
 *
 * The answer is scored by greedy decoding of 5 bytes after the prompt (see src/eval/retrieval.ts).
 * Evaluation filler comes from held-out documents; training tasks take filler from training ones.
 *
 * @example
 * ```ts
 * import { makePasskey } from "./passkey.ts";
 * import { Rng } from "./rng.ts";
 * const ex = makePasskey({ filler: corpus.heldOut, length: 256, depth: 0.5, rng: new Rng(7) });
 * decode(ex.prompt).endsWith("The pass key is "); // true; ex.answerText is 5 digits
 * ```
 * @module
 */
import type { Document } from "./corpus.ts";
import { sampleDocument } from "./batches.ts";
import type { Rng } from "./rng.ts";
import { encode } from "./tokenizer.ts";

/** Number of digits in every key. */
export const KEY_DIGITS = 5;

/** Labels of the multi-key variant (one needle, the others distractors). */
export const KEY_LABELS = [
  "red",
  "blue",
  "green",
  "black",
  "white",
  "gold",
  "grey",
  "pink",
] as const;

/**
 * How a passkey is stated and asked for: the needle sentence around the key, and the question
 * that ends with the answer cue (the bytes right before the first answer digit). A model that
 * only retrieves after one memorised cue has learned a phrase trigger, not retrieval; so training
 * draws from {@link TRAINING_WORDINGS} and evaluation also reports {@link HELD_OUT_WORDINGS},
 * whose nouns, sentence forms and cues never occur in training.
 */
export interface Wording {
  id: string;
  /** The needle sentence (with its surrounding spaces) for `key`. */
  needle: (key: string) => string;
  /** The question, ending with the answer cue. */
  question: string;
}

type Form = {
  id: string;
  needle: (s: string, k: string) => string;
  question: (s: string) => string;
};
const cap = (s: string) => s[0].toUpperCase() + s.slice(1);

function wordings(forms: readonly Form[], subjects: readonly string[]): Wording[] {
  return forms.flatMap((f) =>
    subjects.map((s) => ({
      id: `${f.id}:${s}`,
      needle: (k: string) => f.needle(s, k),
      question: f.question(s),
    }))
  );
}

/** The original template (the first training wording): "The pass key is NNNNN. Remember it." */
export const CANONICAL_WORDING: Wording = {
  id: "canonical",
  needle: (k) => ` The pass key is ${k}. Remember it. `,
  question: " What is the pass key? The pass key is ",
};

/** Sentence forms and nouns used in training (pretraining stage 3d and every fine-tune). */
const TRAINING_FORMS: readonly Form[] = [
  { id: "is", needle: (s, k) => ` The ${s} is ${k}. `, question: (s) => ` The ${s} is ` },
  { id: "colon", needle: (s, k) => ` ${cap(s)}: ${k}. `, question: (s) => ` ${cap(s)}: ` },
  {
    id: "remember",
    needle: (s, k) => ` Remember the ${s} ${k}. `,
    question: (s) => ` What was the ${s}? It was `,
  },
  {
    id: "wrote",
    needle: (s, k) => ` I wrote the ${s} down as ${k}. `,
    question: (s) => ` Which ${s} did I write down? I wrote `,
  },
];
/** More forms with other answer cues, for the `varied` set (cues never used by held-out forms). */
const MORE_TRAINING_FORMS: readonly Form[] = [
  { id: "equals", needle: (s, k) => ` ${cap(s)} = ${k}; `, question: (s) => ` ${cap(s)} = ` },
  {
    id: "qa",
    needle: (s, k) => ` The ${s} I was given is ${k}. `,
    question: (s) => ` Q: What ${s} was I given? A: `,
  },
  {
    id: "told",
    needle: (s, k) => ` They told me the ${s}, ${k}. `,
    question: () => ` What did they tell me? They told me `,
  },
  {
    id: "set",
    needle: (s, k) => ` The ${s} has been set to ${k}. `,
    question: (s) => ` What has the ${s} been set to? It has been set to `,
  },
  { id: "dash", needle: (s, k) => ` ${s} - ${k}. `, question: (s) => ` ${s} - ` },
  {
    id: "recall",
    needle: (s, k) => ` Do not forget ${k}, the ${s}. `,
    question: (s) => ` Recall the ${s}. It is `,
  },
  {
    id: "use",
    needle: (s, k) => ` Use ${k} as the ${s}. `,
    question: (s) => ` Which ${s} should I use? Use `,
  },
  {
    id: "number",
    needle: (s, k) => ` The ${s} was the number ${k}. `,
    question: (s) => ` What number was the ${s}? The number was `,
  },
];
const TRAINING_SUBJECTS = [
  "pass key",
  "secret number",
  "access code",
  "locker code",
  "room number",
  "serial number",
] as const;

/** Forms and nouns that never occur in training: cues that do not end in "is" or ":". */
const HELD_OUT_FORMS: readonly Form[] = [
  {
    id: "reads",
    needle: (s, k) => ` The ${s} on the card reads ${k}. `,
    question: (s) => ` Read the ${s} back. It reads `,
  },
  {
    id: "keep",
    needle: (s, k) => ` Please keep ${k} as your ${s}. `,
    question: (s) => ` Your ${s} should be `,
  },
  {
    id: "quote",
    needle: (s, k) => ` (${s} ${k}) `,
    question: (s) => ` Quote the ${s} given above: `,
  },
];
const HELD_OUT_SUBJECTS = ["vault number", "badge id", "ticket number"] as const;

/** Training wordings: the canonical one first, then 4 forms x 6 nouns. */
export const TRAINING_WORDINGS: readonly Wording[] = [
  CANONICAL_WORDING,
  ...wordings(TRAINING_FORMS, TRAINING_SUBJECTS),
];

/** A wider training set: the canonical wording, then 12 forms x 6 nouns. */
export const VARIED_WORDINGS: readonly Wording[] = [
  CANONICAL_WORDING,
  ...wordings([...TRAINING_FORMS, ...MORE_TRAINING_FORMS], TRAINING_SUBJECTS),
];

/** Held-out wordings (3 forms x 3 nouns): evaluation only. */
export const HELD_OUT_WORDINGS: readonly Wording[] = wordings(HELD_OUT_FORMS, HELD_OUT_SUBJECTS);

/** The wording sets by name (what evaluation settings and CLI flags refer to). */
export const WORDING_SETS = {
  canonical: [CANONICAL_WORDING],
  training: TRAINING_WORDINGS,
  varied: VARIED_WORDINGS,
  heldout: HELD_OUT_WORDINGS,
} as const satisfies Record<string, readonly Wording[]>;

/** A wording set's name. */
export type WordingSet = keyof typeof WORDING_SETS;

/** One retrieval example: feed `prompt`, greedily decode `answer.length` bytes, compare. */
export interface RetrievalExample {
  kind: "passkey" | "multikey";
  /** Everything before the answer; ends with the question. */
  prompt: Uint8Array;
  /** The 5 answer bytes (ASCII digits). */
  answer: Uint8Array;
  answerText: string;
  /** Index in `prompt` of the first digit of the needle's key. */
  keyPosition: number;
  /** Bytes from the needle's first key digit to the first answer byte (the retrieval distance). */
  offset: number;
  /** Fraction of the filler placed before the needle. */
  depth: number;
  /** Id of the {@link Wording} (passkey) or "multikey". */
  wording: string;
}

/** Options shared by both generators. */
export interface RetrievalOptions {
  /** Documents the filler is cut from (held-out for evaluation). */
  filler: readonly Document[];
  /** prompt.length + answer length: the sequence the model sees when scored. */
  length: number;
  /** Needle position as a fraction of the filler (0 = start, 1 = just before the question). */
  depth?: number;
  /** Alternatively, the retrieval distance in bytes (overrides depth). */
  offset?: number;
  rng: Rng;
}

function randomKey(rng: Rng): string {
  let s = String(1 + rng.int(9)); // no leading zero: every key is exactly 5 visible digits
  for (let i = 1; i < KEY_DIGITS; i++) s += String(rng.int(10));
  return s;
}

function fillerBytes(docs: readonly Document[], length: number, rng: Rng): Uint8Array {
  const out = new Uint8Array(length);
  let filled = 0;
  while (filled < length) {
    const doc = sampleDocument(docs, rng);
    const take = Math.min(length - filled, doc.bytes.length);
    const start = rng.int(doc.bytes.length - take + 1);
    out.set(doc.bytes.subarray(start, start + take), filled);
    filled += take;
  }
  // Newlines and the digits of verse-like text must not look like a key: keep filler digit-free.
  for (let i = 0; i < length; i++) if (out[i] >= 48 && out[i] <= 57) out[i] = 35; // '#'
  return out;
}

function concat(parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((s, p) => s + p.length, 0));
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}

function checkPlacement(opts: RetrievalOptions, minLength: number): void {
  if (!Number.isInteger(opts.length) || opts.length < minLength) {
    throw new RangeError(`length must be an integer >= ${minLength}; got ${opts.length}`);
  }
  if (opts.depth !== undefined && !(opts.depth >= 0 && opts.depth <= 1)) {
    throw new RangeError(`depth must be in [0, 1]; got ${opts.depth}`);
  }
  if (opts.filler.length === 0) throw new RangeError("filler must not be empty");
}

/**
 * Builds [filler][needle(s)][filler][question] so the whole sequence (with the answer) is
 * `length` bytes and the target needle sits at `depth` (or `offset` bytes before the answer).
 */
function build(
  kind: RetrievalExample["kind"],
  opts: RetrievalOptions,
  needle: (key: string) => string,
  question: string,
  distractors: string[],
  wording: string,
): RetrievalExample {
  const { rng } = opts;
  const key = randomKey(rng);
  const needleBytes = encode(needle(key));
  const keyInNeedle = needle(key).indexOf(key);
  const questionBytes = encode(question);
  const distractorBytes = distractors.map((d) => encode(d));
  const fixed = needleBytes.length + questionBytes.length + KEY_DIGITS +
    distractorBytes.reduce((s, d) => s + d.length, 0);
  checkPlacement(opts, fixed);
  const fillerLength = opts.length - fixed;
  // The body is the filler with the distractors inserted; the needle goes in at `at`.
  const bodyLength = opts.length - KEY_DIGITS - questionBytes.length - needleBytes.length;
  let at: number;
  if (opts.offset !== undefined) {
    const minOffset = needleBytes.length - keyInNeedle + questionBytes.length;
    const maxOffset = opts.length - KEY_DIGITS - keyInNeedle;
    if (!Number.isInteger(opts.offset) || opts.offset < minOffset || opts.offset > maxOffset) {
      throw new RangeError(
        `offset must be an integer in [${minOffset}, ${maxOffset}]; got ${opts.offset}`,
      );
    }
    at = opts.length - KEY_DIGITS - opts.offset - keyInNeedle;
  } else {
    at = Math.round((opts.depth ?? rng.next()) * bodyLength);
  }
  const filler = fillerBytes(opts.filler, fillerLength, rng);
  // Distractor positions in filler coordinates, redrawn until none straddles the needle.
  let spots: number[] = [];
  for (let attempt = 0; attempt < 1000; attempt++) {
    spots = distractorBytes.map(() => rng.int(fillerLength + 1));
    const order = spots.map((s, i) => [s, i]).sort((a, b) => a[0] - b[0]);
    let shift = 0;
    let ok = true;
    for (const [s, i] of order) {
      const startInBody = s + shift;
      const endInBody = startInBody + distractorBytes[i].length;
      if (at > startInBody && at < endInBody) ok = false;
      shift += distractorBytes[i].length;
    }
    if (ok) break;
  }
  const body = new Uint8Array(bodyLength);
  {
    const order = spots.map((s, i) => [s, i]).sort((a, b) => a[0] - b[0]);
    let cursor = 0;
    let o = 0;
    for (const [s, i] of order) {
      body.set(filler.subarray(cursor, s), o);
      o += s - cursor;
      cursor = s;
      body.set(distractorBytes[i], o);
      o += distractorBytes[i].length;
    }
    body.set(filler.subarray(cursor), o);
  }
  const prompt = concat([body.subarray(0, at), needleBytes, body.subarray(at), questionBytes]);
  const keyPosition = at + keyInNeedle;
  return {
    kind,
    prompt,
    answer: encode(key),
    answerText: key,
    keyPosition,
    offset: prompt.length - keyPosition,
    depth: bodyLength === 0 ? 0 : at / bodyLength,
    wording,
  };
}

/**
 * Passkey retrieval: the needle (by default "The pass key is NNNNN. Remember it.") inside filler,
 * then the question ("What is the pass key? The pass key is ") and the 5-digit answer.
 */
export function makePasskey(opts: RetrievalOptions & { wording?: Wording }): RetrievalExample {
  const w = opts.wording ?? CANONICAL_WORDING;
  return build("passkey", opts, w.needle, w.question, [], w.id);
}

/** Longest retrieval offset a wording allows in a prompt + answer of `length` bytes. */
export function maximumOffset(wording: Wording, length: number): number {
  const key = "0".repeat(KEY_DIGITS);
  return length - KEY_DIGITS - wording.needle(key).indexOf(key);
}

/** Shortest retrieval offset a wording allows (key, needle tail, question). */
export function minimumOffset(wording: Wording = CANONICAL_WORDING): number {
  const key = "0".repeat(KEY_DIGITS);
  const needle = wording.needle(key);
  return needle.length - needle.indexOf(key) + encode(wording.question).length;
}

/**
 * Multi-key retrieval: `numKeys` labelled keys ("The red pass key is NNNNN."), one asked for.
 * The distractors carry other labels and other random keys.
 */
export function makeMultiKey(opts: RetrievalOptions & { numKeys?: number }): RetrievalExample {
  const numKeys = opts.numKeys ?? 4;
  if (!Number.isInteger(numKeys) || numKeys < 2 || numKeys > KEY_LABELS.length) {
    throw new RangeError(`numKeys must be an integer in [2, ${KEY_LABELS.length}]; got ${numKeys}`);
  }
  const labels = [...KEY_LABELS];
  for (let i = labels.length - 1; i > 0; i--) {
    const j = opts.rng.int(i + 1);
    [labels[i], labels[j]] = [labels[j], labels[i]];
  }
  const [target, ...others] = labels.slice(0, numKeys);
  const distractors = others.map((l) => ` The ${l} pass key is ${randomKey(opts.rng)}. `);
  return build(
    "multikey",
    opts,
    (k) => ` The ${target} pass key is ${k}. `,
    ` What is the ${target} pass key? The ${target} pass key is `,
    distractors,
    "multikey",
  );
}

/** prompt + answer as one sequence (what training and teacher-forced scoring feed the model). */
export function exampleSequence(ex: RetrievalExample): Uint8Array {
  return concat([ex.prompt, ex.answer]);
}
