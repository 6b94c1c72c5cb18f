/**
 * The bench's meter of other processes' CPU (src/bench/cpu_share.ts): the /proc parsers, and a
 * busy child process counts as this process's own time, not as contamination.
 */
import assert from "node:assert/strict";
import { busyTicks, OtherCpu, otherCpuNote, ownTicks } from "../src/util/cpu_share.ts";

Deno.test("cpu share: /proc parsers read the right fields", () => {
  assert.equal(busyTicks("cpu  10 1 5 1000 7 2 3 4 0 0\ncpu0 1 2 3\n"), 10 + 1 + 5 + 2 + 3 + 4);
  // comm may hold spaces and parentheses: fields are counted after the last ")".
  const self = "42 (deno (x) y) S 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16";
  // fields 14-17 are utime 11, stime 12, cutime 13, cstime 14
  assert.equal(ownTicks(self), 11 + 12 + 13 + 14);
  assert.equal(otherCpuNote(0.02), "");
  assert.match(otherCpuNote(0.5), /contaminated: other processes used 50% of the cores/);
  assert.match(otherCpuNote(NaN), /unknown/);
});

Deno.test({
  name: "cpu share: a waited-for busy child is this process's own time",
  ignore: Deno.build.os !== "linux",
  fn: async () => {
    const own = () => ownTicks(Deno.readTextFileSync("/proc/self/stat"));
    const meter = new OtherCpu();
    const before = own();
    // The child burns CPU, then prints its own /proc stat line as it exits.
    const script = "i=0; while [ $i -lt 100000 ]; do i=$((i+1)); done; cat /proc/$$/stat";
    const out = await new Deno.Command("sh", { args: ["-c", script] }).output();
    const child = ownTicks(new TextDecoder().decode(out.stdout));
    assert.ok(child > 0, "the child used CPU");
    // Once waited for, its ticks are ours (cutime): it cannot pass for another process's load.
    assert.ok(own() - before >= child, `own ticks grew ${own() - before}, child used ${child}`);
    const share = meter.share();
    assert.ok(Number.isFinite(share) && share >= 0 && share <= 1, `share ${share}`);
  },
});
