/**
 * Exercise markers in the course notebooks, their validation, and the learner version.
 *
 * An exercise is a code cell starting `// EXERCISE nn.k: title (p points)` with the reference
 * solution between `// BEGIN SOLUTION` and `// END SOLUTION`, followed by a cell starting
 * `// TESTS nn.k` whose hidden checks sit between `// BEGIN HIDDEN TESTS` and `// END HIDDEN TESTS`.
 *
 * @example
 * ```ts
 * const nb = parseNotebookText(Deno.readTextFileSync("notebooks/01_rope.ipynb"), "01_rope");
 * const exercises = findExercises(nb); // throws a clear error if a marker is wrong
 * const learner = learnerVersion(nb);
 * ```
 * @module
 */

/** A notebook cell as nbformat 4 stores it. */
export interface NotebookCell {
  cell_type: string;
  source: string | string[];
  metadata?: Record<string, unknown>;
  outputs?: unknown[];
  execution_count?: number | null;
  [key: string]: unknown;
}

/** An nbformat 4 notebook. */
export interface Notebook {
  nbformat: number;
  nbformat_minor?: number;
  metadata: { kernelspec?: { name?: string }; [key: string]: unknown };
  cells: NotebookCell[];
}

/** One exercise: its cells and what the grader needs from them. */
export interface Exercise {
  id: string;
  title: string;
  points: number;
  /** Index of the exercise cell and of its TESTS cell in `cells`. */
  cellIndex: number;
  testsIndex: number;
  /** Sources of the two cells. */
  source: string;
  tests: string;
}

const EXERCISE_RE = /^\/\/ EXERCISE (\d+\.\d+): (.+?) \((\d+(?:\.\d+)?) points?\)\s*$/;
const TESTS_RE = /^\/\/ TESTS (\d+\.\d+)\s*$/;

/** The source of a cell as one string. */
export function cellSource(cell: NotebookCell): string {
  return Array.isArray(cell.source) ? cell.source.join("") : String(cell.source ?? "");
}

/**
 * Parses notebook JSON text, checking it is an nbformat 4 notebook for the Deno kernel.
 * Throws a TypeError naming `name` and what is wrong (empty, not JSON, not a notebook, wrong kernel).
 *
 * @example
 * ```ts
 * parseNotebookText("{}", "x"); // TypeError: x is not an nbformat 4 notebook ...
 * ```
 */
export function parseNotebookText(text: string, name: string): Notebook {
  if (text.trim() === "") throw new TypeError(`${name} is empty (0 bytes of notebook JSON)`);
  let nb: Partial<Notebook>;
  try {
    nb = JSON.parse(text);
  } catch (e) {
    // V8's message quotes the text; keep only where it failed (the text may be any file's)
    const at = /position (\d+)/.exec((e as Error).message)?.[1];
    throw new TypeError(
      `${name} is not a notebook: JSON parse failed${at ? ` at position ${at}` : ""}`,
    );
  }
  if (typeof nb !== "object" || nb === null || nb.nbformat !== 4 || !Array.isArray(nb.cells)) {
    throw new TypeError(
      `${name} is not an nbformat 4 notebook (needs nbformat: 4 and a cells list)`,
    );
  }
  const kernel = nb.metadata?.kernelspec?.name ?? "";
  if (kernel !== "deno") {
    throw new TypeError(`${name}: wrong kernel: kernelspec.name must be 'deno'; got '${kernel}'`);
  }
  for (const [i, c] of nb.cells.entries()) {
    if (typeof c !== "object" || c === null || typeof c.cell_type !== "string") {
      throw new TypeError(`${name}: cell ${i} is malformed (no cell_type)`);
    }
    if (typeof c.source !== "string" && !Array.isArray(c.source)) {
      throw new TypeError(`${name}: cell ${i} is malformed (source must be a string or a list)`);
    }
  }
  return nb as Notebook;
}

/** Line-level marker check of one region kind; returns problems found. */
function regionProblems(src: string, begin: string, end: string, where: string): string[] {
  const problems: string[] = [];
  let open = false;
  for (const line of src.split("\n")) {
    const t = line.trim();
    if (t === begin) {
      if (open) problems.push(`${where}: nested ${begin}`);
      open = true;
    } else if (t === end) {
      if (!open) problems.push(`${where}: ${end} without ${begin}`);
      open = false;
    }
  }
  if (open) problems.push(`${where}: ${begin} without ${end}`);
  return problems;
}

