/**
 * The wasm/cpu side of the fused attention: blockwise causal attention that never holds N x N.
 *
 * Queries go in blocks of {@link QUERY_BLOCK} rows; each block meets only the keys it may see
 * (0 .. its last position) through one fast matmul (XNNPACK on wasm, zero-copy views of the wasm
 * heap), the softmax runs row by row in place, and a second matmul applies it to V. Peak scratch
 * is QUERY_BLOCK x N floats, so memory grows linearly in N.
 *
 * The positional bias depends only on the distance q - k, so it is one vector per head
 * (`biasByDistance`, length Tk): ALiBi -slope * distance, or the T5 table entry of the distance's
 * bucket. Read backwards, a row of it is contiguous, so adding it costs one pass per block row.
 *
 * The backward recomputes each block from the saved log-sum-exp (so it needs no row reductions)
 * in a transposed layout (keys as rows) where every matmul is the plain fast case.
 *
 * @example
 * ```ts
 * import { attentionForwardCpu } from "./attention_cpu.ts";
 * // inside a registered kernel: const { out, lse } = attentionForwardCpu(mem, dims, offsets, biasByDistance);
 * ```
 * @module
 */

/** Rows of queries per block (scratch is QUERY_BLOCK x Tk floats). */
export const QUERY_BLOCK = 128;

/**
 * Flat float32 memory the blockwise kernels work in, addressed in floats. On wasm it is the wasm
 * heap (inputs used in place, matmul by XNNPACK); on cpu one ArrayBuffer and a plain loop.
 */
export interface BlockMemory {
  /** A fresh view of `length` floats at float offset `offset` (views may detach on heap growth). */
  f32(offset: number, length: number): Float32Array;
  /** C[m, n] = A[m, k] @ B[k, n], all contiguous row-major at float offsets. */
  matmul(a: number, b: number, c: number, m: number, k: number, n: number): void;
  /** Reserves `length` zeroed floats and returns their float offset. */
  alloc(length: number): number;
}

/** Shapes of one attention call: [B, H, T, D] with Tq <= Tk (queries are the last Tq positions). */
export interface AttentionDims {
  batch: number;
  heads: number;
  queryLen: number;
  keyLen: number;
  headDim: number;
  scale: number;
}

/** Float offsets of the tensors in a {@link BlockMemory}. */
export interface ForwardOffsets {
  q: number;
  k: number;
  v: number;
  /** [B, H, Tq, D] output. */
  out: number;
  /** [B, H, Tq] log-sum-exp of each query row's scaled, biased logits. */
  lse: number;
}

/** Plus the backward's inputs and outputs. */
export interface BackwardOffsets extends ForwardOffsets {
  dy: number;
  dq: number;
  dk: number;
  dv: number;
}

/**
 * Blockwise forward: writes out and lse. `biasByDistance[h]` (length Tk, or null for no bias)
 * is the logit added at distance q - k.
 *
 * @example
 * ```ts
 * attentionForwardCpu(mem, dims, offsets, null);
 * ```
 */
