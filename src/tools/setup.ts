/**
 * Makes a fresh Debian machine ready for the course: the Debian packages the notebook runner and
 * the figure renderer need (installed when running as root, otherwise listed with the exact
 * command), the npm dependencies, and the Deno Jupyter kernel registered for this Deno binary.
 *
 * `deno task setup [--lab]` (the course, test and lab tasks run it first).
 * @module
 */

/** Debian packages every run needs: the headless runner (nbclient, nbconvert) and chromium. */
export const DEBIAN_PACKAGES = [
  "python3-nbclient",
  "python3-nbformat",
  "python3-jupyter-client",
  "python3-nbconvert",
  "chromium",
  "fonts-dejavu-core",
  "bubblewrap", // the autograder's OS jail for learner code (src/grade/jail.ts)
];
/** Extra packages for `deno task lab`. */
export const LAB_PACKAGES = ["jupyter-notebook"];
/** The Python that has Debian's Jupyter packages (a pyenv or venv python usually has not). */
export const PYTHON = Deno.env.get("COURSE_PYTHON") ?? "/usr/bin/python3";

async function run(cmd: string, args: string[], quiet = false): Promise<Deno.CommandOutput> {
  return await new Deno.Command(cmd, {
    args,
    stdout: quiet ? "piped" : "inherit",
    stderr: quiet ? "piped" : "inherit",
  }).output();
}

async function missingPackages(names: string[]): Promise<string[]> {
  const missing: string[] = [];
  for (const name of names) {
    const out = await run("dpkg-query", ["-W", "-f=${Status}", name], true).catch(() => null);
    const status = out ? new TextDecoder().decode(out.stdout) : "";
    if (!status.includes("install ok installed")) missing.push(name);
  }
  return missing;
}

/** Installs the Debian packages of `names` that are missing (as root), or exits with the command. */
export async function ensurePackages(names: string[]): Promise<void> {
  const missing = await missingPackages(names);
  if (missing.length === 0) return;
  const isRoot = Deno.uid?.() === 0;
  if (!isRoot) {
    console.error(
      `Missing Debian packages. Install them, then run this again:\n` +
        `  sudo apt-get update && sudo apt-get install -y ${missing.join(" ")}`,
    );
    Deno.exit(1);
  }
  console.log(`setup: installing Debian packages: ${missing.join(" ")}`);
  const env = { DEBIAN_FRONTEND: "noninteractive" };
  const update = await new Deno.Command("apt-get", { args: ["update", "-q"], env }).output();
  if (!update.success) throw new Error("apt-get update failed");
  const install = await new Deno.Command("apt-get", {
    args: ["install", "-y", "-q", "--no-install-recommends", ...missing],
    env,
    stdout: "inherit",
    stderr: "inherit",
  }).output();
  if (!install.success) throw new Error(`apt-get install failed for: ${missing.join(" ")}`);
}

async function kernelArgv0(): Promise<string | undefined> {
  const code = "from jupyter_client.kernelspec import KernelSpecManager as K\n" +
    "try:\n print(K().get_kernel_spec('deno').argv[0])\nexcept Exception:\n pass";
  const out = await run(PYTHON, ["-c", code], true);
  return new TextDecoder().decode(out.stdout).trim() || undefined;
}

async function ensureKernel(): Promise<void> {
  const current = await kernelArgv0();
  const ok = current !== undefined && (await Deno.realPath(current).catch(() => "")) ===
      (await Deno.realPath(Deno.execPath()));
  if (ok) return;
  console.log(`setup: registering the Deno Jupyter kernel (${Deno.execPath()})`);
  const res = await run(Deno.execPath(), ["jupyter", "--install", "--force"], true);
  if (!res.success) {
    throw new Error(`deno jupyter --install failed:\n${new TextDecoder().decode(res.stderr)}`);
  }
}

async function ensureNpmDeps(): Promise<void> {
  const res = await run(Deno.execPath(), ["install", "--quiet"], true);
  if (!res.success) {
    throw new Error(`deno install failed:\n${new TextDecoder().decode(res.stderr)}`);
  }
}

/** Runs every check; `lab` adds the Jupyter server package. */
export async function setup(opts: { lab?: boolean } = {}): Promise<void> {
  await ensurePackages(opts.lab ? [...DEBIAN_PACKAGES, ...LAB_PACKAGES] : DEBIAN_PACKAGES);
  await ensureNpmDeps();
  await ensureKernel();
}

if (import.meta.main) {
  await setup({ lab: Deno.args.includes("--lab") });
}