/**
 * Finds and validates the exercises of a notebook: balanced markers, every exercise followed by a
 * TESTS cell with at least one `assert`, unique ids, points > 0. Throws one Error listing every
 * problem (prefixed with `name`).
 *
 * @example
 * ```ts
 * const ex = findExercises(nb, "01_rope"); // [{ id: "01.1", points: 3, ... }, ...]
 * ```
 */
export function findExercises(nb: Notebook, name = "notebook"): Exercise[] {
  const problems: string[] = [];
  const exercises: Exercise[] = [];
  const seen = new Set<string>();
  const testsUsed = new Set<number>();
  nb.cells.forEach((cell, i) => {
    if (cell.cell_type !== "code") return;
    const src = cellSource(cell);
    const first = src.split("\n")[0];
    const where = `${name} cell ${i}`;
    if (first.startsWith("// EXERCISE")) {
      const m = EXERCISE_RE.exec(first);
      if (!m) {
        problems.push(
          `${where}: bad marker '${first}' (want '// EXERCISE nn.k: title (p points)')`,
        );
        return;
      }
      const [, id, title, pts] = m;
      const points = Number(pts);
      if (!(points > 0)) problems.push(`${where}: points must be > 0; got ${pts}`);
      if (seen.has(id)) problems.push(`${where}: exercise id ${id} is used twice`);
      seen.add(id);
      problems.push(...regionProblems(src, "// BEGIN SOLUTION", "// END SOLUTION", where));
      if (!src.split("\n").some((l) => l.trim() === "// BEGIN SOLUTION")) {
        problems.push(`${where}: exercise ${id} has no // BEGIN SOLUTION region`);
      }
      // its TESTS cell: the next code cell
      let j = i + 1;
      while (j < nb.cells.length && nb.cells[j].cell_type !== "code") j++;
      const tests = j < nb.cells.length ? cellSource(nb.cells[j]) : "";
      const tm = TESTS_RE.exec(tests.split("\n")[0]);
      if (!tm || tm[1] !== id) {
        problems.push(`${where}: exercise ${id} is not followed by a '// TESTS ${id}' cell`);
        return;
      }
      testsUsed.add(j);
      if (!/\bassert\b/.test(stripComments(tests))) {
        problems.push(`${name} cell ${j}: TESTS ${id} has no assert`);
      }
      problems.push(
        ...regionProblems(
          tests,
          "// BEGIN HIDDEN TESTS",
          "// END HIDDEN TESTS",
          `${name} cell ${j}`,
        ),
      );
      exercises.push({ id, title, points, cellIndex: i, testsIndex: j, source: src, tests });
    } else if (first.startsWith("// TESTS") && !testsUsed.has(i)) {
      problems.push(`${where}: '${first}' does not follow its exercise cell`);
    }
  });
  if (problems.length) throw new Error(`invalid exercises:\n  ${problems.join("\n  ")}`);
  return exercises;
}

/** Replaces the lines between begin and end (inclusive) using `replace(indent)`. */
function replaceRegions(
  src: string,
  begin: string,
  end: string,
  replace: (indent: string) => string[],
): string {
  const out: string[] = [];
  let open = false;
  for (const line of src.split("\n")) {
    const t = line.trim();
    if (t === begin) {
      open = true;
      out.push(...replace(line.slice(0, line.length - line.trimStart().length)));
    } else if (t === end) open = false;
    else if (!open) out.push(line);
  }
  return out.join("\n");
}

/** The learner's version of an exercise cell: the solution becomes a throwing stub. */
export function learnerExerciseSource(src: string, title: string): string {
  return replaceRegions(
    src,
    "// BEGIN SOLUTION",
    "// END SOLUTION",
    (indent) => [`${indent}throw new Error(${JSON.stringify(`not implemented yet: ${title}`)});`],
  );
}

/** A TESTS cell without its hidden region. */
export function visibleTests(src: string): string {
  return replaceRegions(src, "// BEGIN HIDDEN TESTS", "// END HIDDEN TESTS", () => []);
}

/** Splits a source string into nbformat's list-of-lines form. */
function toLines(src: string): string[] {
  const lines = src.split("\n");
  return lines.map((l, i) => (i < lines.length - 1 ? l + "\n" : l)).filter((l) => l !== "");
}

