/**
 * The wasm/cpu side of the fused attention: blockwise causal attention that never holds N x N.
 *
 * Queries go in blocks of {@link queryBlockFor} rows (at most {@link QUERY_BLOCK}); each block meets
 * only the keys it may see (0 .. its last position) through one fast matmul (XNNPACK on wasm, on
 * zero-copy views of the wasm heap), XNNPACK's softmax runs on the block's rows, and a second
 * matmul applies it to V. Peak scratch is a few block x N buffers, so memory grows linearly in N.
 *
 * The positional bias depends only on the distance q - k, so it is one vector per head
 * (`biasByDistance`, length Tk): ALiBi -slope * distance, or the T5 table entry of the distance's
 * bucket. Read backwards, a row of it is contiguous, so adding it costs one pass per block row.
 *
 * The backward recomputes each block's probabilities the same way (exactly the forward's), then
 * dS = P * (dP - rowsum(dO * O)) and the gradient matmuls; transposes are tfjs-wasm's C++ ones.
 *
 * @example
 * ```ts
 * import { attentionForwardCpu } from "./attention_cpu.ts";
 * // inside a registered kernel (offsets of q, k, v, out, lse in `mem`; null: no bias):
 * attentionForwardCpu(mem, dims, offsets, null);
 * ```
 * @module
 */
import { shapeBytes, wasmCall, type WasmFn } from "./wasm_calls.ts";

/** Most query rows per block (scratch is QUERY_BLOCK x Tk floats per buffer). */
export const QUERY_BLOCK = 512;

/**
 * Query rows per block for `queryLen` queries: about an eighth of them (a power of two in
 * [256, QUERY_BLOCK]). Bigger blocks make faster matmuls; smaller ones waste less on the masked
 * half of the diagonal block.
 *
 * @example
 * ```ts
 * queryBlockFor(4096); // 512
 * ```
 */
export function queryBlockFor(queryLen: number): number {
  const target = 2 ** Math.floor(Math.log2(Math.max(1, queryLen / 8)));
  return Math.min(QUERY_BLOCK, Math.max(256, target), queryLen);
}

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
  /** Softmax of each of `rows` rows of `cols` floats, in place (-Infinity entries give 0). */
  softmaxRows(at: number, rows: number, cols: number): void;
  /** dst[cols, rows] = src[rows, cols]^T. */
  transpose(src: number, rows: number, cols: number, dst: number): void;
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

/** One unit of forward work: query block `q0 .. q0 + rows` of batch-head `bh`. */
export interface ForwardItem {
  bh: number;
  q0: number;
  rows: number;
}

/**
 * The forward's work items split into `parts` lists of about equal cost (cost: rows x visible
 * keys), by a deterministic greedy (largest first, to the least loaded part). Every item is in
 * exactly one list.
 */
export function forwardParts(dims: AttentionDims, parts: number): ForwardItem[][] {
  if (!Number.isInteger(parts) || parts < 1) {
    throw new RangeError(`parts must be an integer >= 1; got ${parts}`);
  }
  const { batch, heads, queryLen: tq, keyLen: tk } = dims;
  const block = queryBlockFor(tq);
  const items: Array<ForwardItem & { cost: number }> = [];
  for (let bh = 0; bh < batch * heads; bh++) {
    for (let q0 = 0; q0 < tq; q0 += block) {
      const rows = Math.min(block, tq - q0);
      items.push({ bh, q0, rows, cost: rows * (q0 + rows + tk - tq) });
    }
  }
  items.sort((a, b) => b.cost - a.cost || a.bh - b.bh || a.q0 - b.q0);
  const out: ForwardItem[][] = Array.from({ length: parts }, () => []);
  const load = new Float64Array(parts);
  for (const { bh, q0, rows, cost } of items) {
    let best = 0;
    for (let i = 1; i < parts; i++) if (load[i] < load[best]) best = i;
    out[best].push({ bh, q0, rows });
    load[best] += cost;
  }
  return out;
}

/**
 * Runs part of a forward on other threads: given the inputs, it starts the other parts, runs
 * `local` (this thread's part) and returns once every part's out and lse are in `mem`.
 */
export type ForwardSplitter = (
  mem: BlockMemory,
  dims: AttentionDims,
  at: ForwardOffsets,
  biasByDistance: Float32Array[] | null,
  local: (items: ForwardItem[]) => void,
) => boolean;

