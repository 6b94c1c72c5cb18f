// The fused attention (WGSL flash on webgpu, blockwise on wasm and cpu) against the composite
// reference computed on the tfjs cpu backend, and its gradients against central finite
// differences of a float64 loop implementation. Fresh random inputs and sizes every run; sizes are
// not multiples of the tiles (32 on webgpu) or query blocks (256+ on wasm/cpu).
import * as tf from "@tensorflow/tfjs";
import assert from "node:assert/strict";
import { type BackendName, initBackend } from "../src/backend.ts";
import { attention, type AttentionBias, attentionReference } from "../src/kernels/attention.ts";
import { alibiSlopes } from "../src/positions/alibi.ts";
import { relativePositionBucket } from "../src/positions/t5.ts";
import { relativeError } from "./relative_error.ts";
import { testRng } from "./seeded.ts";
import type { Rng } from "../src/data/rng.ts";

type Mode = AttentionBias["kind"];
const MODES: Mode[] = ["none", "alibi", "t5"];
const BACKENDS: BackendName[] = ["cpu", "wasm", "webgpu"];
// WGSL programs are compiled per head dimension: one D on webgpu keeps compile time down.
const GPU_HEAD_DIM = 16;
const T5 = { numBuckets: 16, maxDistance: 40 };

/** The current test's random source: each randomized test sets it first (printing its seed). */
let rng: Rng;

function randInt(lo: number, hi: number): number {
  return lo + rng.int(hi - lo + 1);
}

function randomArray(size: number, scale = 1): Float32Array {
  const a = new Float32Array(size);
  for (let i = 0; i < size; i++) a[i] = (rng.next() * 2 - 1) * scale;
  return a;
}

function assertClose(got: ArrayLike<number>, want: ArrayLike<number>, tol: number, label: string) {
  const err = relativeError(got, want);
  assert.ok(err <= tol, `${label}: relative error ${err} > ${tol}`);
}

interface Case {
  shapeQ: number[];
  shapeK: number[];
  mode: Mode;
  q: Float32Array;
  k: Float32Array;
  v: Float32Array;
  slopes: Float32Array;
  table: Float32Array;
  scale: number;
}

function makeCase(mode: Mode, b: number, h: number, tq: number, tk: number, d: number): Case {
  return {
    shapeQ: [b, h, tq, d],
    shapeK: [b, h, tk, d],
    mode,
    q: randomArray(b * h * tq * d, 2),
    k: randomArray(b * h * tk * d, 2),
    v: randomArray(b * h * tk * d),
    slopes: alibiSlopes(h),
    table: randomArray(T5.numBuckets * h),
    scale: 1 / Math.sqrt(d),
  };
}

function biasOf(c: Case, table?: tf.Tensor2D): AttentionBias {
  if (c.mode === "alibi") return { kind: "alibi", slopes: c.slopes };
  if (c.mode === "t5") {
    const t = table ?? tf.tensor2d(c.table, [T5.numBuckets, c.shapeQ[1]]);
    return { kind: "t5", table: t, ...T5 };
  }
  return { kind: "none" };
}

async function use(backend: BackendName): Promise<void> {
  await initBackend({ backend });
}

/** Runs `f` on `backend` and returns the values of the tensors it returns. */
async function valuesOn(backend: BackendName, f: () => tf.Tensor[]): Promise<Float32Array[]> {
  await use(backend);
  const outs = tf.tidy(f);
  const values = await Promise.all(outs.map((t) => t.data() as Promise<Float32Array>));
  tf.dispose(outs);
  return values;
}

function tensors(c: Case) {
  return {
    q: tf.tensor4d(c.q, c.shapeQ as [number, number, number, number]),
    k: tf.tensor4d(c.k, c.shapeK as [number, number, number, number]),
    v: tf.tensor4d(c.v, c.shapeK as [number, number, number, number]),
    table: tf.tensor2d(c.table, [T5.numBuckets, c.shapeQ[1]]),
  };
}

/** Loss weights so that every output element gets a different gradient. */
function lossWeights(c: Case): Float32Array {
  return randomArray(c.q.length);
}

/** Output, then gradients of sum(out * w) w.r.t. q, k, v (and the table for t5). */
function forwardAndGrads(
  c: Case,
  w: Float32Array,
  op: typeof attention,
): () => tf.Tensor[] {
  return () => {
    const { q, k, v, table } = tensors(c);
    const weights = tf.tensor(w, c.shapeQ);
    const out = op(q, k, v, { bias: biasOf(c, table), scale: c.scale });
    const loss = (qq: tf.Tensor, kk: tf.Tensor, vv: tf.Tensor, tt?: tf.Tensor) =>
      op(qq as tf.Tensor4D, kk as tf.Tensor4D, vv as tf.Tensor4D, {
        bias: biasOf(c, tt as tf.Tensor2D | undefined),
        scale: c.scale,
      }).mul(weights).sum();
    const xs = c.mode === "t5" ? [q, k, v, table] : [q, k, v];
    const grads = tf.grads(loss as (...x: tf.Tensor[]) => tf.Tensor)(xs);
    return [out, ...grads];
  };
}