export function attentionForwardCpu(
  mem: BlockMemory,
  dims: AttentionDims,
  at: ForwardOffsets,
  biasByDistance: Float32Array[] | null,
): void {
  const { batch, heads, queryLen: tq, keyLen: tk, headDim: d, scale } = dims;
  const offset = tk - tq;
  const rowsMax = Math.min(QUERY_BLOCK, tq);
  const kt = mem.alloc(d * tk); // K^T of the visible keys, per block
  const s = mem.alloc(rowsMax * tk); // logits, then probabilities
  // Reversed bias: row r (query position p) reads rev[tk - 1 - p + j] for key j: contiguous.
  const rev = new Float32Array(tk);
  for (let bh = 0; bh < batch * heads; bh++) {
    const bias = biasByDistance?.[bh % heads] ?? null;
    if (bias) { for (let x = 0; x < tk; x++) rev[x] = bias[tk - 1 - x]; }
    const qBase = at.q + bh * tq * d;
    const kBase = at.k + bh * tk * d;
    const vBase = at.v + bh * tk * d;
    for (let q0 = 0; q0 < tq; q0 += QUERY_BLOCK) {
      const rows = Math.min(QUERY_BLOCK, tq - q0);
      const kEnd = q0 + rows + offset; // keys the last row of the block may see
      transposeInto(mem, kBase, kEnd, d, kt);
      mem.matmul(qBase + q0 * d, kt, s, rows, d, kEnd);
      const sv = mem.f32(s, rows * kEnd);
      const lse = mem.f32(at.lse + bh * tq + q0, rows);
      for (let r = 0; r < rows; r++) {
        const pos = q0 + r + offset;
        const len = pos + 1;
        const base = r * kEnd;
        const revBase = tk - 1 - pos;
        let max = -Infinity;
        if (bias) {
          for (let j = 0; j < len; j++) {
            const x = sv[base + j] * scale + rev[revBase + j];
            sv[base + j] = x;
            if (x > max) max = x;
          }
        } else {
          for (let j = 0; j < len; j++) {
            const x = sv[base + j] * scale;
            sv[base + j] = x;
            if (x > max) max = x;
          }
        }
        let sum = 0;
        for (let j = 0; j < len; j++) {
          const e = Math.exp(sv[base + j] - max);
          sv[base + j] = e;
          sum += e;
        }
        const inv = 1 / sum;
        for (let j = 0; j < len; j++) sv[base + j] *= inv;
        sv.fill(0, base + len, base + kEnd); // future keys
        lse[r] = max + Math.log(sum);
      }
      mem.matmul(s, vBase, at.out + (bh * tq + q0) * d, rows, kEnd, d);
    }
  }
}

/**
 * Blockwise backward from the saved lse: writes dq, dk, dv (zeroed by the caller) and returns
 * the gradient of the loss with respect to each head's bias at each distance ([H][Tk], summed
 * over the batch) when `biasByDistance` is given, for the T5 table.
 *
 * @example
 * ```ts
 * const dBias = attentionBackwardCpu(mem, dims, offsets, biasByDistance);
 * ```
 */