let splitter: ForwardSplitter | null = null;

/**
 * Installs (or, with null, removes) the hook that spreads large forwards over helper threads
 * (see attention_threads.ts). It returns false to decline a call, which then runs here alone.
 */
export function setForwardSplitter(f: ForwardSplitter | null): void {
  splitter = f;
}

/**
 * Blockwise forward: writes out and lse. `biasByDistance[h]` (length Tk, or null for no bias)
 * is the logit added at distance q - k. `items` (default: all) limits it to some query blocks;
 * without `items`, an installed {@link setForwardSplitter} hook may share the work out.
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
  items?: readonly ForwardItem[],
): void {
  if (!items) {
    const local = (part: ForwardItem[]) => attentionForwardCpu(mem, dims, at, biasByDistance, part);
    if (splitter?.(mem, dims, at, biasByDistance, local)) return;
    items = forwardParts(dims, 1)[0].sort((a, b) => a.bh - b.bh || a.q0 - b.q0);
  }
  const { heads, queryLen: tq, keyLen: tk, headDim: d, scale } = dims;
  const offset = tk - tq;
  const rowsMax = queryBlockFor(tq);
  const kt = mem.alloc(d * tk); // K^T of the visible keys, per block
  const s = mem.alloc(rowsMax * tk); // logits, then probabilities
  // Reversed bias: row r (query position p) reads rev[tk - 1 - p + j] for key j: contiguous.
  const rev = new Float32Array(tk);
  const rowMax = new Float64Array(rowsMax);
  const rowArg = new Int32Array(rowsMax);
  let revFor = -1;
  for (const { bh, q0, rows } of items) {
    const bias = biasByDistance?.[bh % heads] ?? null;
    if (bias && revFor !== bh % heads) {
      for (let x = 0; x < tk; x++) rev[x] = bias[tk - 1 - x];
      revFor = bh % heads;
    }
    const qBase = at.q + bh * tq * d;
    const kBase = at.k + bh * tk * d;
    const vBase = at.v + bh * tk * d;
    const kEnd = q0 + rows + offset; // keys the last row of the block may see
    mem.transpose(kBase, kEnd, d, kt);
    mem.matmul(qBase + q0 * d, kt, s, rows, d, kEnd);
    scaleBiasMask(mem, s, rows, kEnd, q0 + offset, scale, bias ? rev : null, tk, rowMax, rowArg);
    mem.softmaxRows(s, rows, kEnd);
    // XNNPACK does not return the row sums; p at the row's argmax is exp(0) / sum, so
    // lse = max + log(sum) = max - log(p[argmax]).
    const sv = mem.f32(s, rows * kEnd);
    const lse = mem.f32(at.lse + bh * tq + q0, rows);
    for (let r = 0; r < rows; r++) lse[r] = rowMax[r] - Math.log(sv[r * kEnd + rowArg[r]]);
    mem.matmul(s, vBase, at.out + (bh * tq + q0) * d, rows, kEnd, d);
  }
}

/**
 * Blockwise backward: recomputes each block's probabilities exactly as the forward did (so the
 * saved lse is not needed here), then dS = P * (dP - delta) and the three gradient matmuls.
 * Writes dq, dk, dv (dk and dv zeroed by the caller) and returns the gradient with respect to each
 * head's bias at each distance ([H][Tk], summed over the batch) when `wantBiasGrad`.
 *
 * @example
 * ```ts
 * const dBias = attentionBackwardCpu(mem, dims, offsets, biasByDistance, true);
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
  const block = queryBlockFor(tq);
  const rowsMax = block;
  const kt = mem.alloc(d * tk); // K^T of the visible keys
  const vt = mem.alloc(d * tk); // V^T of the visible keys
  const p = mem.alloc(rowsMax * tk); // probabilities [rows, kEnd]
  const ds = mem.alloc(rowsMax * tk); // dP, then dS [rows, kEnd]
  const pt = mem.alloc(tk * rowsMax); // P^T, then dS^T
  const tmp = mem.alloc(tk * d); // matmul results to accumulate
  const rev = new Float32Array(tk);
  const rowMax = new Float64Array(rowsMax);
  const rowArg = new Int32Array(rowsMax);
  const delta = new Float64Array(rowsMax);
  const dBias = wantBiasGrad ? Array.from({ length: heads }, () => new Float64Array(tk)) : null;
  for (let bh = 0; bh < batch * heads; bh++) {
    const h = bh % heads;
    const bias = biasByDistance?.[h] ?? null;
    if (bias) { for (let x = 0; x < tk; x++) rev[x] = bias[tk - 1 - x]; }
    const gBias = dBias?.[h] ?? null;
    const qBase = at.q + bh * tq * d;
    const kBase = at.k + bh * tk * d;
    const vBase = at.v + bh * tk * d;
    for (let q0 = 0; q0 < tq; q0 += block) {
      const rows = Math.min(block, tq - q0);
      const kEnd = q0 + rows + offset;
      const first = q0 + offset; // position of row 0
      const rowBase = (bh * tq + q0) * d;
      rowDots(mem, at.out + rowBase, at.dy + rowBase, rows, d, delta);
      mem.transpose(kBase, kEnd, d, kt);
      mem.matmul(qBase + q0 * d, kt, p, rows, d, kEnd);
      scaleBiasMask(mem, p, rows, kEnd, first, scale, bias ? rev : null, tk, rowMax, rowArg);
      mem.softmaxRows(p, rows, kEnd);
      mem.transpose(vBase, kEnd, d, vt);
      mem.matmul(at.dy + rowBase, vt, ds, rows, d, kEnd); // dP
      softmaxBackward(mem, p, ds, rows, kEnd, first, delta, gBias);
      // dQ_blk = scale * dS @ K
      mem.matmul(ds, kBase, at.dq + rowBase, rows, kEnd, d);
      const dq = mem.f32(at.dq + rowBase, rows * d);
      for (let i = 0; i < rows * d; i++) dq[i] *= scale;
      // dV[0:kEnd] += P^T @ dO_blk
      mem.transpose(p, rows, kEnd, pt);
      mem.matmul(pt, at.dy + rowBase, tmp, kEnd, rows, d);
      addInto(mem, tmp, at.dv + bh * tk * d, kEnd * d, 1);
      // dK[0:kEnd] += scale * dS^T @ Q_blk
      mem.transpose(ds, rows, kEnd, pt);
      mem.matmul(pt, qBase + q0 * d, tmp, kEnd, rows, d);
      addInto(mem, tmp, at.dk + bh * tk * d, kEnd * d, scale);
    }
  }
  return dBias;
}

/**
 * delta_r = dO_r . O_r for each of `rows` rows of width `d` (the softmax Jacobian's diagonal
 * term), from the output at `out` and its gradient at `dy`.
 */
