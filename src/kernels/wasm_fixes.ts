/**
 * Faster `BatchMatMul` and `Slice` for tfjs-backend-wasm 4.22, same semantics as the stock kernels.
 *
 * Profiling (DESIGN.md) found two pitfalls in the stock wasm kernels:
 * - `BatchMatMul` takes XNNPACK's fast path only for one batch without transpose flags; anything
 *   else (every gradient matmul, every batched attention matmul) runs a naive loop at ~1 GFLOP/s.
 *   The replacement transposes explicitly, then runs one fast matmul per batch on zero-copy views
 *   of the batch (tensor ids registered on the wasm side at an offset into the input's memory).
 *   A right operand shared by all batches folds the batches into the rows of a single matmul.
 * - `Slice` copies the whole input to JS before copying the slice out. The replacement copies only
 *   the slice, reading the input through a view of the wasm heap.
 *
 *   `SplitV` and `Unpack` call the stock slice directly, so they are re-registered on top of it.
 *
 * {@link installWasmFixes} re-registers them for the "wasm" backend (`initBackend` calls it).
 *
 * @example
 * ```ts
 * import * as tf from "@tensorflow/tfjs";
 * import { initBackend } from "../backend.ts";
 * await initBackend({ backend: "wasm" }); // installs the fixes
 * tf.matMul(tf.ones([8, 64, 32]), tf.ones([8, 64, 32]), false, true); // fast path, per batch
 * ```
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import { registerView, shapeBytes, type WasmBackend, wasmCall } from "./wasm_calls.ts";

/** What tfjs passes a kernelFunc. */
interface KernelArgs<I> {
  inputs: I;
  backend: unknown;
  attrs?: Record<string, unknown>;
}

const FIXED = Symbol.for("course.wasmFixesInstalled");
const REPLACED = ["BatchMatMul", "Slice", "SplitV", "Unpack"] as const;
const stockConfigs = new Map<string, tf.KernelConfig>();
type FixedGlobal = { [FIXED]?: boolean };

let stockBatchMatMul: tf.KernelFunc | null = null;
let stockSlice: tf.KernelFunc | null = null;

function transposeLast2(backend: WasmBackend, x: tf.TensorInfo): tf.TensorInfo {
  const rank = x.shape.length;
  const perm = [...Array(rank).keys()];
  [perm[rank - 2], perm[rank - 1]] = [perm[rank - 1], perm[rank - 2]];
  const transpose = tf.getKernel("Transpose", "wasm")!.kernelFunc;
  return transpose({ inputs: { x }, backend: backend as never, attrs: { perm } }) as tf.TensorInfo;
}

/** Flat batch index of `outIndex` in an operand with batch dims `dims` broadcast to `outDims`. */
function broadcastBatchIndex(outIndex: number, outDims: number[], dims: number[]): number {
  let index = 0;
  let stride = 1;
  let rest = outIndex;
  const offset = outDims.length - dims.length;
  for (let axis = outDims.length - 1; axis >= 0; axis--) {
    const coord = rest % outDims[axis];
    rest = Math.floor(rest / outDims[axis]);
    const d = axis - offset;
    if (d >= 0) {
      if (dims[d] !== 1) index += coord * stride;
      stride *= dims[d];
    }
  }
  return index;
}