/**
 * The learner version of a notebook: solutions replaced by `throw new Error("not implemented yet:
 * <title>")` (indentation kept), hidden tests removed, all outputs and execution counts cleared.
 *
 * @example
 * ```ts
 * const learner = learnerVersion(nb);
 * ```
 */
export function learnerVersion(nb: Notebook, name = "notebook"): Notebook {
  const exercises = findExercises(nb, name);
  const byCell = new Map<number, string>();
  for (const ex of exercises) {
    byCell.set(ex.cellIndex, learnerExerciseSource(ex.source, ex.title));
    byCell.set(ex.testsIndex, visibleTests(ex.tests));
  }
  const copy: Notebook = structuredClone(nb);
  copy.cells.forEach((cell, i) => {
    if (byCell.has(i)) cell.source = toLines(byCell.get(i)!);
    if (cell.cell_type === "code") {
      cell.outputs = [];
      cell.execution_count = null;
    }
  });
  return copy;
}

/** The source with comments blanked (strings kept), for searching. */
export function stripComments(src: string): string {
  return scan(src).map((t) => (t.kind === "comment" ? " " : t.text)).join("");
}

/** The source with comments and string literals blanked (template substitutions are code). */
export function codeOnly(src: string): string {
  return scan(src).map((t) => (t.kind === "code" ? t.text : " ")).join("");
}

/** Limits on a submission, checked before any parsing beyond JSON. */
export const SUBMISSION_LIMITS = { fileBytes: 20 << 20, codeCellChars: 64 << 10, codeCells: 1000 };

/**
 * Why a parsed submission is too big to grade (a code cell over 64 Ki characters, more than 1000
 * code cells), or null. The file size (20 MiB) is checked before reading.
 */
export function submissionLimitProblem(nb: Notebook, name: string): string | null {
  const code = nb.cells.filter((c) => c.cell_type === "code");
  if (code.length > SUBMISSION_LIMITS.codeCells) {
    return `${name} has ${code.length} code cells; at most ${SUBMISSION_LIMITS.codeCells} are graded`;
  }
  for (const [i, c] of nb.cells.entries()) {
    const n = c.cell_type === "code" ? cellSource(c).length : 0;
    if (n > SUBMISSION_LIMITS.codeCellChars) {
      return `${name}: code cell ${i} has ${n} characters; a cell may have at most ` +
        `${SUBMISSION_LIMITS.codeCellChars}`;
    }
  }
  return null;
}

/** A lexical piece: code text, a string/template/regex literal or a comment. */
interface Piece {
  kind: "code" | "string" | "comment";
  text: string;
}

/**
 * A small tokenizer that separates comments and string, template and regex literals from code,
 * enough to split statements by bracket depth and to find identifiers. Template literal
 * substitutions `${...}` are returned as code.
 */
function scan(src: string): Piece[] {
  const pieces: Piece[] = [];
  // code is src.slice(codeStart, i): indexing one flat string, never a string grown by +=
  // (which V8 would flatten again at every look back, quadratic in the cell's length)
  let codeStart = 0;
  let i = 0;
  /** Ends the code run before `i` and adds the literal or comment src[i, end). */
  const literal = (kind: Piece["kind"], end: number) => {
    if (i > codeStart) pieces.push({ kind: "code", text: src.slice(codeStart, i) });
    pieces.push({ kind, text: src.slice(i, end) });
    i = codeStart = end;
  };
  const templateDepth: number[] = []; // brace depth at which each open ${ started
  let brace = 0;
  while (i < src.length) {
    const c = src[i];
    const n = src[i + 1];
    if (c === "/" && (n === "/" || n === "*")) {
      literal("comment", commentEnd(src, i));
    } else if (c === "'" || c === '"') {
      literal("string", quotedEnd(src, i));
    } else if (c === "`" || (c === "}" && templateDepth.length && templateDepth.at(-1) === brace)) {
      if (c === "}") templateDepth.pop();
      const r = templateEnd(src, i + 1);
      if (r < 0) templateDepth.push(brace);
      literal("string", Math.abs(r));
    } else if (c === "/" && startsRegex(src, i, codeStart, pieces)) {
      literal("string", regexEnd(src, i));
    } else {
      if (c === "{") brace++;
      else if (c === "}") brace--;
      i++;
    }
  }
  if (i > codeStart) pieces.push({ kind: "code", text: src.slice(codeStart, i) });
  return pieces;
}

