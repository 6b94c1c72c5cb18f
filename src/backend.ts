/**
 * Picks and initialises the tfjs backend the whole course runs on.
 *
 * WebGPU when the adapter is a real GPU; wasm otherwise (on CPU it is the fast tfjs backend:
 * XNNPACK matmul). `COURSE_BACKEND=webgpu|wasm|cpu` or the `backend` option overrides.
 *
 * @example
 * ```ts
 * import { initBackend } from "./backend.ts";
 * const { backend, reason } = await initBackend();
 * ```
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import "@tensorflow/tfjs-backend-webgpu";
import { setWasmPaths } from "@tensorflow/tfjs-backend-wasm";
import { installWasmFixes } from "./kernels/wasm_fixes.ts";

export type BackendName = "webgpu" | "wasm" | "cpu";
export const BACKENDS: readonly BackendName[] = ["webgpu", "wasm", "cpu"];

/** What the WebGPU adapter is, or why there is none. */
export interface AdapterReport {
  available: boolean;
  description: string;
  isFallbackAdapter: boolean;
}

/** Describes the WebGPU adapter without initialising tfjs. */
export async function describeAdapter(): Promise<AdapterReport> {
  const gpu = (globalThis.navigator as { gpu?: GPU } | undefined)?.gpu;
  if (!gpu) {
    return { available: false, description: "navigator.gpu missing", isFallbackAdapter: false };
  }
  const adapter = await gpu.requestAdapter();
  if (!adapter) return { available: false, description: "no adapter", isFallbackAdapter: false };
  const info = adapter.info;
  const description = [info.vendor, info.architecture, info.device, info.description]
    .filter((s) => s && s !== "0").join(" ");
  // Deno reports llvmpipe/lavapipe as a normal adapter: treat software rasterisers as fallback too.
  const software = /llvmpipe|lavapipe|swiftshader|software/i.test(description);
  return {
    available: true,
    description,
    isFallbackAdapter: (adapter as { isFallbackAdapter?: boolean }).isFallbackAdapter === true ||
      software,
  };
}

let wasmPathsSet = false;
function ensureWasmPaths(): void {
  if (wasmPathsSet) return;
  setWasmPaths(
    new URL("../node_modules/@tensorflow/tfjs-backend-wasm/dist/", import.meta.url).href,
  );
  wasmPathsSet = true;
}

/** Result of {@link initBackend}. */
export interface BackendChoice {
  backend: BackendName;
  reason: string;
  adapter: AdapterReport;
}

/**
 * Initialises tfjs on the chosen backend and returns it with the reason for the choice.
 * Calling it again with the same choice is cheap.
 */
export async function initBackend(opts: { backend?: BackendName } = {}): Promise<BackendChoice> {
  const adapter = await describeAdapter();
  const forced = opts.backend ?? (Deno.env.get("COURSE_BACKEND") as BackendName | undefined);
  if (forced !== undefined && !BACKENDS.includes(forced)) {
    throw new RangeError(`backend must be one of ${BACKENDS.join(", ")}; got "${forced}"`);
  }
  let backend: BackendName;
  let reason: string;
  if (forced) {
    backend = forced;
    reason = opts.backend ? "asked for by the caller" : "set by COURSE_BACKEND";
  } else if (adapter.available && !adapter.isFallbackAdapter) {
    backend = "webgpu";
    reason = `real GPU adapter: ${adapter.description}`;
  } else {
    backend = "wasm";
    reason = adapter.available
      ? `WebGPU adapter is a software fallback (${adapter.description}): wasm is faster on CPU`
      : `no WebGPU adapter (${adapter.description}): wasm is the fast CPU backend`;
  }
  if (backend === "wasm") ensureWasmPaths();
  if (tf.getBackend() !== backend) {
    const ok = await tf.setBackend(backend);
    if (!ok) throw new Error(`tfjs could not initialise the ${backend} backend`);
  }
  await tf.ready();
  // Faster BatchMatMul/Slice for wasm (see src/kernels/wasm_fixes.ts); idempotent.
  if (backend === "wasm") installWasmFixes();
  // tfjs-cpu greets Deno (seen as Node) with a banner advertising tfjs-node, which cannot load
  // here; silence it without touching IS_NODE, which the wasm loader relies on.
  const cpu = tf.backend() as { firstUse?: boolean };
  if (backend === "cpu" && "firstUse" in cpu) cpu.firstUse = false;
  return { backend, reason, adapter };
}