Deno.test("relativeError treats NaN and Infinity as failure", () => {
  assert.equal(relativeError([1, NaN], [1, 2]), Infinity);
  assert.equal(relativeError([1, 2], [1, NaN]), Infinity);
  assert.equal(relativeError([Infinity], [1]), Infinity);
  assert.ok(relativeError([1, 2], [1, 2.000001]) < 1e-6);
  assert.throws(() => assertClose([NaN], [0], 1, "nan"));
});

for (const backend of BACKENDS) {
  Deno.test(`attention on ${backend}: forward and gradients match the composite reference`, async (ctx) => {
    rng = testRng(ctx.name);
    for (const mode of MODES) {
      const d = backend === "webgpu" ? GPU_HEAD_DIM : randInt(3, 40);
      // Crosses the WGSL tile (32) or the wasm/cpu query block (at least 256) boundaries.
      const t = backend === "webgpu" ? randInt(33, 150) : randInt(257, 330);
      // Queries shorter than keys (KV-cache decoding) in one mode per run.
      const tq = mode === "alibi" ? randInt(1, t) : t;
      const c = makeCase(mode, randInt(1, 2), randInt(1, 3), tq, t, d);
      const w = lossWeights(c);
      const want = await valuesOn("cpu", forwardAndGrads(c, w, attentionReference));
      const got = await valuesOn(backend, forwardAndGrads(c, w, attention));
      const label = `${backend} ${mode} q [${c.shapeQ}] k [${c.shapeK}]`;
      assertClose(got[0], want[0], 1e-5, `${label} output`);
      const names = ["dq", "dk", "dv", "dtable"];
      for (let i = 1; i < want.length; i++) {
        assertClose(got[i], want[i], 2e-5, `${label} ${names[i - 1]}`);
      }
    }
  });
}

// ------------------------------------------------------------ finite differences in float64

/** sum(out * w) of causal attention in float64 (plain loops), same semantics as the op. */
function lossFloat64(c: Case, w: Float32Array, x: Record<string, Float64Array>): number {
  const [b, h, tq, d] = c.shapeQ;
  const tk = c.shapeK[2];
  const offset = tk - tq;
  const opts = { bidirectional: false, ...T5 };
  let loss = 0;
  const logits = new Float64Array(tk);
  for (let bh = 0; bh < b * h; bh++) {
    const head = bh % h;
    for (let i = 0; i < tq; i++) {
      const pos = i + offset;
      let max = -Infinity;
      for (let j = 0; j <= pos; j++) {
        let s = 0;
        for (let e = 0; e < d; e++) s += x.q[(bh * tq + i) * d + e] * x.k[(bh * tk + j) * d + e];
        s *= c.scale;
        if (c.mode === "alibi") s -= c.slopes[head] * (pos - j);
        if (c.mode === "t5") {
          s += x.table[relativePositionBucket(j - pos, opts) * h + head];
        }
        logits[j] = s;
        max = Math.max(max, s);
      }
      let sum = 0;
      for (let j = 0; j <= pos; j++) sum += Math.exp(logits[j] - max);
      for (let e = 0; e < d; e++) {
        let o = 0;
        for (let j = 0; j <= pos; j++) {
          o += Math.exp(logits[j] - max) / sum * x.v[(bh * tk + j) * d + e];
        }
        loss += o * w[(bh * tq + i) * d + e];
      }
    }
  }
  return loss;
}