/** Where the `//` or `/*` comment starting at `i` ends (exclusive; the newline stays code). */
function commentEnd(src: string, i: number): number {
  if (src[i + 1] === "/") {
    const e = src.indexOf("\n", i);
    return e === -1 ? src.length : e;
  }
  const e = src.indexOf("*/", i + 2);
  return e === -1 ? src.length : e + 2;
}

/** Where the quoted string starting at `i` ends (exclusive; an unclosed one stops at the line). */
function quotedEnd(src: string, i: number): number {
  const q = src[i];
  let j = i + 1;
  while (j < src.length && src[j] !== q && src[j] !== "\n") j += src[j] === "\\" ? 2 : 1;
  return j + 1;
}

/**
 * From just after ` (or after } closing a substitution): the index after the closing `, or
 * minus the index after a `${` that opens a substitution.
 */
function templateEnd(src: string, start: number): number {
  let j = start;
  while (j < src.length) {
    if (src[j] === "\\") j += 2;
    else if (src[j] === "`") return j + 1;
    else if (src[j] === "$" && src[j + 1] === "{") return -(j + 2);
    else j++;
  }
  return src.length;
}

/** Whether the `/` at `i` opens a regex literal (rather than dividing), judged by what precedes. */
function startsRegex(src: string, i: number, codeStart: number, pieces: Piece[]): boolean {
  return /^$|[(,=:[!&|?{};+\-*%<>~^]$/.test(lastSignificant(src, i, codeStart, pieces)) &&
    !/\breturn$|\btypeof$/.test(src.slice(Math.max(codeStart, i - 8), i));
}

/** The last non-blank character before `i` that is not in a comment ("a" for a literal). */
function lastSignificant(src: string, i: number, codeStart: number, pieces: Piece[]): string {
  for (let j = i - 1; j >= codeStart; j--) if (!/\s/.test(src[j])) return src[j];
  for (let p = pieces.length - 1; p >= 0; p--) {
    if (pieces[p].kind === "comment") continue;
    if (pieces[p].kind === "string") return "a";
    const t = pieces[p].text.trimEnd();
    if (t) return t[t.length - 1];
  }
  return "";
}

/** Where the regex literal starting at `i` ends, flags included (exclusive). */
function regexEnd(src: string, i: number): number {
  let j = i + 1;
  let cls = false;
  while (j < src.length && src[j] !== "\n") {
    if (src[j] === "\\") j += 2;
    else {
      if (src[j] === "[") cls = true;
      else if (src[j] === "]") cls = false;
      else if (src[j] === "/" && !cls) break;
      j++;
    }
  }
  j++;
  while (j < src.length && /[a-z]/i.test(src[j])) j++;
  return j;
}

const BLOCK_STARTERS =
  /^(?:export\s+)?(?:async\s+function|function|class|interface|enum|for|while|if|try|do|switch|namespace|declare)\b|^\{/;

/**
 * Splits source into top-level statements by bracket depth, minding strings, template literals,
 * regex literals and comments. Leading comments stay with the statement that follows them.
 *
 * @example
 * ```ts
 * splitStatements("const a = [1, 2];\nassert.equal(a.length, 2);"); // two statements
 * ```
 */
export function splitStatements(src: string): string[] {
  const out: string[] = [];
  let current = "";
  let depth = 0;
  let code = ""; // the current statement's code only (no comments)
  let head = -1; // where the statement's code starts (-1: not yet), to test how it begins
  let headText: string | null = null; // its first 80 characters, once there are 80
  const beginning = () => {
    if (headText !== null) return headText;
    const t = code.slice(head, head + 80);
    if (t.length === 80) headText = t;
    return t;
  };
  const push = () => {
    if (head >= 0) out.push(current.trim());
    else if (current.trim() && out.length === 0) {
      /* comments only so far: keep them for the next statement */ return;
    }
    current = "";
    code = "";
    head = -1;
    headText = null;
  };
  const pieces = scan(src);
  for (let p = 0; p < pieces.length; p++) {
    const piece = pieces[p];
    if (piece.kind !== "code") {
      current += piece.text;
      if (piece.kind === "string") {
        if (head < 0) head = code.length;
        code += piece.text;
      }
      continue;
    }
    const text = piece.text;
    for (let i = 0; i < text.length; i++) {
      const c = text[i];
      current += c;
      if (head < 0 && !WHITESPACE.test(c)) head = code.length;
      code += c;
      if ("([{".includes(c)) depth++;
      else if (")]}".includes(c)) depth--;
      if (depth !== 0) continue;
      if (c === ";") push();
      else if (c === "}" && BLOCK_STARTERS.test(beginning())) {
        // a block statement ends here unless it continues (else, catch, finally, while of do)
        if (!CONTINUES.test(nextSignificant(pieces, p, i + 1))) push();
      }
    }
  }
  if (head >= 0) out.push(current.trim());
  return out;
}

const WHITESPACE = /\s/;
const CONTINUES = /^(else|catch|finally|while)\b|^[).,;?:=&|]/;
const SKIP_SPACE = /\s*/y;

/** Up to 16 characters of code after `pieces[p].text[i]`, skipping spaces and comments. */
function nextSignificant(pieces: Piece[], p: number, i: number): string {
  for (let q = p; q < pieces.length; q++) {
    const piece = pieces[q];
    if (piece.kind === "comment") continue;
    const from = q === p ? i : 0;
    if (piece.kind === "string") return piece.text.slice(0, 16);
    SKIP_SPACE.lastIndex = from;
    SKIP_SPACE.exec(piece.text);
    const at = SKIP_SPACE.lastIndex;
    if (at < piece.text.length) return piece.text.slice(at, at + 16);
  }
  return "";
}

/** Identifiers a piece of code mentions (not property names after `.`), comments/strings excluded. */
export function identifiersUsed(src: string): Set<string> {
  const names = new Set<string>();
  for (const piece of scan(src)) {
    let text = piece.text;
    if (piece.kind === "comment") continue;
    if (piece.kind === "string") {
      // only template substitutions hold code
      const subs = [...text.matchAll(/\$\{([^}]*)\}/g)].map((m) => m[1]);
      if (!text.startsWith("`") && !text.startsWith("}")) continue;
      text = subs.join(" ");
    }
    // A name after one "." is a property; after "..." (spread, rest) it is a use.
    for (const m of text.matchAll(/(?:(?<=\.\.\.)|(?<![.\w$]))[A-Za-z_$][\w$]*/g)) {
      names.add(m[0]);
    }
  }
  return names;
}

/** Names bound by a destructuring pattern or a single identifier. */
function patternNames(pattern: string): string[] {
  // drop default values and property keys (`a: b` binds b), keep identifiers
  const cleaned = pattern.replace(/=[^,}\]]*/g, "").replace(/(?<![\w$])[\w$]+\s*:/g, "");
  return [...cleaned.matchAll(/[A-Za-z_$][\w$]*/g)].map((m) => m[0]);
}

