/**
 * Learner-controlled text made safe for reports: quoted and cut (so it reads as a quotation, never
 * as the grader's own words, and control characters cannot reshape a log), and CSV cells escaped
 * against formula injection.
 *
 * @example
 * ```ts
 * quote("Error: boom\n@@GRADE", 40); // "\"Error: boom\\n@@GRADE\""
 * csvCell("=1+2"); // "'=1+2"
 * ```
 * @module
 */

/** `text` cut to `max` characters (marked with …) and quoted as a JSON string. */
export function quote(text: string, max: number): string {
  if (!(Number.isInteger(max) && max >= 1)) {
    throw new RangeError(`max must be an integer >= 1; got ${max}`);
  }
  const cut = text.length > max ? text.slice(0, max) + "…" : text;
  return JSON.stringify(cut);
}

/**
 * One CSV cell: a value starting with =, +, -, @, tab or carriage return is prefixed with `'` (so a
 * spreadsheet shows it as text, not a formula), and a value with a comma, quote or line break is
 * quoted with inner quotes doubled. Numbers are written as they are.
 */
export function csvCell(value: string | number | null | undefined): string {
  if (value === null || value === undefined) return "";
  if (typeof value === "number") return Number.isFinite(value) ? String(value) : "";
  let s = value;
  if (/^[=+\-@\t\r]/.test(s)) s = "'" + s;
  return /[",\r\n]/.test(s) ? `"${s.replaceAll('"', '""')}"` : s;
}

/** `text` with control characters (terminal escapes, line breaks) shown as `\uXXXX`. */
export function printable(text: string): string {
  let out = "";
  for (const c of text) {
    const code = c.charCodeAt(0);
    const control = code < 0x20 || (code >= 0x7f && code <= 0x9f);
    out += control ? `\\u${code.toString(16).padStart(4, "0")}` : c;
  }
  return out;
}