function batchMatMul(args: KernelArgs<{ a: tf.TensorInfo; b: tf.TensorInfo }>): tf.TensorInfo {
  const backend = args.backend as unknown as WasmBackend;
  const { a, b } = args.inputs;
  const { transposeA, transposeB } = args.attrs as { transposeA: boolean; transposeB: boolean };
  if (a.dtype !== "float32" || b.dtype !== "float32" || a.shape.length < 2 || b.shape.length < 2) {
    return stockBatchMatMul!(args as never) as tf.TensorInfo;
  }
  const aDims = a.shape.slice(0, -2);
  const bDims = b.shape.slice(0, -2);
  const batchA = aDims.reduce((p: number, s: number) => p * s, 1);
  const batchB = bDims.reduce((p: number, s: number) => p * s, 1);
  if (batchA === 1 && batchB === 1 && !transposeA && !transposeB) {
    return stockBatchMatMul!(args as never) as tf.TensorInfo;
  }

  const m = transposeA ? a.shape[a.shape.length - 1] : a.shape[a.shape.length - 2];
  const k = transposeA ? a.shape[a.shape.length - 2] : a.shape[a.shape.length - 1];
  const kB = transposeB ? b.shape[b.shape.length - 1] : b.shape[b.shape.length - 2];
  const n = transposeB ? b.shape[b.shape.length - 2] : b.shape[b.shape.length - 1];
  if (k !== kB) {
    throw new RangeError(
      `matMul inner dimensions must match; got ${k} and ${kB} for shapes [${a.shape}] and ` +
        `[${b.shape}] (transposeA=${transposeA}, transposeB=${transposeB})`,
    );
  }
  const outDims = tf.backend_util.assertAndGetBroadcastShape(aDims, bDims);
  const batch = outDims.reduce((p: number, s: number) => p * s, 1);
  const outShape = [...outDims, m, n];

  // Explicit transposes (fast wasm kernel) so that every matmul below is the plain fast case.
  const aPlain = transposeA ? transposeLast2(backend, a) : a;
  const bPlain = transposeB ? transposeLast2(backend, b) : b;
  const out = backend.makeOutput(outShape, "float32");
  const wasmBatchMatMul = wasmCall(backend, "BatchMatMul");
  const aOffset = backend.dataIdMap.get(aPlain.dataId).memoryOffset;
  const bOffset = backend.dataIdMap.get(bPlain.dataId).memoryOffset;
  const outOffset = backend.dataIdMap.get(out.dataId).memoryOffset;
  const views: number[] = [];
  const run = (aAt: number, rows: number, bAt: number, outAt: number) => {
    const aId = registerView(backend, aAt, rows * k);
    const bId = registerView(backend, bAt, k * n);
    const outId = registerView(backend, outAt, rows * n);
    views.push(aId, bId, outId);
    wasmBatchMatMul(aId, shapeBytes([1, rows, k]), 3, bId, shapeBytes([1, k, n]), 3, 0, 0, outId);
  };
  try {
    if (batchB === 1 && batchA === batch) {
      // One right operand for every batch: the batches are just more rows of one matmul.
      run(aOffset, batch * m, bOffset, outOffset);
    } else {
      for (let i = 0; i < batch; i++) {
        const ia = broadcastBatchIndex(i, outDims, aDims);
        const ib = broadcastBatchIndex(i, outDims, bDims);
        run(aOffset + 4 * ia * m * k, m, bOffset + 4 * ib * k * n, outOffset + 4 * i * m * n);
      }
    }
  } finally {
    for (const id of views) backend.wasm.tfjs.disposeData(id);
    if (aPlain !== a) backend.disposeData(aPlain.dataId);
    if (bPlain !== b) backend.disposeData(bPlain.dataId);
  }
  return out;
}

function slice(args: KernelArgs<{ x: tf.TensorInfo }>): tf.TensorInfo {
  const backend = args.backend as unknown as WasmBackend;
  const { x } = args.inputs;
  const { begin, size } = args.attrs as { begin: number | number[]; size: number | number[] };
  if (!["float32", "int32", "bool"].includes(x.dtype)) {
    return stockSlice!(args as never) as tf.TensorInfo;
  }
  const [begin_, size_] = tf.slice_util.parseSliceParams(x as tf.Tensor, begin, size);
  const out = backend.makeOutput(size_, x.dtype);
  const count = size_.reduce((p, s) => p * s, 1);
  if (count === 0) return out;
  const xVals = backend.typedArrayFromHeap(x); // a view: nothing copied
  const outVals = backend.typedArrayFromHeap(out);
  const rank = x.shape.length;
  if (rank === 0) {
    outVals[0] = xVals[0];
    return out;
  }
  const strides = tf.util.computeStrides(x.shape);
  // Copy contiguous runs along the last axis; iterate the outer coordinates like an odometer.
  const row = size_[rank - 1];
  const rows = count / row;
  const coord = new Array(rank - 1).fill(0);
  for (let r = 0; r < rows; r++) {
    let src = begin_[rank - 1];
    for (let axis = 0; axis < rank - 1; axis++) src += (begin_[axis] + coord[axis]) * strides[axis];
    outVals.set(xVals.subarray(src, src + row), r * row);
    for (let axis = rank - 2; axis >= 0; axis--) {
      if (++coord[axis] < size_[axis]) break;
      coord[axis] = 0;
    }
  }
  return out;
}

