/**
 * Checkpoints in the safetensors format (8-byte little-endian header length, JSON header,
 * little-endian float32 data), so other tools (Python `safetensors`, HF) can read them. The model
 * config sits in the header's `__metadata__` (values are strings, as the format requires), with
 * any training state (step, optimizer moments as extra tensors) the trainer adds. Writes are
 * atomic (temp file + rename): a crash never leaves a half-written latest checkpoint.
 *
 * @example
 * ```ts
 * import { loadCheckpoint, saveCheckpoint } from "./checkpoint.ts";
 * await saveCheckpoint("assets/checkpoints/x/model.safetensors", model.config, model.weights());
 * const { config, weights } = await loadCheckpoint("assets/checkpoints/x/model.safetensors");
 * ```
 * @module
 */
import { writeFileAtomic } from "../util/atomic.ts";
import { type ModelConfig, validateConfig } from "./config.ts";
import type { Weights } from "./decoder.ts";

/** Format tag written to `__metadata__.format`. */
export const CHECKPOINT_FORMAT = "long-context-course/v1";

/** Thrown for files that are not valid checkpoints (corrupt, truncated, wrong format). */
export class CheckpointError extends Error {
  override name = "CheckpointError";
}

/** Serialises float32 tensors and string metadata to safetensors bytes. */
export function encodeSafetensors(
  tensors: Weights,
  metadata: Record<string, string> = {},
): Uint8Array {
  const header: Record<string, unknown> = { __metadata__: metadata };
  let offset = 0;
  for (const [name, t] of tensors) {
    const n = t.shape.reduce((a, b) => a * b, 1);
    if (n !== t.data.length) {
      throw new RangeError(
        `tensor ${name}: shape [${t.shape}] needs ${n} values; got ${t.data.length}`,
      );
    }
    header[name] = { dtype: "F32", shape: t.shape, data_offsets: [offset, offset + 4 * n] };
    offset += 4 * n;
  }
  let json = JSON.stringify(header);
  json += " ".repeat((8 - (new TextEncoder().encode(json).length % 8)) % 8); // 8-byte alignment
  const headerBytes = new TextEncoder().encode(json);
  const out = new Uint8Array(8 + headerBytes.length + offset);
  const view = new DataView(out.buffer);
  view.setBigUint64(0, BigInt(headerBytes.length), true);
  out.set(headerBytes, 8);
  let o = 8 + headerBytes.length;
  for (const t of tensors.values()) {
    for (let i = 0; i < t.data.length; i++) view.setFloat32(o + 4 * i, t.data[i], true);
    o += 4 * t.data.length;
  }
  return out;
}

