/**
 * The WebGPU side of the fused attention: WGSL flash attention (forward and backward) run through
 * tfjs-backend-webgpu's `runWebGPUProgram`.
 *
 * Forward: a workgroup owns WG consecutive query rows (one per invocation) of one (batch, head);
 * it walks the keys those rows may see in tiles of TK keys loaded into workgroup memory, and each
 * invocation keeps an online softmax (running max m, running sum l, unnormalised accumulator) in
 * registers. The positional bias is computed inside the loop from the distance q - k: ALiBi as
 * -slope * distance, T5 as one load from a per-head bias-by-distance vector [H, Tk] that a small
 * program fills with the WGSL port of HF's bucket function (`T5_BUCKET_WGSL` of t5_bias.ts, the
 * one copy of it). Nothing of size N x N exists. The
 * output packs [O | logsumexp] per row; the log-sum-exp is what the backward needs.
 *
 * Backward (FlashAttention-2 style, no atomics): delta = rowsum(dO * O); one program per query
 * row for dQ (tiles of K and V), one per key row for dK and dV (tiles of Q, dO, lse, delta), and
 * for T5 one per (head, distance) for the bias gradient, summed into the table by bucket.
 *
 * Loops are not unrolled by hand and only D is a compile-time constant: llvmpipe's compile time
 * grows fast with unrolling.
 *
 * @example
 * ```ts
 * import { attentionForwardWebGpu } from "./attention_webgpu.ts";
 * // inside the kernel registered for "webgpu": const [out, lse] = attentionForwardWebGpu(backend, inputs, attrs);
 * ```
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import {
  asWebGpuBackend,
  disposeInfo,
  type GpuProgram,
  type ProgramUniform,
  runFlatProgram,
} from "./webgpu_program.ts";
import { T5_BUCKET_WGSL, t5LogRatio } from "./t5_bias.ts";

/** Attributes shared by the forward and backward attention kernels. */
export interface AttentionKernelAttrs {
  mode: "none" | "alibi" | "t5";
  scale: number;
  numBuckets: number;
  maxDistance: number;
}

/** Query rows per workgroup (= invocations). */
const WG = 32;

/** Keys (or queries) per workgroup-memory tile: two tiles of TILE x D floats fit in 32 KiB. */
function tileFor(headDim: number): number {
  return Math.max(4, Math.min(32, Math.floor(3072 / headDim)));
}

function bucketUniforms(attrs: AttentionKernelAttrs): ProgramUniform[] {
  return [
    { type: "int32", data: [attrs.numBuckets] },
    { type: "float32", data: [t5LogRatio(attrs.numBuckets, attrs.maxDistance)] },
  ];
}

interface Dims {
  bh: number;
  heads: number;
  queryLen: number;
  keyLen: number;
  headDim: number;
}

function dimsOf(q: tf.TensorInfo, k: tf.TensorInfo): Dims {
  const [b, h, tq, d] = q.shape;
  return { bh: b * h, heads: h, queryLen: tq, keyLen: k.shape[2], headDim: d };
}

const SHAPE_UNIFORMS = "heads : i32, queryLen : i32, keyLen : i32, offset : i32, scale : f32,";

function shapeUniforms(dims: Dims, scale: number): ProgramUniform[] {
  return [
    { type: "int32", data: [dims.heads] },
    { type: "int32", data: [dims.queryLen] },
    { type: "int32", data: [dims.keyLen] },
    { type: "int32", data: [dims.keyLen - dims.queryLen] },
    { type: "float32", data: [scale] },
  ];
}

/** The bias at distance `dist` for head `h`, as WGSL, for each mode (Bias is the bias input). */
function biasSnippet(mode: AttentionKernelAttrs["mode"], dist: string): string {
  if (mode === "alibi") return `- slope * f32(${dist})`;
  if (mode === "t5") return `+ Bias[h * uniforms.keyLen + ${dist}]`;
  return "";
}

/**
 * Reads the ALiBi slope; other modes still touch Bias once, because tfjs builds the bind group
 * layout from the shader and a binding the shader never uses would break it.
 */
function slopeSnippet(mode: AttentionKernelAttrs["mode"]): string {
  return mode === "alibi" ? "slope = Bias[h];" : "slope = 0.0 * Bias[0];";
}