/**
 * Top-level names a statement declares: `function f`, `class C`, `const/let/var` (incl.
 * destructuring), `interface`, `type`, `enum`. Imports are handled separately.
 *
 * @example
 * ```ts
 * declaredNames("const { a, b: c } = obj;"); // ["a", "c"]
 * ```
 */
export function declaredNames(stmt: string, opts: { valuesOnly?: boolean } = {}): string[] {
  const code = stripComments(stmt).trim().replace(/^export\s+/, "");
  let m = /^(?:async\s+)?function\s*\*?\s*([A-Za-z_$][\w$]*)/.exec(code) ??
    /^class\s+([A-Za-z_$][\w$]*)/.exec(code);
  if (m) return [m[1]];
  m = /^(?:interface|type|enum|declare\s+\w+)\s+([A-Za-z_$][\w$]*)/.exec(code);
  if (m) return opts.valuesOnly && !code.startsWith("enum") ? [] : [m[1]];
  m = /^(?:const|let|var)\s+/.exec(code);
  if (!m) return [];
  // split declarators at depth 0 commas; each declarator's binding is before its '=' or ':'
  const body = code.slice(m[0].length);
  const names: string[] = [];
  let depth = 0;
  let start = 0;
  const declarators: string[] = [];
  for (let i = 0; i < body.length; i++) {
    const c = body[i];
    if ("([{<".includes(c)) depth++;
    else if (")]}>".includes(c) && !(c === ">" && body[i - 1] === "=")) depth--;
    else if (c === "," && depth === 0) {
      declarators.push(body.slice(start, i));
      start = i + 1;
    } else if (c === ";" && depth === 0) break;
  }
  declarators.push(body.slice(start));
  for (const d of declarators) {
    const t = d.trim();
    if (t.startsWith("{") || t.startsWith("[")) {
      // the pattern up to its matching bracket
      let dd = 0;
      for (let i = 0; i < t.length; i++) {
        if ("[{".includes(t[i])) dd++;
        else if ("]}".includes(t[i]) && --dd === 0) {
          names.push(...patternNames(t.slice(1, i)));
          break;
        }
      }
    } else {
      const id = /^[A-Za-z_$][\w$]*/.exec(t);
      if (id) names.push(id[0]);
    }
  }
  return names;
}