/** Parses safetensors bytes (F32 only); throws CheckpointError with the reason otherwise. */
export function decodeSafetensors(
  bytes: Uint8Array,
  source = "checkpoint",
): { tensors: Weights; metadata: Record<string, string> } {
  if (bytes.length < 8) {
    throw new CheckpointError(`${source}: truncated (${bytes.length} bytes, no header length)`);
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const headerLen = Number(view.getBigUint64(0, true));
  if (headerLen <= 0 || 8 + headerLen > bytes.length) {
    throw new CheckpointError(
      `${source}: corrupt or truncated (header length ${headerLen}, file ${bytes.length} bytes)`,
    );
  }
  let header: Record<string, unknown>;
  try {
    header = JSON.parse(
      new TextDecoder("utf-8", { fatal: true }).decode(bytes.subarray(8, 8 + headerLen)),
    );
  } catch (e) {
    throw new CheckpointError(`${source}: corrupt header (${(e as Error).message})`);
  }
  if (typeof header !== "object" || header === null || Array.isArray(header)) {
    throw new CheckpointError(`${source}: corrupt header (not a JSON object)`);
  }
  const dataStart = 8 + headerLen;
  const dataLen = bytes.length - dataStart;
  const metadata = (header.__metadata__ ?? {}) as Record<string, string>;
  const tensors: Weights = new Map();
  let end = 0;
  for (const [name, entry] of Object.entries(header)) {
    if (name === "__metadata__") continue;
    const e = entry as { dtype?: string; shape?: number[]; data_offsets?: [number, number] };
    if (e.dtype !== "F32") {
      throw new CheckpointError(`${source}: tensor ${name} has dtype ${e.dtype}; only F32 is read`);
    }
    const [a, b] = e.data_offsets ?? [-1, -1];
    const n = (e.shape ?? []).reduce((x, y) => x * y, 1);
    if (!(a >= 0 && b >= a) || b - a !== 4 * n) {
      throw new CheckpointError(`${source}: tensor ${name} has inconsistent offsets [${a}, ${b}]`);
    }
    if (b > dataLen) {
      throw new CheckpointError(
        `${source}: truncated (tensor ${name} ends at byte ${b} of ${dataLen} data bytes)`,
      );
    }
    const data = new Float32Array(n);
    for (let i = 0; i < n; i++) data[i] = view.getFloat32(dataStart + a + 4 * i, true);
    tensors.set(name, { shape: e.shape ?? [], data });
    end = Math.max(end, b);
  }
  if (end !== dataLen) {
    throw new CheckpointError(`${source}: ${dataLen - end} unexpected bytes after the tensors`);
  }
  return { tensors, metadata };
}

/** Writes config + weights (+ extra tensors and metadata, e.g. optimizer state) atomically. */
export async function saveCheckpoint(
  path: string,
  config: ModelConfig,
  weights: Weights,
  extra: { tensors?: Weights; metadata?: Record<string, string> } = {},
): Promise<void> {
  const all: Weights = new Map(weights);
  for (const [k, v] of extra.tensors ?? []) all.set(k, v);
  const metadata = {
    ...extra.metadata,
    format: CHECKPOINT_FORMAT,
    config: JSON.stringify(config),
  };
  await writeFileAtomic(path, encodeSafetensors(all, metadata));
}

/** A loaded checkpoint: model weights, other tensors (e.g. `optim.*`), config and metadata. */
export interface LoadedCheckpoint {
  config: ModelConfig;
  weights: Weights;
  extraTensors: Weights;
  metadata: Record<string, string>;
}

/**
 * Reads a checkpoint. With `expected`, the stored config must equal it in every architecture field
 * (the positional mode may differ only when `allowPositionalChange` is set: that is a retrofit).
 */
export async function loadCheckpoint(
  path: string,
  opts: { expected?: ModelConfig; allowPositionalChange?: boolean } = {},
): Promise<LoadedCheckpoint> {
  const { tensors, metadata } = decodeSafetensors(await Deno.readFile(path), path);
  if (metadata.format !== CHECKPOINT_FORMAT || typeof metadata.config !== "string") {
    throw new CheckpointError(`${path}: not a course checkpoint (format "${metadata.format}")`);
  }
  let config: ModelConfig;
  try {
    config = validateConfig(JSON.parse(metadata.config));
  } catch (e) {
    throw new CheckpointError(`${path}: bad config in header: ${(e as Error).message}`);
  }
  if (opts.expected) {
    const diffs = configDifferences(config, opts.expected, opts.allowPositionalChange ?? false);
    if (diffs.length) {
      throw new CheckpointError(`${path}: config does not match: ${diffs.join("; ")}`);
    }
  }
  const weights: Weights = new Map();
  const extraTensors: Weights = new Map();
  for (const [k, v] of tensors) (k.startsWith("optim.") ? extraTensors : weights).set(k, v);
  return { config, weights, extraTensors, metadata };
}

/** Human-readable differences between two configs ("dModel: 128 vs 64"). */
export function configDifferences(
  a: ModelConfig,
  b: ModelConfig,
  ignorePositional = false,
): string[] {
  const out: string[] = [];
  for (const key of Object.keys({ ...a, ...b }) as (keyof ModelConfig)[]) {
    if (ignorePositional && key === "positional") continue;
    const x = JSON.stringify(a[key]), y = JSON.stringify(b[key]);
    if (x !== y) out.push(`${key}: ${x} in file vs ${y} expected`);
  }
  return out;
}
