/**
 * Base64 encoding of bytes (Deno has `btoa` for strings only; no JSR std here).
 *
 * @example
 * ```ts
 * encodeBase64(new Uint8Array([104, 105])); // "aGk="
 * ```
 * @module
 */

/** Encodes bytes as standard base64. */
export function encodeBase64(bytes: Uint8Array): string {
  let s = "";
  const chunk = 0x8000; // String.fromCharCode has an argument-count limit
  for (let i = 0; i < bytes.length; i += chunk) {
    s += String.fromCharCode(...bytes.subarray(i, i + chunk));
  }
  return btoa(s);
}