/** A program with workgroups of WG invocations laid out (x: row blocks, y: batch * heads). */
function tiledProgram(
  name: string,
  inputs: string[],
  outputShape: number[],
  rows: number,
  bh: number,
  userCode: string,
): GpuProgram {
  return {
    variableNames: inputs,
    outputShape,
    shaderKey: name,
    // A 2-D layout keeps tfjs from wrapping main in a flat-index bounds check (barriers inside).
    dispatchLayout: { x: [1], y: [0] },
    dispatch: [Math.ceil(rows / WG), bh, 1],
    workgroupSize: [WG, 1, 1],
    uniforms: SHAPE_UNIFORMS,
    getUserCode: () => userCode,
  };
}

/**
 * The start of every tiled program: the constants D (head dimension), WG and the tile size (named
 * `tile`), the workgroup-memory declarations `shared`, and main's first lines (bh: batch * heads
 * index, h: head, lid: this invocation in the workgroup).
 */
function programStart(d: number, tile: "TK" | "TQ", TILE: number, shared: string): string {
  return `const D : i32 = ${d};
const WG : i32 = ${WG};
const ${tile} : i32 = ${TILE};
${shared}
fn main() {
  let bh = i32(workgroupId.y);
  let h = bh % uniforms.heads;
  let lid = i32(localId.x);
`;
}

/**
 * WGSL shared by the two kernels that stream key tiles past a block of WG queries (forward and
 * dQ): the constants, the K/V tiles in workgroup memory and the start of main (this thread's query
 * row r at position pos) ...
 */
function queryBlockStart(d: number, TILE: number): string {
  const shared = `var<workgroup> kTile : array<f32, ${TILE * d}>;
var<workgroup> vTile : array<f32, ${TILE * d}>;
var<workgroup> keyEnd : i32;
`;
  return `${programStart(d, "TK", TILE, shared)}  let row0 = i32(workgroupId.x) * WG;
  let r = row0 + lid;
  let valid = r < uniforms.queryLen;
  let pos = r + uniforms.offset;
`;
}

/**
 * ... and the head of their loop over key tiles: each workgroup stops at the last key its last
 * query may see (causal), and loads tile t0 of K and V (zero past the end) before a barrier.
 */
const KEY_TILE_LOOP = `  if (lid == 0) {
    keyEnd = min(row0 + WG, uniforms.queryLen) + uniforms.offset;
  }
  let kEnd = workgroupUniformLoad(&keyEnd);
  let kb = bh * uniforms.keyLen * D;
  for (var t0 = 0; t0 < kEnd; t0 += TK) {
    for (var e = lid; e < TK * D; e += WG) {
      let j = t0 + e / D;
      var kv = 0.0;
      var vv = 0.0;
      if (j < uniforms.keyLen) {
        kv = K[kb + t0 * D + e];
        vv = V[kb + t0 * D + e];
      }
      kTile[e] = kv;
      vTile[e] = vv;
    }
    workgroupBarrier();
`;

/**
 * WGSL of the dK/dV kernel, which streams query tiles past a block of WG keys: the constants, the
 * Q/dO/lse/delta tiles in workgroup memory and the start of main (this thread's key row j, with
 * its k, v and the dk, dv accumulators) ...
 */
function keyBlockStart(d: number, TILE: number): string {
  const shared = `var<workgroup> qTile : array<f32, ${TILE * d}>;
var<workgroup> gTile : array<f32, ${TILE * d}>;
var<workgroup> lseTile : array<f32, ${TILE}>;
var<workgroup> deltaTile : array<f32, ${TILE}>;
var<workgroup> queryStart : i32;
`;
  return `${programStart(d, "TQ", TILE, shared)}  let key0 = i32(workgroupId.x) * WG;
  let j = key0 + lid;
  let valid = j < uniforms.keyLen;
  var k : array<f32, ${d}>;
  var v : array<f32, ${d}>;
  var dk : array<f32, ${d}>;
  var dv : array<f32, ${d}>;
  if (valid) {
    let kb = (bh * uniforms.keyLen + j) * D;
    for (var c = 0; c < D; c++) {
      k[c] = K[kb + c];
      v[c] = V[kb + c];
      dk[c] = 0.0;
      dv[c] = 0.0;
    }
  }
`;
}

/**
 * ... and the head of its loop over query tiles: from the first query that sees the block's first
 * key, it loads tile i0 of Q (scaled), dO, lse and delta (zero past the end) before a barrier.
 */
