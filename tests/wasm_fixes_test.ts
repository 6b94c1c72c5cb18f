// The re-registered wasm BatchMatMul and Slice must give the same numbers as the tfjs cpu backend
// (and the stock wasm kernels) on fresh random inputs: transposes, batches, broadcasting, odd sizes.
import * as tf from "@tensorflow/tfjs";
import assert from "node:assert/strict";
import { initBackend } from "../src/backend.ts";
import { stockWasmKernels } from "../src/kernels/wasm_fixes.ts";
import { relativeError as relError } from "./relative_error.ts";
import { testRng } from "./seeded.ts";
import type { Rng } from "../src/data/rng.ts";

/** The current test's random source: each randomized test sets it first (printing its seed). */
let rng: Rng;

function randomArray(size: number): Float32Array {
  const a = new Float32Array(size);
  for (let i = 0; i < size; i++) a[i] = rng.next() * 2 - 1;
  return a;
}

function randInt(lo: number, hi: number): number {
  return lo + rng.int(hi - lo + 1);
}

async function onBackend<T>(name: "cpu" | "wasm", f: () => T): Promise<T> {
  await initBackend({ backend: name });
  tf.engine().startScope();
  try {
    return f();
  } finally {
    tf.engine().endScope();
  }
}

interface MatMulCase {
  aShape: number[];
  bShape: number[];
  ta: boolean;
  tb: boolean;
}

function matMulCases(): MatMulCase[] {
  const cases: MatMulCase[] = [];
  for (const ta of [false, true]) {
    for (const tb of [false, true]) {
      const m = randInt(1, 37), k = randInt(1, 41), n = randInt(1, 29);
      const batch = [randInt(2, 5)];
      const a = ta ? [k, m] : [m, k];
      const b = tb ? [n, k] : [k, n];
      cases.push({ aShape: [...batch, ...a], bShape: [...batch, ...b], ta, tb }); // batched
      cases.push({ aShape: a, bShape: b, ta, tb }); // one batch, rank 2
      cases.push({ aShape: [...batch, ...a], bShape: b, ta, tb }); // b broadcast
      cases.push({ aShape: [1, ...a], bShape: [...batch, ...b], ta, tb }); // a broadcast
      cases.push({ aShape: [2, 1, ...a], bShape: [1, 3, ...b], ta, tb }); // both broadcast, rank 4
    }
  }
  return cases;
}

Deno.test("wasm BatchMatMul matches cpu on random shapes, transposes and broadcasting", async (ctx) => {
  rng = testRng(ctx.name);
  for (const c of matMulCases()) {
    const aData = randomArray(c.aShape.reduce((p, s) => p * s, 1));
    const bData = randomArray(c.bShape.reduce((p, s) => p * s, 1));
    const run = () => tf.matMul(tf.tensor(aData, c.aShape), tf.tensor(bData, c.bShape), c.ta, c.tb);
    // tfjs-cpu mis-sizes the output when both operands broadcast (it takes the larger batch), so
    // the expected values come from operands broadcast explicitly to the output's batch shape.
    const batch = tf.backend_util.assertAndGetBroadcastShape(
      c.aShape.slice(0, -2),
      c.bShape.slice(0, -2),
    );
    const full = (data: Float32Array, shape: number[]) =>
      tf.broadcastTo(tf.tensor(data, shape), [...batch, ...shape.slice(-2)]);
    const expected = await onBackend("cpu", () => {
      const y = tf.matMul(full(aData, c.aShape), full(bData, c.bShape), c.ta, c.tb);
      return { shape: y.shape, data: y.dataSync().slice() };
    });
    const got = await onBackend("wasm", () => {
      const y = run();
      return { shape: y.shape, data: y.dataSync().slice() };
    });
    assert.deepEqual(got.shape, expected.shape, JSON.stringify(c));
    assert.equal(got.data.length, expected.data.length, JSON.stringify(c));
    const err = relError(got.data, expected.data);
    assert.ok(err < 1e-5, `${JSON.stringify(c)}: relative error ${err}`);
  }
});

