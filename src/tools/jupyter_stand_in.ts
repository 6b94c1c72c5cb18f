/**
 * A stand-in for `Deno.jupyter`, so a notebook's code cells, joined into one module, run under
 * `deno run` / `deno test`. Importing this module installs it; displays print their text form
 * and are recorded in {@link displayed} for assertions.
 *
 * @example
 * ```ts
 * import "./jupyter_stand_in.ts"; // first import of the joined module
 * ```
 * @module
 */

/** Every mime bundle displayed so far. */
export const displayed: Record<string, unknown>[] = [];

function bundleOf(mime: string) {
  return (strings: TemplateStringsArray, ...values: unknown[]) => {
    const text = String.raw({ raw: strings }, ...values);
    return { [Symbol.for("Jupyter.display")]: () => ({ [mime]: text }) };
  };
}

const standIn = {
  display(obj: unknown, _opts?: { raw?: boolean; update?: boolean; display_id?: string }) {
    const bundle = (obj ?? {}) as Record<string, unknown>;
    displayed.push(bundle);
    const text = bundle["text/plain"];
    if (typeof text === "string") console.log(text);
  },
  broadcast: () => Promise.resolve(),
  md: bundleOf("text/markdown"),
  html: bundleOf("text/html"),
  svg: bundleOf("image/svg+xml"),
  format: (obj: unknown) => ({ "text/plain": Deno.inspect(obj) }),
  $display: Symbol.for("Jupyter.display"),
};

// Deno.jupyter has a setter outside the kernel; its getter throws until something is assigned.
(Deno as unknown as { jupyter: unknown }).jupyter = standIn;