const QUERY_TILE_LOOP = `  if (lid == 0) {
    // The first query that sees key0 sits at position key0, i.e. query index key0 - offset.
    queryStart = max(key0 - uniforms.offset, 0);
  }
  let iStart = workgroupUniformLoad(&queryStart);
  let qb = bh * uniforms.queryLen;
  for (var i0 = iStart; i0 < uniforms.queryLen; i0 += TQ) {
    for (var e = lid; e < TQ * D; e += WG) {
      let i = i0 + e / D;
      var qv = 0.0;
      var gv = 0.0;
      if (i < uniforms.queryLen) {
        qv = Q[(qb + i0) * D + e] * uniforms.scale;
        gv = Dy[(qb + i0) * D + e];
      }
      qTile[e] = qv;
      gTile[e] = gv;
    }
    for (var e = lid; e < TQ; e += WG) {
      var lv = 0.0;
      var dv0 = 0.0;
      if (i0 + e < uniforms.queryLen) {
        lv = Lse[qb + i0 + e];
        dv0 = Delta[qb + i0 + e];
      }
      lseTile[e] = lv;
      deltaTile[e] = dv0;
    }
    workgroupBarrier();
`;

/** One tiled attention program: its inputs, output columns, rows and WGSL. */
interface TiledSpec {
  inputs: string[];
  /** Output columns per row, from the head dimension. */
  columns(d: number): number;
  /** One row per query (forward, dQ) or per key (dK and dV). */
  rows: "queryLen" | "keyLen";
  code(d: number, TILE: number, mode: AttentionKernelAttrs["mode"]): string;
}

const BACKWARD_INPUTS = ["Q", "K", "V", "Bias", "Dy", "Lse", "Delta"];

/** The forward and the two backward programs; the key is in the shader name. */
const TILED: Record<"fwd" | "dq" | "dkv", TiledSpec> = {
  fwd: {
    inputs: ["Q", "K", "V", "Bias"],
    columns: (d) => d + 1,
    rows: "queryLen",
    code: forwardCode,
  },
  dq: { inputs: BACKWARD_INPUTS, columns: (d) => d, rows: "queryLen", code: dqCode },
  dkv: { inputs: BACKWARD_INPUTS, columns: (d) => 2 * d, rows: "keyLen", code: dkvCode },
};

/** The program `kind` for these dimensions and positional mode. */
function attentionProgram(
  kind: keyof typeof TILED,
  dims: Dims,
  mode: AttentionKernelAttrs["mode"],
): GpuProgram {
  const spec = TILED[kind];
  const d = dims.headDim;
  const rows = dims[spec.rows];
  return tiledProgram(
    `course_attn_${kind}_${mode}_d${d}`,
    [...spec.inputs],
    [dims.bh * rows, spec.columns(d)],
    rows,
    dims.bh,
    spec.code(d, tileFor(d), mode),
  );
}

/** Forward: online softmax over the key tiles; each row's output and log-sum-exp. */
function forwardCode(d: number, TILE: number, mode: AttentionKernelAttrs["mode"]): string {
  return `
${queryBlockStart(d, TILE)}  var q : array<f32, ${d}>;
  var acc : array<f32, ${d}>;
  if (valid) {
    let qb = (bh * uniforms.queryLen + r) * D;
    for (var c = 0; c < D; c++) {
      q[c] = Q[qb + c] * uniforms.scale;
      acc[c] = 0.0;
    }
  }
  var slope = 0.0;
  ${slopeSnippet(mode)}
  var m = -3.0e38;
  var l = 0.0;
${KEY_TILE_LOOP}    if (valid) {
      let jEnd = min(TK, pos + 1 - t0);
      for (var jj = 0; jj < jEnd; jj++) {
        var s = 0.0;
        for (var c = 0; c < D; c++) {
          s += q[c] * kTile[jj * D + c];
        }
        s = s ${biasSnippet(mode, "pos - t0 - jj")};
        if (s > m) {
          let corr = exp(m - s);
          l *= corr;
          for (var c = 0; c < D; c++) {
            acc[c] *= corr;
          }
          m = s;
        }
        let p = exp(s - m);
        l += p;
        for (var c = 0; c < D; c++) {
          acc[c] += p * vTile[jj * D + c];
        }
      }
    }
    workgroupBarrier();
  }
  if (valid) {
    let ob = (bh * uniforms.queryLen + r) * (D + 1);
    let inv = 1.0 / l;
    for (var c = 0; c < D; c++) {
      result[ob + c] = acc[c] * inv;
    }
    result[ob + D] = m + log(l);
  }
}
`;
}

