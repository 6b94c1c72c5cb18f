/**
 * tfjs-backend-wasm's exported C kernels, bound once and shared by the modules that call them on
 * views of the wasm heap (wasm_fixes.ts, attention_cpu.ts): one place for their signatures.
 *
 * @example
 * ```ts
 * import { shapeBytes, wasmCall } from "./wasm_calls.ts";
 * const matmul = wasmCall(backend, "BatchMatMul");
 * matmul(aId, shapeBytes([1, m, k]), 3, bId, shapeBytes([1, k, n]), 3, 0, 0, outId);
 * ```
 * @module
 */

/** The one part of the wasm backend needed to bind its C kernels. */
export interface WasmCwrap {
  wasm: { cwrap(name: string, ret: null, args: string[]): (...args: unknown[]) => void };
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
