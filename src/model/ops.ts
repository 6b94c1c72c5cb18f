/**
 * The positional and attention building blocks the decoder uses, gathered in one place so the
 * model imports them from here: the RoPE registry, ALiBi slopes and T5 buckets from
 * src/positions, the rotary kernel and the fused causal attention op from src/kernels.
 *
 * @example
 * ```ts
 * import { applyRotary, attention, ropeInvFreq } from "./ops.ts";
 * ```
 * @module
 */
export { ropeInvFreq, type RopeScaling } from "../positions/rope.ts";
export { alibiSlopes } from "../positions/alibi.ts";
export { relativePositionBucket } from "../positions/t5.ts";
export { applyRotary } from "../kernels/rotary.ts";
export { attention, type AttentionBias } from "../kernels/attention.ts";