/** dQ: each query row against the key tiles, probabilities from the saved lse. */
function dqCode(d: number, TILE: number, mode: AttentionKernelAttrs["mode"]): string {
  return `
${queryBlockStart(d, TILE)}  var q : array<f32, ${d}>;
  var g : array<f32, ${d}>;
  var dq : array<f32, ${d}>;
  var lse = 0.0;
  var delta = 0.0;
  if (valid) {
    let qb = (bh * uniforms.queryLen + r) * D;
    for (var c = 0; c < D; c++) {
      q[c] = Q[qb + c] * uniforms.scale;
      g[c] = Dy[qb + c];
      dq[c] = 0.0;
    }
    lse = Lse[bh * uniforms.queryLen + r];
    delta = Delta[bh * uniforms.queryLen + r];
  }
  var slope = 0.0;
  ${slopeSnippet(mode)}
${KEY_TILE_LOOP}    if (valid) {
      let jEnd = min(TK, pos + 1 - t0);
      for (var jj = 0; jj < jEnd; jj++) {
        var s = 0.0;
        var dp = 0.0;
        for (var c = 0; c < D; c++) {
          s += q[c] * kTile[jj * D + c];
          dp += g[c] * vTile[jj * D + c];
        }
        s = s ${biasSnippet(mode, "pos - t0 - jj")};
        let ds = exp(s - lse) * (dp - delta);
        for (var c = 0; c < D; c++) {
          dq[c] += ds * kTile[jj * D + c];
        }
      }
    }
    workgroupBarrier();
  }
  if (valid) {
    let ob = (bh * uniforms.queryLen + r) * D;
    for (var c = 0; c < D; c++) {
      result[ob + c] = dq[c] * uniforms.scale;
    }
  }
}
`;
}

/** dK and dV: each key row against the query tiles that see it. */
function dkvCode(d: number, TILE: number, mode: AttentionKernelAttrs["mode"]): string {
  return `
${keyBlockStart(d, TILE)}  var slope = 0.0;
  ${slopeSnippet(mode)}
${QUERY_TILE_LOOP}    if (valid) {
      let iEnd = min(TQ, uniforms.queryLen - i0);
      for (var ii = 0; ii < iEnd; ii++) {
        let dist = i0 + ii + uniforms.offset - j;
        if (dist >= 0) {
          var s = 0.0;
          var dp = 0.0;
          for (var c = 0; c < D; c++) {
            s += qTile[ii * D + c] * k[c];
            dp += gTile[ii * D + c] * v[c];
          }
          s = s ${biasSnippet(mode, "dist")};
          let p = exp(s - lseTile[ii]);
          let ds = p * (dp - deltaTile[ii]);
          for (var c = 0; c < D; c++) {
            dv[c] += p * gTile[ii * D + c];
            dk[c] += ds * qTile[ii * D + c];
          }
        }
      }
    }
    workgroupBarrier();
  }
  if (valid) {
    let ob = (bh * uniforms.keyLen + j) * 2 * D;
    for (var c = 0; c < D; c++) {
      result[ob + c] = dk[c];
      result[ob + D + c] = dv[c];
    }
  }
}
`;
}

function sliceColumns(
  backend: unknown,
  packed: tf.TensorInfo,
  begin: number,
  size: number,
  shape: number[],
): tf.TensorInfo {
  const slice = tf.getKernel("Slice", "webgpu")!.kernelFunc;
  const out = slice({
    inputs: { x: packed },
    backend: backend as tf.KernelBackend,
    attrs: { begin: [0, begin], size: [packed.shape[0], size] },
  }) as tf.TensorInfo;
  return { ...out, shape }; // same data layout: relabel instead of copying
}

/** The T5 bias per head and distance [H, Tk], from the table [numBuckets, H]. */
function t5BiasByDistance(
  backend: unknown,
  table: tf.TensorInfo,
  dims: Dims,
  attrs: AttentionKernelAttrs,
): tf.TensorInfo {
  return runBucketProgram(backend, dims, attrs, {
    name: "course_attn_t5_bias_by_distance",
    input: ["Table", table],
    outputShape: [dims.heads, dims.keyLen],
    body: BIAS_BY_DISTANCE_WGSL,
  });
}

