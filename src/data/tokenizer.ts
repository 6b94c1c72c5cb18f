/**
 * The byte-level tokenizer: a token is one UTF-8 byte (vocabulary 256), so there is nothing to
 * train and bits per token are bits per byte.
 *
 * @example
 * ```ts
 * import { decode, encode } from "./tokenizer.ts";
 * decode(encode("pass key 12345")); // "pass key 12345"
 * ```
 * @module
 */

/** Vocabulary size of the byte tokenizer. */
export const BYTE_VOCAB_SIZE = 256;

const encoder = new TextEncoder();
const decoder = new TextDecoder("utf-8", { fatal: false });

/** UTF-8 bytes of `text`, one token each. */
export function encode(text: string): Uint8Array {
  if (typeof text !== "string") throw new TypeError(`text must be a string; got ${typeof text}`);
  return encoder.encode(text);
}

/** Text of `tokens` (invalid UTF-8 becomes U+FFFD). Throws on ids outside [0, 256). */
export function decode(tokens: ArrayLike<number>): string {
  const bytes = new Uint8Array(tokens.length);
  for (let i = 0; i < tokens.length; i++) {
    const t = tokens[i];
    if (!Number.isInteger(t) || t < 0 || t >= BYTE_VOCAB_SIZE) {
      throw new RangeError(`tokens[${i}] must be an integer in [0, 255]; got ${t}`);
    }
    bytes[i] = t;
  }
  return decoder.decode(bytes);
}