Deno.test("wasm BatchMatMul gradients match cpu", async (ctx) => {
  rng = testRng(ctx.name);
  const [bt, m, k, n] = [3, randInt(5, 19), randInt(5, 23), randInt(5, 17)];
  const aData = randomArray(bt * m * k);
  const bData = randomArray(bt * n * k);
  const grads = () => {
    const f = (a: tf.Tensor, b: tf.Tensor) => tf.matMul(a, b, false, true).square().sum();
    const [ga, gb] = tf.grads(f)([tf.tensor(aData, [bt, m, k]), tf.tensor(bData, [bt, n, k])]);
    return [ga.dataSync().slice(), gb.dataSync().slice()];
  };
  const expected = await onBackend("cpu", grads);
  const got = await onBackend("wasm", grads);
  for (let i = 0; i < 2; i++) {
    const err = relError(got[i], expected[i]);
    assert.ok(err < 1e-5, `gradient ${i}: relative error ${err}`);
  }
});

Deno.test("wasm BatchMatMul agrees with the stock wasm kernel", async (ctx) => {
  rng = testRng(ctx.name);
  await initBackend({ backend: "wasm" });
  const stock = stockWasmKernels().batchMatMul;
  assert.ok(stock, "stock kernel kept after install");
  const a = tf.randomNormal([4, 13, 9], 0, 1, "float32", rng.int(2 ** 31));
  const b = tf.randomNormal([4, 11, 9], 0, 1, "float32", rng.int(2 ** 31));
  const fixed = tf.matMul(a, b, false, true);
  const ref = stock({
    inputs: { a, b },
    backend: tf.backend(),
    attrs: { transposeA: false, transposeB: true },
  }) as tf.TensorInfo;
  const refT = tf.engine().makeTensorFromTensorInfo(ref);
  const err = relError(fixed.dataSync(), refT.dataSync());
  assert.ok(err < 1e-5, `relative error ${err}`);
  tf.dispose([a, b, fixed, refT]);
});

Deno.test("wasm Slice matches cpu for random begins and sizes, ranks 1-5, float and int", async (ctx) => {
  rng = testRng(ctx.name);
  for (let rank = 1; rank <= 5; rank++) {
    for (const dtype of ["float32", "int32"] as const) {
      const shape = Array.from({ length: rank }, () => randInt(1, 7));
      const begin = shape.map((s) => randInt(0, s - 1));
      const size = shape.map((s, i) => (rng.next() < 0.2 ? -1 : randInt(0, s - begin[i])));
      const data = randomArray(shape.reduce((p, s) => p * s, 1)).map((v) =>
        dtype === "int32" ? Math.round(v * 100) : v
      );
      const run = () => {
        const y = tf.slice(tf.tensor(data, shape, dtype), begin, size);
        return { shape: y.shape, data: Array.from(y.dataSync()) };
      };
      const expected = await onBackend("cpu", run);
      const got = await onBackend("wasm", run);
      const label = `shape [${shape}] begin [${begin}] size [${size}] ${dtype}`;
      assert.deepEqual(got.shape, expected.shape, label);
      assert.deepEqual(got.data, expected.data, label);
    }
  }
});

Deno.test("wasm Slice gradient (split + concat) matches cpu", async (ctx) => {
  rng = testRng(ctx.name);
  const data = randomArray(6 * 10 * 5);
  const run = () => {
    const g = tf.grad((x: tf.Tensor) =>
      tf.addN(tf.split(x, [3, 2, 5], 1).map((p, i) => p.mul(i + 1).square().sum()))
    )(tf.tensor(data, [6, 10, 5]));
    return Array.from(g.dataSync());
  };
  const expected = await onBackend("cpu", run);
  const got = await onBackend("wasm", run);
  assert.ok(relError(got, expected) < 1e-6);
});

Deno.test("wasm SplitV and Unpack match cpu", async (ctx) => {
  rng = testRng(ctx.name);
  const shape = [randInt(2, 5), randInt(3, 9), randInt(1, 6)];
  const data = randomArray(shape.reduce((p, s) => p * s, 1));
  const first = randInt(1, shape[1] - 1);
  const run = () => {
    const x = tf.tensor(data, shape);
    const parts = [...tf.split(x, [first, shape[1] - first], 1), ...tf.unstack(x, 2)];
    return parts.map((p) => ({ shape: p.shape, data: Array.from(p.dataSync()) }));
  };
  const expected = await onBackend("cpu", run);
  const got = await onBackend("wasm", run);
  assert.deepEqual(got, expected);
});