for (const backend of BACKENDS) {
  Deno.test(`attention on ${backend}: gradients match float64 central differences`, async (ctx) => {
    rng = testRng(ctx.name);
    for (const mode of MODES) {
      const d = backend === "webgpu" ? GPU_HEAD_DIM : randInt(2, 9);
      const t = randInt(5, 45); // long enough for T5's log-spaced buckets (from distance 8)
      const c = makeCase(mode, 1, 2, t, t, d);
      const w = lossWeights(c);
      const got = await valuesOn(backend, forwardAndGrads(c, w, attention));
      const x: Record<string, Float64Array> = {
        q: Float64Array.from(c.q),
        k: Float64Array.from(c.k),
        v: Float64Array.from(c.v),
        table: Float64Array.from(c.table),
      };
      const names = mode === "t5" ? ["q", "k", "v", "table"] : ["q", "k", "v"];
      names.forEach((name, n) => {
        const grad = got[n + 1];
        let worst = 0;
        let scaleOf = 1e-3;
        for (let trial = 0; trial < 6; trial++) {
          const idx = randInt(0, x[name].length - 1);
          const saved = x[name][idx];
          const eps = 1e-5;
          x[name][idx] = saved + eps;
          const up = lossFloat64(c, w, x);
          x[name][idx] = saved - eps;
          const down = lossFloat64(c, w, x);
          x[name][idx] = saved;
          const fd = (up - down) / (2 * eps);
          if (!Number.isFinite(grad[idx])) worst = Infinity;
          worst = Math.max(worst, Math.abs(grad[idx] - fd));
          scaleOf = Math.max(scaleOf, Math.abs(fd));
        }
        // Float32 kernel vs float64 differences: relative to the largest gradient sampled.
        assert.ok(
          worst / scaleOf < 1e-3,
          `${backend} ${mode} d${name}: |kernel - finite difference| ${worst} vs scale ${scaleOf}`,
        );
      });
    }
  });
}

Deno.test("attention rejects bad inputs with errors that name the parameter", async () => {
  await use("cpu");
  const q = tf.zeros([1, 2, 5, 4]) as tf.Tensor4D;
  const none: AttentionBias = { kind: "none" };
  assert.throws(
    () => attention(q, tf.zeros([1, 2, 5, 3]) as tf.Tensor4D, q, { bias: none, scale: 1 }),
    /k and v must have the same shape/,
  );
  assert.throws(
    () =>
      attention(q, tf.zeros([1, 2, 4, 4]) as tf.Tensor4D, tf.zeros([1, 2, 4, 4]) as tf.Tensor4D, {
        bias: none,
        scale: 1,
      }),
    /q length must be in \[1, 4\]/,
  );
  assert.throws(() => attention(q, q, q, { bias: none, scale: NaN }), /scale must be/);
  assert.throws(
    () => attention(q, q, q, { bias: { kind: "alibi", slopes: new Float32Array(3) }, scale: 1 }),
    RangeError,
  );
  assert.throws(
    () =>
      attention(q, q, q, {
        bias: {
          kind: "t5",
          table: tf.zeros([8, 3]) as tf.Tensor2D,
          numBuckets: 8,
          maxDistance: 20,
        },
        scale: 1,
      }),
    /bias.table must be \[numBuckets, heads\] = \[8, 2\]/,
  );
  assert.throws(
    () => attention(q, q, q, { bias: { kind: "rope" } as unknown as AttentionBias, scale: 1 }),
    TypeError,
  );
  tf.dispose(q);
});

Deno.test("attention leaves no tensors behind, forward or backward", async (ctx) => {
  rng = testRng(ctx.name);
  for (const backend of ["cpu", "wasm"] as const) {
    await use(backend);
    const c = makeCase("t5", 1, 2, 20, 20, 8);
    const { q, k, v, table } = tensors(c);
    const before = tf.memory().numTensors;
    const y = attention(q, k, v, { bias: biasOf(c, table), scale: c.scale });
    assert.equal(tf.memory().numTensors, before + 1, `${backend}: forward keeps only its output`);
    y.dispose();
    const grads = tf.grads((a: tf.Tensor, t: tf.Tensor) =>
      attention(a as tf.Tensor4D, k, v, { bias: biasOf(c, t as tf.Tensor2D), scale: c.scale }).sum()
    )([q, table]);
    assert.equal(
      tf.memory().numTensors,
      before + 2,
      `${backend}: backward keeps only the gradients`,
    );
    tf.dispose([...grads, q, k, v, table]);
  }
});

Deno.test("attention with steep ALiBi slopes (weights underflow) matches the reference", async (ctx) => {
  rng = testRng(ctx.name);
  // Slopes of 1 and 3 put far keys hundreds of logits below the row max: the wasm/cpu path drops
  // them exactly instead of computing float32 denormals.
  const c = { ...makeCase("alibi", 1, 2, 300, 300, 16), slopes: new Float32Array([1, 3]) };
  const w = lossWeights(c);
  const want = await valuesOn("cpu", forwardAndGrads(c, w, attentionReference));
  for (const backend of ["cpu", "wasm"] as const) {
    const got = await valuesOn(backend, forwardAndGrads(c, w, attention));
    ["out", "dq", "dk", "dv"].forEach((name, i) => {
      assertClose(got[i], want[i], 2e-5, `${backend} ${name}`);
    });
  }
});
