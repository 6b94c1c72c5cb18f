/**
 * The fused attention's tfjs kernels for wasm and cpu: they unpack the kernel inputs, turn the
 * positional bias into one vector per head by distance, and run the blockwise attention of
 * attention_cpu.ts on the wasm heap in place (wasm) or on copies in one ArrayBuffer (cpu).
 * Registered by attention.ts, with the WGSL kernels of attention_webgpu.ts.
 *
 * @example
 * ```ts
 * import { attentionForwardCpuKernel } from "./attention_cpu_kernel.ts";
 * registerCourseKernel("CourseAttention", { webgpu: forwardWgsl, cpu: attentionForwardCpuKernel });
 * ```
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import { relativePositionBucket } from "../positions/t5.ts";
import {
  ArrayMemory,
  attentionBackwardCpu,
  type AttentionDims,
  attentionForwardCpu,
  type BackwardOffsets,
  queryBlockFor,
  WasmHeapMemory,
} from "./attention_cpu.ts";
import type { AttentionKernelAttrs } from "./attention_webgpu.ts";
import { isWasmBackend, type WasmBackend } from "./wasm_calls.ts";
import { kernelInput, readFloat32, writeFloat32 } from "./webgpu_program.ts";

/** What tfjs passes a kernel function. */
interface KernelArgs {
  inputs: tf.NamedTensorInfoMap;
  backend: unknown;
  attrs?: tf.NamedAttrMap;
}

/** Per-head bias at each distance 0..Tk-1 (null for none). */
function biasByDistance(
  attrs: AttentionKernelAttrs,
  bias: Float32Array,
  heads: number,
  keyLen: number,
): Float32Array[] | null {
  if (attrs.mode === "none") return null;
  const rows = Array.from({ length: heads }, () => new Float32Array(keyLen));
  if (attrs.mode === "alibi") {
    for (let h = 0; h < heads; h++) {
      for (let dist = 0; dist < keyLen; dist++) rows[h][dist] = -bias[h] * dist;
    }
    return rows;
  }
  const buckets = bucketsByDistance(attrs, keyLen);
  for (let h = 0; h < heads; h++) {
    for (let dist = 0; dist < keyLen; dist++) rows[h][dist] = bias[buckets[dist] * heads + h];
  }
  return rows;
}

function bucketsByDistance(attrs: AttentionKernelAttrs, keyLen: number): Int32Array {
  const opts = {
    bidirectional: false,
    numBuckets: attrs.numBuckets,
    maxDistance: attrs.maxDistance,
  };
  const buckets = new Int32Array(keyLen);
  for (let dist = 0; dist < keyLen; dist++) buckets[dist] = relativePositionBucket(-dist, opts);
  return buckets;
}

function dimsOf(q: tf.TensorInfo, k: tf.TensorInfo, scale: number): AttentionDims {
  const [batch, heads, queryLen, headDim] = q.shape;
  return { batch, heads, queryLen, keyLen: k.shape[2], headDim, scale };
}

const size = (info: tf.TensorInfo) => tf.util.sizeFromShape(info.shape);

/**
 * Forward kernel (inputs q, k, v, bias; outputs out [B,H,Tq,D] and lse [B,H,Tq]) for wasm and cpu.
 *
 * @example
 * ```ts
 * registerCourseKernel(ATTENTION_KERNEL, { webgpu, cpu: attentionForwardCpuKernel });
 * ```
 */
export const attentionForwardCpuKernel = ((args: KernelArgs): tf.TensorInfo[] => {
  const { backend } = args;
  const attrs = args.attrs as unknown as AttentionKernelAttrs;
  const [q, k, v, bias] = ["q", "k", "v", "bias"].map((n) => kernelInput(args.inputs, n));
  const dims = dimsOf(q, k, attrs.scale);
  const byDistance = biasByDistance(attrs, readFloat32(backend, bias), dims.heads, dims.keyLen);
  const outShape = [...q.shape];
  const lseShape = q.shape.slice(0, 3);
  if (isWasmBackend(backend)) {
    const out = backend.makeOutput(outShape, "float32");
    const lse = backend.makeOutput(lseShape, "float32");
    const mem = new WasmHeapMemory(backend);
    try {
      const [qAt, kAt, vAt, outAt, lseAt] = [q, k, v, out, lse].map((t) => mem.offsetOf(t));
      attentionForwardCpu(
        mem,
        dims,
        { q: qAt, k: kAt, v: vAt, out: outAt, lse: lseAt },
        byDistance,
      );
    } finally {
      mem.free();
    }
    return [out, lse];
  }
  const [qSize, kSize] = [size(q), size(k)];
  const lseSize = tf.util.sizeFromShape(lseShape);
  const block = queryBlockFor(dims.queryLen);
  const mem = new ArrayMemory(
    2 * qSize + 2 * kSize + lseSize + (block + dims.headDim) * dims.keyLen,
  );
  const at = {
    q: mem.alloc(qSize),
    k: mem.alloc(kSize),
    v: mem.alloc(kSize),
    out: mem.alloc(qSize),
    lse: mem.alloc(lseSize),
  };
  mem.f32(at.q, qSize).set(readFloat32(backend, q));
  mem.f32(at.k, kSize).set(readFloat32(backend, k));
  mem.f32(at.v, kSize).set(readFloat32(backend, v));
  attentionForwardCpu(mem, dims, at, byDistance);
  return [
    writeFloat32(backend, mem.f32(at.out, qSize).slice(), outShape),
    writeFloat32(backend, mem.f32(at.lse, lseSize).slice(), lseShape),
  ];
}) as tf.KernelFunc;