// The bias by distance [H, Tk]: each (head, distance) reads its bucket's table entry.
const BIAS_BY_DISTANCE_WGSL = `
    let h = index / uniforms.keyLen;
    let dist = index % uniforms.keyLen;
    setOutputAtIndex(index, Table[t5Bucket(-dist) * uniforms.heads + h]);`;

// The table's gradient [numBuckets, H]: each (bucket, head) sums the distances in its bucket.
const TABLE_FROM_DISTANCES_WGSL = `
    let bucket = index / uniforms.heads;
    let h = index % uniforms.heads;
    var acc = 0.0;
    for (var dist = 0; dist < uniforms.keyLen; dist++) {
      if (t5Bucket(-dist) == bucket) {
        acc += DBias[h * uniforms.keyLen + dist];
      }
    }
    setOutputAtIndex(index, acc);`;

/**
 * Runs a flat program of one input (WGSL name, tensor) that maps distances to T5 buckets: with
 * `t5Bucket` (T5_BUCKET_WGSL) and the uniforms numBuckets, logRatio, heads and keyLen.
 */
function runBucketProgram(
  backend: unknown,
  dims: Dims,
  attrs: AttentionKernelAttrs,
  spec: { name: string; input: [string, tf.TensorInfo]; outputShape: number[]; body: string },
): tf.TensorInfo {
  const [name, x] = spec.input;
  return runFlatProgram(
    backend,
    {
      name: spec.name,
      inputs: [name],
      outputShape: spec.outputShape,
      uniforms: "numBuckets : i32, logRatio : f32, heads : i32, keyLen : i32,",
      helpers: T5_BUCKET_WGSL,
      body: spec.body,
    },
    [x],
    [
      ...bucketUniforms(attrs),
      { type: "int32", data: [dims.heads] },
      { type: "int32", data: [dims.keyLen] },
    ],
  );
}

/** Bias input of the tiled programs: slopes [H] (alibi), bias by distance [H, Tk] (t5), or a dummy. */
function biasInput(
  backend: unknown,
  bias: tf.TensorInfo,
  dims: Dims,
  attrs: AttentionKernelAttrs,
): { info: tf.TensorInfo; temporary: boolean } {
  if (attrs.mode === "t5") {
    return { info: t5BiasByDistance(backend, bias, dims, attrs), temporary: true };
  }
  return { info: bias, temporary: false };
}

/**
 * Forward on webgpu: returns [out [B,H,Tq,D], lse [B,H,Tq]].
 *
 * @example
 * ```ts
 * const [out, lse] = attentionForwardWebGpu(backend, { q, k, v, bias }, attrs);
 * ```
 */
export function attentionForwardWebGpu(
  backend: unknown,
  inputs: { q: tf.TensorInfo; k: tf.TensorInfo; v: tf.TensorInfo; bias: tf.TensorInfo },
  attrs: AttentionKernelAttrs,
): tf.TensorInfo[] {
  const gpu = asWebGpuBackend(backend);
  const { q, k, v } = inputs;
  const dims = dimsOf(q, k);
  const bias = biasInput(backend, inputs.bias, dims, attrs);
  const packed = gpu.runWebGPUProgram(
    attentionProgram("fwd", dims, attrs.mode),
    [q, k, v, bias.info],
    "float32",
    shapeUniforms(dims, attrs.scale),
  );
  if (bias.temporary) disposeInfo(backend, bias.info);
  const d = dims.headDim;
  const out = sliceColumns(backend, packed, 0, d, [...q.shape]);
  const lse = sliceColumns(backend, packed, d, 1, q.shape.slice(0, 3));
  disposeInfo(backend, packed);
  return [out, lse];
}

/**
 * Backward on webgpu: returns [dq, dk, dv, dBias] (dBias: the T5 table's gradient, zeros
 * otherwise).
 *
 * @example
 * ```ts
 * const [dq, dk, dv, dBias] = attentionBackwardWebGpu(backend, inputs, attrs);
 * ```
 */