function splitV(args: KernelArgs<{ x: tf.TensorInfo }>): tf.TensorInfo[] {
  const { x } = args.inputs;
  const { numOrSizeSplits, axis } = args.attrs as {
    numOrSizeSplits: number | number[];
    axis: number;
  };
  const ax = tf.util.parseAxisParam(axis, x.shape)[0];
  const sizes = tf.backend_util.prepareSplitSize(x as tf.Tensor, numOrSizeSplits, ax);
  const begin = new Array(x.shape.length).fill(0);
  return sizes.map((s) => {
    const size = [...x.shape];
    size[ax] = s;
    const piece = slice({ ...args, attrs: { begin: [...begin], size } });
    begin[ax] += s;
    return piece;
  });
}

function unpack(args: KernelArgs<{ value: tf.TensorInfo }>): tf.TensorInfo[] {
  const { value } = args.inputs;
  const rank = value.shape.length;
  const axis = ((args.attrs as { axis: number }).axis + rank) % rank;
  const outShape = value.shape.filter((_, i) => i !== axis);
  const size = [...value.shape];
  size[axis] = 1;
  return Array.from({ length: value.shape[axis] }, (_, i) => {
    const begin = new Array(rank).fill(0);
    begin[axis] = i;
    const piece = slice({ inputs: { x: value }, backend: args.backend, attrs: { begin, size } });
    return { ...piece, shape: outShape };
  });
}

/**
 * Re-registers `BatchMatMul`, `Slice`, `SplitV` and `Unpack` for the "wasm" backend with the faster versions above.
 * Idempotent; call after the wasm backend is registered (importing tfjs-backend-wasm does that).
 *
 * @example
 * ```ts
 * installWasmFixes();
 * ```
 */
export function installWasmFixes(): void {
  const g = globalThis as FixedGlobal;
  if (g[FIXED]) return;
  const matmulConfig = tf.getKernel("BatchMatMul", "wasm");
  const sliceConfig = tf.getKernel("Slice", "wasm");
  if (!matmulConfig || !sliceConfig) {
    throw new Error("backend must be tfjs-backend-wasm: its BatchMatMul/Slice kernels are missing");
  }
  stockBatchMatMul = matmulConfig.kernelFunc;
  stockSlice = sliceConfig.kernelFunc;
  for (const name of REPLACED) stockConfigs.set(name, tf.getKernel(name, "wasm")!);
  tf.unregisterKernel("BatchMatMul", "wasm");
  tf.unregisterKernel("Slice", "wasm");
  // Keep the stock setupFunc for the stock BatchMatMul we delegate to (it cwraps the wasm export).
  tf.registerKernel({
    kernelName: "BatchMatMul",
    backendName: "wasm",
    setupFunc: matmulConfig.setupFunc,
    kernelFunc: batchMatMul as unknown as tf.KernelFunc,
  });
  tf.registerKernel({
    kernelName: "Slice",
    backendName: "wasm",
    kernelFunc: slice as unknown as tf.KernelFunc,
  });
  for (const [kernelName, kernelFunc] of [["SplitV", splitV], ["Unpack", unpack]] as const) {
    tf.unregisterKernel(kernelName, "wasm");
    tf.registerKernel({
      kernelName,
      backendName: "wasm",
      kernelFunc: kernelFunc as unknown as tf.KernelFunc,
    });
  }
  g[FIXED] = true;
}

/**
 * The stock kernels, for tests and benchmarks that compare against them (null before install).
 *
 * @example
 * ```ts
 * const { batchMatMul } = stockWasmKernels();
 * ```
 */
export function stockWasmKernels(): {
  batchMatMul: tf.KernelFunc | null;
  slice: tf.KernelFunc | null;
} {
  return { batchMatMul: stockBatchMatMul, slice: stockSlice };
}

/**
 * Puts the stock tfjs-wasm kernels back (benchmarks measuring "tfjs as shipped"); a later
 * {@link installWasmFixes} installs the fixes again.
 *
 * @example
 * ```ts
 * uninstallWasmFixes(); // time stock tfjs
 * installWasmFixes();
 * ```
 */
export function uninstallWasmFixes(): void {
  const g = globalThis as FixedGlobal;
  if (!g[FIXED]) return;
  for (const name of REPLACED) {
    tf.unregisterKernel(name, "wasm");
    tf.registerKernel(stockConfigs.get(name)!);
  }
  g[FIXED] = false;
}
