/**
 * tfjs-backend-wasm's internals, declared once: the backend's private API the course's wasm
 * kernels touch ({@link WasmBackend}), tensor views of the wasm heap ({@link registerView},
 * {@link withViews}) and the exported C kernels, bound once and shared by the modules that call
 * them (wasm_fixes.ts, attention_cpu.ts, attention_cpu_kernel.ts): one place for their signatures.
 *
 * @example
 * ```ts
 * import { shapeBytes, wasmCall } from "./wasm_calls.ts";
 * const matmul = wasmCall(backend, "BatchMatMul");
 * matmul(aId, shapeBytes([1, m, k]), 3, bId, shapeBytes([1, k, n]), 3, 0, 0, outId);
 * ```
 * @module
 */

import type * as tf from "@tensorflow/tfjs";

/** The one part of the wasm backend needed to bind its C kernels. */
export interface WasmCwrap {
  wasm: { cwrap(name: string, ret: null, args: string[]): (...args: unknown[]) => void };
}

/** The parts of tfjs-backend-wasm 4.22's `BackendWasm` (private API) the course's kernels touch. */
export interface WasmBackend extends WasmCwrap {
  wasm: WasmCwrap["wasm"] & {
    HEAPU8: Uint8Array;
    _malloc(bytes: number): number;
    _free(offset: number): void;
    tfjs: {
      registerTensor(id: number, size: number, offset: number): void;
      disposeData(id: number): void;
    };
  };
  dataIdMap: { get(dataId: object): { id: number; memoryOffset: number } };
  dataIdNextNumber: number;
  makeOutput(shape: number[], dtype: tf.DataType): tf.TensorInfo;
  typedArrayFromHeap(info: tf.TensorInfo): Float32Array | Int32Array | Uint8Array;
  disposeData(dataId: object): boolean;
}

/**
 * True when `backend` is tfjs-backend-wasm (it has the `wasm` module object).
 *
 * @example
 * ```ts
 * if (isWasmBackend(backend)) backend.makeOutput([2], "float32");
 * ```
 */
export function isWasmBackend(backend: unknown): backend is WasmBackend {
  return typeof (backend as { wasm?: unknown })?.wasm === "object";
}

/**
 * Registers `size` floats at byte `byteOffset` of the wasm heap as a wasm-side tensor id: a view,
 * no copy and no JS-side entry. Dispose it with `backend.wasm.tfjs.disposeData(id)`.
 *
 * @example
 * ```ts
 * const id = registerView(backend, backend.dataIdMap.get(x.dataId).memoryOffset, 16);
 * ```
 */
export function registerView(
  backend: Pick<WasmBackend, "wasm" | "dataIdNextNumber">,
  byteOffset: number,
  size: number,
): number {
  const id = backend.dataIdNextNumber++;
  backend.wasm.tfjs.registerTensor(id, size, byteOffset);
  return id;
}

/**
 * Runs `f` with views registered at the given (byte offset, size) ranges, disposing them after
 * (even when `f` throws). Fresh ids each call: XNNPACK caches packed weights by operand id.
 *
 * @example
 * ```ts
 * withViews(backend, [[at, rows * cols]], ([x]) => softmax(x, x, cols, rows));
 * ```
 */
export function withViews(
  backend: Pick<WasmBackend, "wasm" | "dataIdNextNumber">,
  ranges: readonly (readonly [number, number])[],
  f: (ids: number[]) => void,
): void {
  const ids: number[] = [];
  try {
    for (const [byteOffset, size] of ranges) ids.push(registerView(backend, byteOffset, size));
    f(ids);
  } finally {
    for (const id of ids) backend.wasm.tfjs.disposeData(id);
  }
}

/** A bound wasm kernel. */
export type WasmFn = (...args: unknown[]) => void;

/** Argument types of each kernel, as tfjs-backend-wasm 4.22 declares them. */
const SIGNATURES = {
  // a id, a shape, a rank, b id, b shape, b rank, transpose a, transpose b, out id
  BatchMatMul: [
    "number",
    "array",
    "number",
    "number",
    "array",
    "number",
    "number",
    "number",
    "number",
  ],
  // x id, out id, channels, batch
  Softmax: ["number", "number", "number", "number"],
  // x id, x shape, rank, dtype, out id, perm, perm length
  Transpose: ["number", "array", "number", "number", "number", "array", "number"],
} as const;

const bound = new Map<string, WasmFn>();

/** The kernel `name`, bound on first use (the wasm module is a singleton per process). */
export function wasmCall(backend: WasmCwrap, name: keyof typeof SIGNATURES): WasmFn {
  let fn = bound.get(name);
  if (!fn) {
    fn = backend.wasm.cwrap(name, null, [...SIGNATURES[name]]);
    bound.set(name, fn);
  }
  return fn;
}

/** An int32 shape as the bytes the wasm kernels take for an "array" argument. */
export function shapeBytes(shape: readonly number[]): Uint8Array {
  return new Uint8Array(new Int32Array(shape).buffer);
}
