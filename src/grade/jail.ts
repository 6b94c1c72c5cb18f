/**
 * The OS jail for a learner's process (Debian's bubblewrap): new user, pid, ipc, uts and network
 * namespaces (no network at all), the system's /usr read-only, the course files the learner's code
 * needs (src/, node_modules/, deno.json, deno.lock) read-only at their own paths, the learner
 * program read-only at /grade/learner, the two channel pipes, and size-limited tmpfs folders for
 * the work folder (/grade/work) and /tmp; the jail's root and /dev (unbounded tmpfs otherwise) are
 * read-only. Nothing else: not notebooks/ (reference solutions),
 * tests/, build/ (other learners' reports), the checker program (hidden tests), nor /etc or /root.
 *
 * `jailStatus()` probes once whether bwrap can create the namespaces here (a container may forbid
 * user namespaces); when it cannot, the grader falls back to Deno's permission sandbox alone, and
 * says so in every report.
 *
 * @example
 * ```ts
 * const jail = await jailStatus();
 * if (jail.available) args = [...bwrapArgs({ ... }), "deno", "run", ...];
 * ```
 * @module
 */
import { dirname } from "node:path";

/** Whether the jail can be used here, and why not. */
export interface JailStatus {
  available: boolean;
  /** Why the jail is not used (bwrap missing, namespaces forbidden, GRADE_JAIL=off). */
  reason?: string;
}

let probe: Promise<JailStatus> | undefined;

/**
 * Probes (once per process) whether `bwrap` can build the real jail here. `GRADE_JAIL=off` turns
 * the jail off.
 */
export function jailStatus(): Promise<JailStatus> {
  if (Deno.env.get("GRADE_JAIL") === "off") {
    return Promise.resolve({ available: false, reason: "GRADE_JAIL=off" });
  }
  probe ??= (async (): Promise<JailStatus> => {
    // the probe uses the real jail's flags: a container may allow namespaces but not mounting
    // /proc, or a tmpfs, and a jail that cannot start would zero every exercise
    const dir = await Deno.makeTempDir({ prefix: "grade-jail-probe-" });
    try {
      const args = bwrapArgs({
        courseReadOnly: [],
        learnerDir: dir,
        pipes: [],
        diskBytes: 1 << 20,
        env: {},
      });
      const out = await new Deno.Command("bwrap", {
        args: [...args, "/usr/bin/true"],
        stdout: "null",
        stderr: "piped",
      }).output();
      if (out.success) return { available: true };
      const why = new TextDecoder().decode(out.stderr).trim().slice(0, 200);
      return { available: false, reason: `bwrap cannot create namespaces here: ${why}` };
    } catch (e) {
      return { available: false, reason: `bwrap is not installed (${(e as Error).name})` };
    } finally {
      await Deno.remove(dir, { recursive: true }).catch(() => {});
    }
  })();
  return probe;
}

/** What the jail mounts. */
export interface JailMounts {
  /** Course paths mounted read-only at the same path (those that do not exist are skipped). */
  courseReadOnly: string[];
  /** Host folder with the learner program, mounted read-only at /grade/learner. */
  learnerDir: string;
  /** Host paths of the two pipes, mounted at /grade/io/<name>. */
  pipes: string[];
  /** Size of the writable work folder and of /tmp, in bytes. */
  diskBytes: number;
  /** Environment of the jailed process. */
  env: Record<string, string>;
}

/** Paths inside the jail. */
export const JAILED = { learner: "/grade/learner", work: "/grade/work", io: "/grade/io" };

function exists(path: string): Deno.FileInfo | null {
  try {
    return Deno.lstatSync(path);
  } catch {
    return null;
  }
}

/** The system folders, read-only (a symlinked /lib stays a symlink). */
function systemMounts(): string[] {
  const args = ["--ro-bind", "/usr", "/usr"];
  for (const dir of ["/bin", "/lib", "/lib64", "/sbin"]) {
    const info = exists(dir);
    if (!info) continue;
    if (info.isSymlink) args.push("--symlink", Deno.readLinkSync(dir), dir);
    else args.push("--ro-bind", dir, dir);
  }
  // the deno binary may live outside /usr (an npm install): mount its folder too
  const deno = Deno.realPathSync(Deno.execPath());
  if (!deno.startsWith("/usr/")) args.push("--ro-bind", dirname(deno), dirname(deno));
  return args;
}

/** The bwrap arguments (up to and excluding the command) for one learner process. */
export function bwrapArgs(m: JailMounts): string[] {
  if (!(Number.isInteger(m.diskBytes) && m.diskBytes >= 1 << 20)) {
    throw new RangeError(`diskBytes must be an integer >= 1 MiB; got ${m.diskBytes}`);
  }
  const args = [
    "--unshare-all",
    "--die-with-parent",
    "--new-session",
    "--cap-drop",
    "ALL",
    ...systemMounts(),
    "--proc",
    "/proc",
    "--dev",
    "/dev",
    "--remount-ro", // bwrap's /dev is an unbounded tmpfs: a learner could fill memory through it
    "/dev",
    "--size",
    String(m.diskBytes),
    "--tmpfs",
    "/tmp",
  ];
  for (const p of m.courseReadOnly) if (exists(p)) args.push("--ro-bind", p, p);
  args.push("--ro-bind", m.learnerDir, JAILED.learner);
  for (const p of m.pipes) args.push("--bind", p, `${JAILED.io}/${p.split("/").at(-1)}`);
  args.push("--size", String(m.diskBytes), "--tmpfs", JAILED.work, "--chdir", JAILED.work);
  // the root is an unbounded tmpfs too: read-only once every mount point exists
  args.push("--remount-ro", "/");
  args.push("--clearenv");
  for (const [k, v] of Object.entries(m.env)) args.push("--setenv", k, v);
  return args;
}
