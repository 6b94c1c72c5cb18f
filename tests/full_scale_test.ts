/**
 * The full-scale computations against independent hand computations: YaRN's bands counted from
 * the wavelengths directly (a pair is kept iff it turns >= betaFast times in L0, interpolated iff
 * it turns <= betaSlow times), ALiBi's 32 slopes from the paper's formula 2^(-8h/n), the pairs
 * extrapolated RoPE takes out of distribution from wavelength > L0, and T5's far pairs.
 */
import assert from "node:assert/strict";
import {
  alibiWindows,
  COURSE_HEAD,
  FULL_SCALE_HEADS,
  type HeadGeometry,
  matchedYarnBetas,
  spectrumTable,
  t5BucketTable,
  yarnBands,
} from "../src/decision/full_scale.ts";

/** Turns of pair i in L0, written out from theta_i = base^(-2i/d) (no library code). */
function handTurns(h: HeadGeometry): number[] {
  return Array.from(
    { length: h.headDim / 2 },
    (_, i) => h.contextLength / (2 * Math.PI * h.ropeBase ** ((2 * i) / h.headDim)),
  );
}

const HEADS = [...FULL_SCALE_HEADS, COURSE_HEAD];

Deno.test("yarnBands: kept / ramped / interpolated match a count from the wavelengths", () => {
  for (const h of HEADS) {
    for (const [fast, slow] of [[32, 1], [16, 2], [4, 0.5], [3.05, 0.0966]]) {
      const t = handTurns(h);
      const kept = t.filter((x) => x >= fast).length;
      const interpolated = t.filter((x) => x <= slow).length;
      const b = yarnBands(h, fast, slow);
      assert.equal(b.kept, kept, `${h.label} ${fast}/${slow} kept`);
      assert.equal(b.interpolated, interpolated, `${h.label} ${fast}/${slow} interpolated`);
      assert.equal(b.kept + b.ramped + b.interpolated, h.headDim / 2);
    }
  }
  // The numbers the issue states: about 21 kept of 64 at full scale, 1 of 16 in the course.
  assert.deepEqual(
    [yarnBands(FULL_SCALE_HEADS[0]).kept, yarnBands(FULL_SCALE_HEADS[0]).interpolated],
    [21, 18],
  );
  assert.deepEqual(
    [
      yarnBands(COURSE_HEAD).kept,
      yarnBands(COURSE_HEAD).ramped,
      yarnBands(COURSE_HEAD).interpolated,
    ],
    [1, 6, 9],
  );
});

Deno.test("matchedYarnBetas: the course head gets the full-scale split in proportion", () => {
  for (const ref of FULL_SCALE_HEADS) {
    const m = matchedYarnBetas(COURSE_HEAD, ref);
    const r = yarnBands(ref);
    const b = yarnBands(COURSE_HEAD, m.betaFast, m.betaSlow);
    assert.equal(b.kept, Math.round((16 * r.kept) / 64), ref.label);
    assert.equal(b.interpolated, Math.round((16 * r.interpolated) / 64), ref.label);
  }
});

Deno.test("alibiWindows: 32 slopes follow 2^(-8h/32); no window reaches 2.5 L0 at 4k", () => {
  const rows = alibiWindows(FULL_SCALE_HEADS[0]);
  assert.equal(rows.length, 32);
  rows.forEach((r, i) => assert.equal(r.slope, Math.fround(2 ** (-8 * (i + 1) / 32))));
  assert.ok(Math.abs(rows[31].window - Math.log(1000) * 256) < 1e-3);
  assert.equal(rows.filter((r) => r.reachesLongBand).length, 0);
  // The course's 4 heads: windows ln(1000) x {4, 16, 64, 256}; only the last passes 2.5 x 256.
  assert.deepEqual(alibiWindows(COURSE_HEAD).map((r) => r.reachesLongBand), [
    false,
    false,
    false,
    true,
  ]);
});

Deno.test("spectrumTable: extrapolated RoPE's unseen pairs are those with wavelength > L0", () => {
  for (const h of HEADS) {
    const longer = handTurns(h).filter((t) => t < 1).length;
    const rope = spectrumTable(h).find((r) => r.scaling === "rope")!;
    assert.equal(rope.oodPairs, longer, h.label);
    assert.equal(spectrumTable(h).find((r) => r.scaling === "pi")!.oodPairs, 0, h.label);
  }
  assert.equal(spectrumTable(FULL_SCALE_HEADS[0])[0].oodPairs, 18);
  assert.equal(spectrumTable(COURSE_HEAD)[0].oodPairs, 9);
});