export function attentionBackwardCpu(
  mem: BlockMemory,
  dims: AttentionDims,
  at: BackwardOffsets,
  biasByDistance: Float32Array[] | null,
  wantBiasGrad: boolean,
): Float64Array[] | null {
  const { batch, heads, queryLen: tq, keyLen: tk, headDim: d, scale } = dims;
  const offset = tk - tq;
  const rowsMax = Math.min(QUERY_BLOCK, tq);
  const qt = mem.alloc(d * rowsMax); // Q_blk^T
  const dot = mem.alloc(d * rowsMax); // dO_blk^T
  const kt = mem.alloc(d * tk); // K^T of the visible keys
  const pt = mem.alloc(tk * rowsMax); // S^T, then P^T
  const dpt = mem.alloc(tk * rowsMax); // dP^T, then dS^T
  const tmp = mem.alloc(tk * d); // matmul results to accumulate
  const delta = new Float64Array(rowsMax);
  const dBias = wantBiasGrad ? Array.from({ length: heads }, () => new Float64Array(tk)) : null;
  for (let bh = 0; bh < batch * heads; bh++) {
    const h = bh % heads;
    const bias = biasByDistance?.[h] ?? null;
    const gBias = dBias?.[h] ?? null;
    const qBase = at.q + bh * tq * d;
    const kBase = at.k + bh * tk * d;
    const vBase = at.v + bh * tk * d;
    for (let q0 = 0; q0 < tq; q0 += QUERY_BLOCK) {
      const rows = Math.min(QUERY_BLOCK, tq - q0);
      const kEnd = q0 + rows + offset;
      const rowBase = (bh * tq + q0) * d;
      // delta_r = dO_r . O_r (the softmax Jacobian's diagonal term).
      {
        const o = mem.f32(at.out + rowBase, rows * d);
        const g = mem.f32(at.dy + rowBase, rows * d);
        for (let r = 0; r < rows; r++) {
          let acc = 0;
          for (let c = 0; c < d; c++) acc += o[r * d + c] * g[r * d + c];
          delta[r] = acc;
        }
      }
      transposeInto(mem, qBase + q0 * d, rows, d, qt);
      transposeInto(mem, at.dy + rowBase, rows, d, dot);
      mem.matmul(kBase, qt, pt, kEnd, d, rows); // S^T [kEnd, rows]
      mem.matmul(vBase, dot, dpt, kEnd, d, rows); // dP^T [kEnd, rows]
      {
        const p = mem.f32(pt, kEnd * rows);
        const ds = mem.f32(dpt, kEnd * rows);
        const lse = mem.f32(at.lse + bh * tq + q0, rows);
        const first = q0 + offset; // position of row 0
        for (let j = 0; j < kEnd; j++) {
          const base = j * rows;
          // Row r sees key j when first + r >= j; distance = first + r - j.
          const rStart = Math.max(0, j - first);
          for (let r = 0; r < rStart; r++) {
            p[base + r] = 0;
            ds[base + r] = 0;
          }
          const dist0 = first - j;
          for (let r = rStart; r < rows; r++) {
            const logit = p[base + r] * scale + (bias ? bias[dist0 + r] : 0);
            const prob = Math.exp(logit - lse[r]);
            const g = prob * (ds[base + r] - delta[r]);
            p[base + r] = prob;
            ds[base + r] = g;
            if (gBias) gBias[dist0 + r] += g;
          }
        }
      }
      // dV[0:kEnd] += P^T @ dO_blk
      mem.matmul(pt, at.dy + rowBase, tmp, kEnd, rows, d);
      addInto(mem, tmp, at.dv + bh * tk * d, kEnd * d, 1);
      // dK[0:kEnd] += scale * dS^T @ Q_blk
      mem.matmul(dpt, qBase + q0 * d, tmp, kEnd, rows, d);
      addInto(mem, tmp, at.dk + bh * tk * d, kEnd * d, scale);
      // dQ_blk^T = K^T @ dS^T (then transposed back, times scale)
      transposeInto(mem, kBase, kEnd, d, kt);
      mem.matmul(kt, dpt, tmp, d, kEnd, rows);
      {
        const t = mem.f32(tmp, d * rows);
        const dq = mem.f32(at.dq + rowBase, rows * d);
        for (let c = 0; c < d; c++) {
          for (let r = 0; r < rows; r++) dq[r * d + c] = scale * t[c * rows + r];
        }
      }
    }
  }
  return dBias;
}

/** dst[D, rows] = src[rows, D]^T (rows of `src` contiguous at float offset `src`). */
function transposeInto(mem: BlockMemory, src: number, rows: number, d: number, dst: number) {
  const a = mem.f32(src, rows * d);
  const t = mem.f32(dst, rows * d);
  for (let r = 0; r < rows; r++) {
    const base = r * d;
    for (let c = 0; c < d; c++) t[c * rows + r] = a[base + c];
  }
}

function addInto(mem: BlockMemory, src: number, dst: number, length: number, factor: number) {
  const a = mem.f32(src, length);
  const b = mem.f32(dst, length);
  if (factor === 1) { for (let i = 0; i < length; i++) b[i] += a[i]; }
  else for (let i = 0; i < length; i++) b[i] += factor * a[i];
}

/**
 * A {@link BlockMemory} in one JS ArrayBuffer with a plain-loop matmul (the tfjs cpu backend).
 *
 * @example
 * ```ts
 * const mem = new ArrayMemory(1 << 20);
 * const x = mem.alloc(16);
 * ```
 */