export function attentionBackwardWebGpu(
  backend: unknown,
  inputs: {
    q: tf.TensorInfo;
    k: tf.TensorInfo;
    v: tf.TensorInfo;
    bias: tf.TensorInfo;
    out: tf.TensorInfo;
    lse: tf.TensorInfo;
    dy: tf.TensorInfo;
  },
  attrs: AttentionKernelAttrs,
): tf.TensorInfo[] {
  const gpu = asWebGpuBackend(backend);
  const { q, k, v, out, lse, dy } = inputs;
  const dims = dimsOf(q, k);
  const d = dims.headDim;
  const delta = rowDelta(backend, out, dy, dims);
  const bias = biasInput(backend, inputs.bias, dims, attrs);
  const programInputs = [q, k, v, bias.info, dy, lse, delta];
  const uniforms = shapeUniforms(dims, attrs.scale);
  const run = (program: GpuProgram) =>
    gpu.runWebGPUProgram(program, programInputs, "float32", uniforms);
  const dqPacked = run(attentionProgram("dq", dims, attrs.mode));
  const dkvPacked = run(attentionProgram("dkv", dims, attrs.mode));
  const dq = { ...dqPacked, shape: [...q.shape] };
  const dk = sliceColumns(backend, dkvPacked, 0, d, [...k.shape]);
  const dv = sliceColumns(backend, dkvPacked, d, d, [...v.shape]);
  disposeInfo(backend, dkvPacked);
  const dBias = attrs.mode === "t5"
    ? t5TableGrad(backend, programInputs, uniforms, dims, attrs)
    : runFlatProgram(backend, {
      name: "course_attn_zeros",
      inputs: [],
      outputShape: [...inputs.bias.shape],
      body: "setOutputAtIndex(index, 0.0);",
    }, []);
  if (bias.temporary) disposeInfo(backend, bias.info);
  disposeInfo(backend, delta);
  return [dq, dk, dv, dBias];
}

/** delta = rowsum(dO * O) per query row [B * H * Tq]. */
function rowDelta(
  backend: unknown,
  out: tf.TensorInfo,
  dy: tf.TensorInfo,
  dims: Dims,
): tf.TensorInfo {
  const d = dims.headDim;
  return runFlatProgram(
    backend,
    {
      name: `course_attn_delta_d${d}`,
      inputs: ["O", "Dy"],
      outputShape: [dims.bh * dims.queryLen],
      uniforms: "headDim : i32,",
      body: `
    var acc = 0.0;
    for (var c = 0; c < uniforms.headDim; c++) {
      acc += O[index * uniforms.headDim + c] * Dy[index * uniforms.headDim + c];
    }
    setOutputAtIndex(index, acc);`,
    },
    [out, dy],
    [{ type: "int32", data: [d] }],
  );
}

/**
 * The T5 table's gradient [numBuckets, H]: first per (head, distance), recomputing each
 * probability from the saved lse, then summed into the table by bucket.
 */
function t5TableGrad(
  backend: unknown,
  programInputs: tf.TensorInfo[],
  uniforms: ProgramUniform[],
  dims: Dims,
  attrs: AttentionKernelAttrs,
): tf.TensorInfo {
  const d = dims.headDim;
  const dByDistance = runFlatProgram(
    backend,
    {
      name: `course_attn_dbias_d${d}`,
      inputs: ["Q", "K", "V", "Bias", "Dy", "Lse", "Delta"],
      outputShape: [dims.heads, dims.keyLen],
      uniforms: SHAPE_UNIFORMS + " bh : i32,",
      body: `
    let D = ${d};
    let h = index / uniforms.keyLen;
    let dist = index % uniforms.keyLen;
    var acc = 0.0;
    for (var b = h; b < uniforms.bh; b += uniforms.heads) {
      for (var i = max(dist - uniforms.offset, 0); i < uniforms.queryLen; i++) {
        let j = i + uniforms.offset - dist;
        let qb = (b * uniforms.queryLen + i) * D;
        let kb = (b * uniforms.keyLen + j) * D;
        var s = 0.0;
        var dp = 0.0;
        for (var c = 0; c < D; c++) {
          s += Q[qb + c] * K[kb + c];
          dp += Dy[qb + c] * V[kb + c];
        }
        s = s * uniforms.scale + Bias[h * uniforms.keyLen + dist];
        let row = b * uniforms.queryLen + i;
        acc += exp(s - Lse[row]) * (dp - Delta[row]);
      }
    }
    setOutputAtIndex(index, acc);`,
    },
    programInputs,
    [...uniforms, { type: "int32", data: [dims.bh] }],
  );
  const dTable = runBucketProgram(backend, dims, attrs, {
    name: "course_attn_dtable",
    input: ["DBias", dByDistance],
    outputShape: [attrs.numBuckets, dims.heads],
    body: TABLE_FROM_DISTANCES_WGSL,
  });
  disposeInfo(backend, dByDistance);
  return dTable;
}