Deno.test("t5BucketTable: shares sum to 1; at maxDistance 128 every far pair is in bucket 31", () => {
  for (const md of [128, 32768]) {
    const rows = t5BucketTable(FULL_SCALE_HEADS[0], md);
    const sum = (k: "shareAll" | "shareFar") => rows.reduce((s, r) => s + r[k], 0);
    assert.ok(Math.abs(sum("shareAll") - 1) < 1e-9 && Math.abs(sum("shareFar") - 1) < 1e-9);
  }
  const at128 = t5BucketTable(FULL_SCALE_HEADS[0], 128);
  assert.equal(at128.at(-1)!.bucket, 31);
  assert.equal(at128.at(-1)!.first, 113);
  assert.equal(at128.at(-1)!.shareFar, 1);
  // Spanning the target, the far pairs spread over buckets no L0-long sequence reaches.
  const wide = t5BucketTable(FULL_SCALE_HEADS[0], 32768).filter((r) => r.shareFar > 0);
  assert.ok(wide.length >= 2 && wide.every((r) => r.pairsAtL0 === 0));
});

Deno.test("full_scale: bad geometry names the field and its range", () => {
  assert.throws(
    () => yarnBands({ ...COURSE_HEAD, headDim: 31 }),
    /headDim must be even; got 31/,
  );
  assert.throws(
    () => yarnBands({ ...COURSE_HEAD, targetLength: 100 }),
    /targetLength must be an integer >= 256; got 100/,
  );
  assert.throws(() => yarnBands(COURSE_HEAD, 1, 2), /betaFast must be >= betaSlow \(2\); got 1/);
});

Deno.test("literature: every entry names its passage and where it was checked; ids unique", async () => {
  const { LITERATURE, literatureRows, unverifiedEntries } = await import(
    "../src/decision/literature.ts"
  );
  assert.equal(new Set(LITERATURE.map((e) => e.id)).size, LITERATURE.length);
  for (const e of LITERATURE) {
    for (const k of ["where", "value", "verified", "quantity"] as const) {
      assert.ok(e[k].trim().length > 0, `${e.id}: ${k} is empty`);
    }
    assert.ok(e.arxiv === null || /^\d{4}\.\d{4,5}$/.test(e.arxiv), `${e.id}: arxiv id`);
  }
  assert.ok(literatureRows().every((r) => r["checked in"].length > 0));
  assert.ok(unverifiedEntries().some((e) => e.id === "t5-buckets"));
  // A copy kind must be backed by its address: arXiv itself, or a PDF at a named commit.
  for (const e of LITERATURE) {
    if (e.copy === "arxiv") {
      assert.match(e.verified, /(arxiv\.org|ar5iv\.labs\.arxiv\.org)\//, e.id);
    }
    if (e.copy === "paper PDF") {
      assert.match(e.verified, /arXiv \d{4}\.\d{5}v\d PDF .* @[0-9a-f]{7}/, e.id);
    }
  }
});

Deno.test("literature: PI's cost series uses numbers from its entry's quoted rows", async () => {
  const { LITERATURE, PI_PAPER_SERIES, logPerplexityCost, piPaperCost } = await import(
    "../src/decision/literature.ts"
  );
  const e = LITERATURE.find((x) => x.id === PI_PAPER_SERIES.entry);
  assert.ok(e, `${PI_PAPER_SERIES.entry}: no such entry`);
  for (const p of [PI_PAPER_SERIES.base, ...PI_PAPER_SERIES.points.map((q) => q.perplexity)]) {
    assert.ok(e.verified.includes(p.toFixed(2)), `${p} is not in the quoted rows`);
  }
  const c = piPaperCost(7.23);
  assert.ok(Math.abs(c.mean - (Math.log(7.23) / Math.log(7.2) - 1)) < 1e-15);
  assert.ok(c.low < c.mean && c.mean < c.high, "the rounding range holds the estimate");
  assert.throws(() => logPerplexityCost(0.5, 7.2), /perplexities must be > 1/);
});

Deno.test("literature: the entries cited for an option are its papers' table rows", async () => {
  const { citedFor } = await import("../src/decision/literature.ts");
  assert.deepEqual(citedFor("yarn").map((e) => e.id), ["yarn-table1", "yarn-passkey"]);
  assert.deepEqual(citedFor("alibi").map((e) => e.id), ["alibi-table3"]);
  assert.ok(citedFor("t5").every((e) => e.paper === "ALiBi" || e.paper === "T5"));
  assert.deepEqual(citedFor("no_such_option"), []);
});