export class ArrayMemory implements BlockMemory {
  readonly data: Float32Array;
  private used = 0;
  constructor(capacity: number) {
    this.data = new Float32Array(capacity);
  }
  f32(offset: number, length: number): Float32Array {
    return this.data.subarray(offset, offset + length);
  }
  alloc(length: number): number {
    const at = this.used;
    this.used += length;
    if (this.used > this.data.length) {
      throw new RangeError(`ArrayMemory capacity ${this.data.length} exceeded; need ${this.used}`);
    }
    return at;
  }
  matmul(a: number, b: number, c: number, m: number, k: number, n: number): void {
    const x = this.data;
    for (let i = 0; i < m; i++) {
      const ci = c + i * n;
      x.fill(0, ci, ci + n);
      for (let p = 0; p < k; p++) {
        const av = x[a + i * k + p];
        const bp = b + p * n;
        for (let j = 0; j < n; j++) x[ci + j] += av * x[bp + j];
      }
    }
  }
}

/** The parts of tfjs-backend-wasm's `BackendWasm` that {@link WasmHeapMemory} touches. */
export interface WasmBackendInternals {
  wasm: {
    HEAPU8: Uint8Array;
    _malloc(bytes: number): number;
    _free(offset: number): void;
    cwrap(name: string, ret: null, args: string[]): (...args: unknown[]) => void;
    tfjs: {
      registerTensor(id: number, size: number, offset: number): void;
      disposeData(id: number): void;
    };
  };
  dataIdMap: { get(dataId: object): { memoryOffset: number } };
  dataIdNextNumber: number;
}

let wasmBatchMatMul: ((...args: unknown[]) => void) | null = null;

/**
 * A {@link BlockMemory} on the wasm heap: tensors are used in place (float offset =
 * memoryOffset / 4), scratch comes from the wasm allocator, and matmul is tfjs-wasm's XNNPACK
 * fast path on views registered at the operands' offsets. Call {@link WasmHeapMemory.free} after.
 *
 * @example
 * ```ts
 * const mem = new WasmHeapMemory(backend);
 * const qAt = mem.offsetOf(q);
 * ```
 */
export class WasmHeapMemory implements BlockMemory {
  private readonly scratch: number[] = [];
  constructor(private readonly backend: WasmBackendInternals) {
    wasmBatchMatMul ??= backend.wasm.cwrap("BatchMatMul", null, [
      "number",
      "array",
      "number",
      "number",
      "array",
      "number",
      "number",
      "number",
      "number",
    ]);
  }
  /** Float offset of a wasm tensor's data. */
  offsetOf(info: { dataId: object }): number {
    return this.backend.dataIdMap.get(info.dataId).memoryOffset / 4;
  }
  f32(offset: number, length: number): Float32Array {
    return new Float32Array(this.backend.wasm.HEAPU8.buffer, offset * 4, length);
  }
  alloc(length: number): number {
    const bytes = this.backend.wasm._malloc(Math.max(4, length * 4)) >>> 0;
    if (bytes === 0) throw new RangeError(`wasm heap exhausted allocating ${length} floats`);
    this.scratch.push(bytes);
    const at = bytes / 4;
    this.f32(at, length).fill(0);
    return at;
  }
  matmul(a: number, b: number, c: number, m: number, k: number, n: number): void {
    const ids: number[] = [];
    const view = (at: number, size: number) => {
      const id = this.backend.dataIdNextNumber++;
      this.backend.wasm.tfjs.registerTensor(id, size, at * 4);
      ids.push(id);
      return id;
    };
    const shape = (x: number[]) => new Uint8Array(new Int32Array(x).buffer);
    try {
      // Fresh ids each call: XNNPACK caches packed weights by the right operand's id.
      wasmBatchMatMul!(
        view(a, m * k),
        shape([1, m, k]),
        3,
        view(b, k * n),
        shape([1, k, n]),
        3,
        0,
        0,
        view(c, m * n),
      );
    } finally {
      for (const id of ids) this.backend.wasm.tfjs.disposeData(id);
    }
  }
  /** Returns the scratch to the wasm allocator. */
  free(): void {
    for (const bytes of this.scratch) this.backend.wasm._free(bytes);
    this.scratch.length = 0;
  }
}