function rowDots(
  mem: BlockMemory,
  out: number,
  dy: number,
  rows: number,
  d: number,
  delta: Float64Array,
): void {
  const o = mem.f32(out, rows * d);
  const g = mem.f32(dy, rows * d);
  for (let r = 0; r < rows; r++) {
    let acc = 0;
    for (let c = 0; c < d; c++) acc += o[r * d + c] * g[r * d + c];
    delta[r] = acc;
  }
}

/**
 * In place on the block [rows, kEnd] at `ds` holding dP: dS = P * (dP - delta), 0 for future
 * keys; adds each dS entry to `gBias` at its distance when given.
 */
function softmaxBackward(
  mem: BlockMemory,
  p: number,
  ds: number,
  rows: number,
  kEnd: number,
  first: number,
  delta: Float64Array,
  gBias: Float64Array | null,
): void {
  const pv = mem.f32(p, rows * kEnd);
  const dv = mem.f32(ds, rows * kEnd);
  for (let r = 0; r < rows; r++) {
    const base = r * kEnd;
    const len = first + r + 1;
    const dr = delta[r];
    for (let j = 0; j < len; j++) dv[base + j] = pv[base + j] * (dv[base + j] - dr);
    dv.fill(0, base + len, base + kEnd);
    if (gBias) {
      const pos = first + r;
      for (let j = 0; j < len; j++) gBias[pos - j] += dv[base + j];
    }
  }
}

/** Logits this far below their row's max get weight 0 (e^-80 is < 1e-34). */
const UNDERFLOW_GAP = 80;

/**
 * In place on the logits block [rows, kEnd] whose row 0 sits at position `first`: x * scale +
 * bias, -Infinity for future keys; records each row's max and argmax.
 */