/** The saved forward tensors and dy of one backward call. */
interface BackwardInputs {
  q: tf.TensorInfo;
  k: tf.TensorInfo;
  v: tf.TensorInfo;
  out: tf.TensorInfo;
  lse: tf.TensorInfo;
  dy: tf.TensorInfo;
}

/** One backward call: inputs, dimensions, bias by distance, whether the bias grad is wanted. */
interface BackwardCall {
  t: BackwardInputs;
  dims: AttentionDims;
  byDistance: Float32Array[] | null;
  wantBiasGrad: boolean;
}

/** What a backward returns: [dq, dk, dv] and the per-distance bias grad (null when not wanted). */
interface BackwardResult {
  grads: tf.TensorInfo[];
  dBias: Float64Array[] | null;
}

/** Backward on the wasm heap, in place. */
function backwardWasm(backend: WasmBackend, c: BackwardCall): BackwardResult {
  const { t, dims, byDistance, wantBiasGrad } = c;
  const grads = [t.q, t.k, t.v].map((x) => backend.makeOutput([...x.shape], "float32"));
  const mem = new WasmHeapMemory(backend);
  try {
    const [q, k, v, out, lse, dy, dq, dk, dv] = [t.q, t.k, t.v, t.out, t.lse, t.dy, ...grads]
      .map((x) => mem.offsetOf(x));
    const at: BackwardOffsets = { q, k, v, out, lse, dy, dq, dk, dv };
    mem.f32(at.dk, size(t.k)).fill(0);
    mem.f32(at.dv, size(t.k)).fill(0);
    return { grads, dBias: attentionBackwardCpu(mem, dims, at, byDistance, wantBiasGrad) };
  } finally {
    mem.free();
  }
}

/** Backward on copies in one ArrayBuffer (the tfjs cpu backend). */
function backwardArray(backend: unknown, c: BackwardCall): BackwardResult {
  const { t, dims, byDistance, wantBiasGrad } = c;
  const [qSize, kSize, lseSize] = [size(t.q), size(t.k), size(t.lse)];
  const block = queryBlockFor(dims.queryLen);
  const scratch = 3 * dims.headDim * dims.keyLen + 3 * dims.keyLen * block;
  const mem = new ArrayMemory(4 * qSize + 5 * kSize + lseSize + scratch);
  const at: BackwardOffsets = {
    q: mem.alloc(qSize),
    k: mem.alloc(kSize),
    v: mem.alloc(kSize),
    out: mem.alloc(qSize),
    lse: mem.alloc(lseSize),
    dy: mem.alloc(qSize),
    dq: mem.alloc(qSize),
    dk: mem.alloc(kSize),
    dv: mem.alloc(kSize),
  };
  for (const name of ["q", "k", "v", "out", "lse", "dy"] as const) {
    mem.f32(at[name], size(t[name])).set(readFloat32(backend, t[name]));
  }
  const dBias = attentionBackwardCpu(mem, dims, at, byDistance, wantBiasGrad);
  const grads = [
    writeFloat32(backend, mem.f32(at.dq, qSize).slice(), [...t.q.shape]),
    writeFloat32(backend, mem.f32(at.dk, kSize).slice(), [...t.k.shape]),
    writeFloat32(backend, mem.f32(at.dv, kSize).slice(), [...t.v.shape]),
  ];
  return { grads, dBias };
}

/** Sums each head's distance gradient into the table rows of the distances' buckets. */
function tableGradByBucket(
  attrs: AttentionKernelAttrs,
  dims: AttentionDims,
  dBias: Float64Array[],
  out: Float32Array,
): void {
  const buckets = bucketsByDistance(attrs, dims.keyLen);
  for (let h = 0; h < dims.heads; h++) {
    const acc = new Float64Array(attrs.numBuckets);
    for (let dist = 0; dist < dims.keyLen; dist++) acc[buckets[dist]] += dBias[h][dist];
    for (let bucket = 0; bucket < attrs.numBuckets; bucket++) {
      out[bucket * dims.heads + h] = acc[bucket];
    }
  }
}

/**
 * Backward kernel (inputs q, k, v, bias, out, lse, dy; outputs dq, dk, dv, dbias) for wasm and
 * cpu. dbias is the T5 table's gradient, zeros for the other modes.
 *
 * @example
 * ```ts
 * registerCourseKernel(ATTENTION_GRAD_KERNEL, { webgpu, cpu: attentionBackwardCpuKernel });
 * ```
 */
export const attentionBackwardCpuKernel = ((args: KernelArgs): tf.TensorInfo[] => {
  const { backend } = args;
  const attrs = args.attrs as unknown as AttentionKernelAttrs;
  const names = ["q", "k", "v", "bias", "out", "lse", "dy"];
  const [q, k, v, bias, out, lse, dy] = names.map((n) => kernelInput(args.inputs, n));
  const dims = dimsOf(q, k, attrs.scale);
  const biasValues = readFloat32(backend, bias);
  const byDistance = biasByDistance(attrs, biasValues, dims.heads, dims.keyLen);
  const wantBiasGrad = attrs.mode === "t5";
  const call = { t: { q, k, v, out, lse, dy }, dims, byDistance, wantBiasGrad };
  const { grads, dBias } = isWasmBackend(backend)
    ? backwardWasm(backend, call)
    : backwardArray(backend, call);
  const dBiasValues = new Float32Array(biasValues.length);
  if (dBias) tableGradByBucket(attrs, dims, dBias, dBiasValues);
  grads.push(writeFloat32(backend, dBiasValues, [...bias.shape]));
  return grads;
}) as tf.KernelFunc;
