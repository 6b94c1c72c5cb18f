/**
 * Checks a generated learner module with a real parser (TypeScript's), so that what Deno will load
 * is what the grader meant: the module must be exactly the grader's import declarations (each with
 * an allowed specifier) and the one wrapper function `__learner` holding the learner's code; no
 * `import()`, `import.meta`, `import x = require()`, `export ... from` or `import("x")` type anywhere.
 * A cell that closes the wrapper early (say with a regex/division ambiguity that a simpler scanner
 * would misread) leaves extra top-level statements and is refused.
 *
 * @example
 * ```ts
 * learnerModuleProblem(moduleText, new Set(["node:assert/strict"])); // null when it is fine
 * ```
 * @module
 */
import ts from "typescript";

/** Why the module may not run (a sentence naming what was found), or null. */
export function learnerModuleProblem(text: string, allowedSpecifiers: Set<string>): string | null {
  try {
    return check(text, allowedSpecifiers);
  } catch (e) {
    // the parser itself gave up (say, nesting deep enough to overflow its stack)
    return `the cell's code cannot be checked (${String((e as Error)?.message).slice(0, 80)})`;
  }
}

function check(text: string, allowedSpecifiers: Set<string>): string | null {
  const sf = ts.createSourceFile(
    "learner.ts",
    text,
    ts.ScriptTarget.Latest,
    true,
    ts.ScriptKind.TS,
  );
  const diagnostics = (sf as unknown as { parseDiagnostics?: ts.Diagnostic[] }).parseDiagnostics;
  if (diagnostics?.length) {
    const message = ts.flattenDiagnosticMessageText(diagnostics[0].messageText, " ");
    return `SyntaxError: ${message.slice(0, 200)} (in the cell's code)`;
  }
  let wrappers = 0;
  for (const stmt of sf.statements) {
    if (ts.isImportDeclaration(stmt)) {
      const spec = (stmt.moduleSpecifier as ts.StringLiteral).text;
      if (!allowedSpecifiers.has(spec)) {
        return `an import of ${JSON.stringify(spec)} is not allowed`;
      }
    } else if (ts.isFunctionDeclaration(stmt) && stmt.name?.text === "__learner") wrappers++;
    else return "the cell's brackets close the grader's wrapper around it (unbalanced braces)";
  }
  if (wrappers !== 1) return "the cell's code declares __learner, a name the grader reserves";
  let found: string | null = null;
  const visit = (node: ts.Node): void => {
    if (found) return;
    if (ts.isCallExpression(node) && node.expression.kind === ts.SyntaxKind.ImportKeyword) {
      found = "import()";
    } else if (ts.isMetaProperty(node) && node.keywordToken === ts.SyntaxKind.ImportKeyword) {
      found = "import.meta";
    } else if (ts.isImportTypeNode(node)) found = "an import(...) type";
    else if (ts.isImportEqualsDeclaration(node)) found = "import ... = require()";
    else if (ts.isExportDeclaration(node) || ts.isImportDeclaration(node)) {
      found = "an import or export declaration inside the cell's code";
    }
    ts.forEachChild(node, visit);
  };
  for (const stmt of sf.statements) if (!ts.isImportDeclaration(stmt)) visit(stmt);
  return found;
}
