/**
 * `deno task bench <name> [args...]`: runs `src/bench/<name>.ts`, whose `run(args)` measures its
 * subject side by side with a baseline in one process and writes CSV under `assets/bench/`.
 * `deno task bench` alone lists the benchmarks.
 * @module
 */
const dir = new URL(".", import.meta.url);
const available = [...Deno.readDirSync(dir)]
  .map((e) => e.name)
  .filter((n) => n.endsWith(".ts") && n !== "main.ts" && !n.endsWith("_util.ts"))
  .map((n) => n.slice(0, -3))
  .sort();
const [name, ...rest] = Deno.args;
if (!name || !available.includes(name)) {
  console.error(
    `${name ? `unknown benchmark "${name}". ` : ""}usage: deno task bench <name> [args]\n` +
      `benchmarks: ${available.join(", ")}`,
  );
  Deno.exit(name ? 2 : 0);
}
const mod = await import(new URL(`${name}.ts`, dir).href) as { run(args: string[]): Promise<void> };
await mod.run(rest);