/** One parsed import declaration: which local names it binds from which specifier. */
export interface ImportBinding {
  local: string;
  /** "default", "*" or the exported name. */
  imported: string;
  specifier: string;
  typeOnly: boolean;
}

/** Whether a statement is an import declaration (not `import(...)` nor `import.meta`). */
export function isImportStatement(stmt: string): boolean {
  return /^import\s*[\w${*"']/.test(stripComments(stmt).trim()) &&
    !/^import\s*\(/.test(stripComments(stmt).trim());
}

/**
 * The bindings of an import declaration (side-effect imports give one binding with local "").
 *
 * @example
 * ```ts
 * parseImport(`import assert, { ok as yes } from "node:assert/strict";`);
 * ```
 */
export function parseImport(stmt: string): ImportBinding[] {
  let code = stripComments(stmt).trim();
  if (code.length > 4000) {
    throw new SyntaxError("an import declaration longer than 4000 characters");
  }
  // import attributes (`with { type: "json" }`) are not kept: no course import needs them
  code = code.replace(/\s*\b(with|assert)\s*\{[^{}]*\}\s*;?\s*$/, ";");
  const spec = /from\s*(["'])(.+?)\1\s*;?\s*$/.exec(code) ?? /^import\s*(["'])(.+?)\1/.exec(code);
  if (!spec) throw new SyntaxError(`cannot parse import: ${code.slice(0, 120)}`);
  const specifier = spec[2];
  const clause = code.replace(/^import\s*/, "").replace(/\s*from\s*["'].*$/s, "");
  if (/^["']/.test(clause)) return [{ local: "", imported: "", specifier, typeOnly: false }];
  const typeOnlyAll = /^type\s/.test(clause);
  const c = clause.replace(/^type\s+/, "");
  const out: ImportBinding[] = [];
  const braces = /\{([\s\S]*)\}/.exec(c);
  const outside = c.replace(/\{[\s\S]*\}/, "").split(",").map((s) => s.trim()).filter(Boolean);
  for (const part of outside) {
    const ns = /^\*\s*as\s+([\w$]+)/.exec(part);
    if (ns) out.push({ local: ns[1], imported: "*", specifier, typeOnly: typeOnlyAll });
    else out.push({ local: part, imported: "default", specifier, typeOnly: typeOnlyAll });
  }
  if (braces) {
    for (const raw of braces[1].split(",").map((s) => s.trim()).filter(Boolean)) {
      const typeOnly = typeOnlyAll || /^type\s/.test(raw);
      const [imported, local] = raw.replace(/^type\s+/, "").split(/\s+as\s+/).map((s) => s.trim());
      out.push({ local: local ?? imported, imported, specifier, typeOnly });
    }
  }
  return out;
}

/** Renders one binding as its own import declaration. */
export function importDeclaration(b: ImportBinding): string {
  const type = b.typeOnly ? "type " : "";
  if (b.local === "") return `import ${JSON.stringify(b.specifier)};`;
  if (b.imported === "*") {
    return `import ${type}* as ${b.local} from ${JSON.stringify(b.specifier)};`;
  }
  if (b.imported === "default") {
    return `import ${type}${b.local} from ${JSON.stringify(b.specifier)};`;
  }
  const name = b.imported === b.local ? b.local : `${b.imported} as ${b.local}`;
  return `import ${type}{ ${name} } from ${JSON.stringify(b.specifier)};`;
}