function scaleBiasMask(
  mem: BlockMemory,
  s: number,
  rows: number,
  kEnd: number,
  first: number,
  scale: number,
  rev: Float32Array | null,
  tk: number,
  rowMax: Float64Array,
  rowArg: Int32Array,
): void {
  const sv = mem.f32(s, rows * kEnd);
  for (let r = 0; r < rows; r++) {
    const pos = first + r;
    const len = pos + 1;
    const base = r * kEnd;
    const revBase = tk - 1 - pos;
    let max = -Infinity;
    let min = Infinity;
    let arg = 0;
    for (let j = 0; j < len; j++) {
      const x = sv[base + j] * scale + (rev ? rev[revBase + j] : 0);
      sv[base + j] = x;
      if (x > max) {
        max = x;
        arg = j;
      }
      if (x < min) min = x;
    }
    if (min < max - UNDERFLOW_GAP) {
      // exp(x - max) below ~e^-87 is a float32 denormal, and denormals make the P @ V matmul
      // several times slower (wasm has no flush-to-zero). Such weights are < 1e-35 of the row's
      // largest: drop them exactly. ALiBi's far keys hit this on every long row.
      const floor = max - UNDERFLOW_GAP;
      for (let j = 0; j < len; j++) if (sv[base + j] < floor) sv[base + j] = -Infinity;
    }
    sv.fill(-Infinity, base + len, base + kEnd); // future keys
    rowMax[r] = max;
    rowArg[r] = arg;
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
  softmaxRows(at: number, rows: number, cols: number): void {
    const x = this.data;
    for (let r = 0; r < rows; r++) {
      const base = at + r * cols;
      let max = -Infinity;
      for (let j = 0; j < cols; j++) max = Math.max(max, x[base + j]);
      let sum = 0;
      for (let j = 0; j < cols; j++) {
        const e = Math.exp(x[base + j] - max);
        x[base + j] = e;
        sum += e;
      }
      for (let j = 0; j < cols; j++) x[base + j] /= sum;
    }
  }
  transpose(src: number, rows: number, cols: number, dst: number): void {
    const x = this.data;
    for (let r = 0; r < rows; r++) {
      for (let c = 0; c < cols; c++) x[dst + c * rows + r] = x[src + r * cols + c];
    }
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
  readonly #matMul: WasmFn;
  readonly #softmax: WasmFn;
  readonly #transpose: WasmFn;
  constructor(private readonly backend: WasmBackendInternals) {
    this.#matMul = wasmCall(backend, "BatchMatMul");
    this.#softmax = wasmCall(backend, "Softmax");
    this.#transpose = wasmCall(backend, "Transpose");
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
  /** Runs `f` with tensor ids registered as views of the given (offset, size) ranges. */
  private withViews(ranges: [number, number][], f: (ids: number[]) => void): void {
    const ids = ranges.map(([at, size]) => {
      const id = this.backend.dataIdNextNumber++;
      this.backend.wasm.tfjs.registerTensor(id, size, at * 4);
      return id;
    });
    try {
      f(ids);
    } finally {
      for (const id of ids) this.backend.wasm.tfjs.disposeData(id);
    }
  }
  softmaxRows(at: number, rows: number, cols: number): void {
    // XNNPACK's softmax reads each input before writing the same output element: in place is safe.
    this.withViews([[at, rows * cols]], ([x]) => this.#softmax(x, x, cols, rows));
  }
  transpose(src: number, rows: number, cols: number, dst: number): void {
    if (rows === 1 || cols === 1) {
      this.f32(dst, rows * cols).set(this.f32(src, rows * cols)); // same layout
      return;
    }
    this.withViews([[src, rows * cols], [dst, rows * cols]], ([x, y]) => {
      this.#transpose(x, shapeBytes([rows, cols]), 2, 0, /* float32 */ y, shapeBytes([1, 0]), 2);
    });
  }
  matmul(a: number, b: number, c: number, m: number, k: number, n: number): void {
    const ids: number[] = [];
    const view = (at: number, size: number) => {
      const id = this.backend.dataIdNextNumber++;
      this.backend.wasm.tfjs.registerTensor(id, size, at * 4);
      ids.push(id);
      return id;
    };
    const shape = shapeBytes;
    try {
      // Fresh ids each call: XNNPACK caches packed weights by the right operand's id.
      this.#matMul(
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
