/**
 * Shared boilerplate for the course's custom tfjs kernels: flat WGSL programs run through
 * tfjs-backend-webgpu's own `runWebGPUProgram` (so buffers, uniforms, pipeline caching and
 * command batching are tfjs's), plus the typed-array helpers the wasm/cpu counterparts use.
 *
 * A flat program runs one invocation per output element. tfjs writes the declarations for you:
 * each input `N` is `var<storage, read> N: array<f32>` (shape in `uniforms.nShape`, strides in
 * `uniforms.nShapeStrides`), the output is written with `setOutputAtIndex(index, value)`,
 * `uniforms.outShape` / `uniforms.size` describe the output, and your extra uniform fields follow.
 *
 * @example
 * ```ts
 * import * as tf from "@tensorflow/tfjs";
 * import {
 *   kernelInput,
 *   readFloat32,
 *   registerCourseKernel,
 *   runFlatProgram,
 *   writeFloat32,
 * } from "./webgpu_program.ts";
 *
 * // y = a * x + b, elementwise, as a kernel named "CourseAxpb".
 * registerCourseKernel("CourseAxpb", {
 *   webgpu: ({ inputs, attrs, backend }) =>
 *     runFlatProgram(backend, {
 *       name: "course_axpb",
 *       inputs: ["X"],
 *       outputShape: kernelInput(inputs, "x").shape,
 *       uniforms: "a : f32, b : f32,",
 *       body: "setOutputAtIndex(index, uniforms.a * X[index] + uniforms.b);",
 *     }, [kernelInput(inputs, "x")], [{ type: "float32", data: [attrs.a as number] }, {
 *       type: "float32",
 *       data: [attrs.b as number],
 *     }]),
 *   cpu: ({ inputs, attrs, backend }) => {
 *     const x = kernelInput(inputs, "x");
 *     const values = readFloat32(backend, x).map((v) => (attrs.a as number) * v + (attrs.b as number));
 *     return writeFloat32(backend, values, x.shape);
 *   },
 * });
 * const y = tf.engine().runKernel("CourseAxpb", { x: tf.ones([3]) }, { a: 2, b: 1 }) as tf.Tensor;
 * ```
 * @module
 */
import * as tf from "@tensorflow/tfjs";

/** One value of a program-defined uniform, in the order of the `uniforms` declaration. */
export interface ProgramUniform {
  type: "float32" | "int32" | "uint32";
  data: number[];
}

/**
 * The program object tfjs-backend-webgpu 4.22 compiles (structurally its `WebGPUProgram`).
 * `shaderKey` must change whenever `getUserCode()` would change for the same input ranks.
 */
export interface GpuProgram {
  variableNames: string[];
  outputShape: number[];
  shaderKey: string;
  dispatchLayout: { x: number[]; y?: number[]; z?: number[] };
  dispatch: [number, number, number];
  workgroupSize: [number, number, number];
  size?: boolean;
  uniforms?: string;
  atomic?: boolean;
  getUserCode: () => string;
}

/** The part of tfjs-backend-webgpu's `WebGPUBackend` the course kernels use. */
export interface WebGpuBackendLike {
  device: GPUDevice;
  runWebGPUProgram(
    program: GpuProgram,
    inputs: tf.TensorInfo[],
    outputDtype: tf.DataType,
    programDefinedUniform?: ProgramUniform[],
    output?: tf.TensorInfo,
  ): tf.TensorInfo;
  write(values: tf.backend_util.BackendValues, shape: number[], dtype: tf.DataType): object;
  readSync(dataId: object): tf.backend_util.BackendValues;
  disposeData(dataId: object, force?: boolean): boolean;
}

/**
 * Narrows a kernel's `backend` argument to the webgpu backend, or throws.
 *
 * @example
 * ```ts
 * const gpu = asWebGpuBackend(backend); // inside a kernelFunc registered for "webgpu"
 * ```
 */
export function asWebGpuBackend(backend: unknown): WebGpuBackendLike {
  const b = backend as Partial<WebGpuBackendLike> | null;
  if (!b || typeof b.runWebGPUProgram !== "function" || !b.device) {
    throw new TypeError("backend must be tfjs-backend-webgpu's WebGPUBackend");
  }
  return b as WebGpuBackendLike;
}

/** What a flat (one invocation per output element) WGSL program needs. */
export interface FlatProgramSpec {
  /** Unique name; keys tfjs's pipeline cache together with the input ranks, so it must encode
   * anything that changes the generated WGSL. */
  name: string;
  /** Input names as WGSL sees them (capitalised, e.g. "X", "Table"), in input order. */
  inputs: string[];
  /** Output shape, any rank 1..4. */
  outputShape: number[];
  /** Extra uniform struct fields in WGSL syntax, e.g. `"scale : f32, offset : i32,"`. */
  uniforms?: string;
  /** WGSL helper functions placed before `main`. */
  helpers?: string;
  /** WGSL statements run for each `index : i32` below `uniforms.size` (flat output index). */
  body: string;
  /** Threads per workgroup (1-D); default 64, small enough for llvmpipe and any GPU. */
  workgroupSize?: number;
}

/**
 * Builds the tfjs program object for a flat WGSL kernel.
 *
 * @example
 * ```ts
 * const program = makeFlatProgram({ name: "neg", inputs: ["X"], outputShape: [4],
 *   body: "setOutputAtIndex(index, -X[index]);" });
 * ```
 */
export function makeFlatProgram(spec: FlatProgramSpec): GpuProgram {
  const size = spec.outputShape.reduce((a, b) => a * b, 1);
  const workgroupSize = spec.workgroupSize ?? 64;
  if (!Number.isInteger(workgroupSize) || workgroupSize < 1 || workgroupSize > 256) {
    throw new RangeError(`workgroupSize must be an integer in [1, 256]; got ${workgroupSize}`);
  }
  const program: GpuProgram = {
    variableNames: [...spec.inputs],
    outputShape: [...spec.outputShape],
    shaderKey: `${spec.name}_wg${workgroupSize}`,
    dispatchLayout: { x: spec.outputShape.map((_, i) => i) },
    dispatch: [Math.max(1, Math.ceil(size / workgroupSize)), 1, 1],
    workgroupSize: [workgroupSize, 1, 1],
    size: true,
    getUserCode: () => `
${spec.helpers ?? ""}
fn main(index : i32) {
  if (index < uniforms.size) {
    ${spec.body}
  }
}
`,
  };
  if (spec.uniforms) program.uniforms = spec.uniforms;
  return program;
}

/**
 * Runs a flat WGSL program on the webgpu backend and returns the output's TensorInfo
 * (what a kernelFunc returns). `uniforms` are the values of `spec.uniforms`, in order.
 *
 * @example
 * ```ts
 * const out = runFlatProgram(backend, { name: "scale", inputs: ["X"], outputShape: x.shape,
 *   uniforms: "s : f32,", body: "setOutputAtIndex(index, uniforms.s * X[index]);" },
 *   [x], [{ type: "float32", data: [2] }]);
 * ```
 */
export function runFlatProgram(
  backend: unknown,
  spec: FlatProgramSpec,
  inputs: tf.TensorInfo[],
  uniforms: ProgramUniform[] = [],
  dtype: tf.DataType = "float32",
): tf.TensorInfo {
  if (inputs.length !== spec.inputs.length) {
    throw new RangeError(
      `inputs must match spec.inputs (${spec.inputs.length}); got ${inputs.length}`,
    );
  }
  return asWebGpuBackend(backend).runWebGPUProgram(makeFlatProgram(spec), inputs, dtype, uniforms);
}

/**
 * Creates a backend-owned tensor from values (any backend: cpu, wasm, webgpu). Used for kernel
 * outputs on cpu/wasm and for temporary inputs on webgpu (dispose those with {@link disposeInfo}).
 *
 * @example
 * ```ts
 * const info = writeFloat32(backend, new Float32Array([1, 2, 3]), [3]);
 * ```
 */
export function writeFloat32(
  backend: unknown,
  values: Float32Array,
  shape: number[],
): tf.TensorInfo {
  const size = shape.reduce((a, b) => a * b, 1);
  if (values.length !== size) {
    throw new RangeError(
      `values length must equal the size of shape [${shape}] (${size}); got ${values.length}`,
    );
  }
  const dataId = (backend as WebGpuBackendLike).write(values, shape, "float32");
  return { dataId, shape: [...shape], dtype: "float32" };
}

/**
 * Reads a float32 TensorInfo's values synchronously (cpu/wasm kernels).
 *
 * @example
 * ```ts
 * const x = readFloat32(backend, inputs.x);
 * ```
 */
export function readFloat32(backend: unknown, info: tf.TensorInfo): Float32Array {
  if (info.dtype !== "float32") {
    throw new TypeError(`tensor dtype must be float32; got ${info.dtype}`);
  }
  return (backend as WebGpuBackendLike).readSync(info.dataId) as Float32Array;
}

/**
 * Releases a temporary TensorInfo made inside a kernel with {@link writeFloat32}.
 *
 * @example
 * ```ts
 * disposeInfo(backend, tmp);
 * ```
 */
export function disposeInfo(backend: unknown, info: tf.TensorInfo): void {
  (backend as WebGpuBackendLike).disposeData(info.dataId);
}

/**
 * A kernel's named input, or a TypeError naming it (tfjs types inputs as possibly undefined).
 *
 * @example
 * ```ts
 * const x = kernelInput(inputs, "x"); // inside a kernelFunc
 * ```
 */
export function kernelInput(inputs: tf.NamedTensorInfoMap, name: string): tf.TensorInfo {
  const info = inputs[name];
  if (!info) throw new TypeError(`kernel input "${name}" is missing`);
  return info;
}

/** Kernel implementations of one op: WGSL for webgpu, a typed-array loop for wasm and cpu. */
export interface CourseKernelImpls {
  webgpu: tf.KernelFunc;
  cpu: tf.KernelFunc;
}

/**
 * Registers a kernel for "webgpu" (WGSL) and for "wasm" and "cpu" (the same TypeScript loop).
 * A name already registered for a backend is left as it is (a module evaluated twice).
 *
 * @example
 * ```ts
 * registerCourseKernel("CourseNeg", { webgpu: negWgsl, cpu: negLoop });
 * ```
 */
export function registerCourseKernel(kernelName: string, impls: CourseKernelImpls): void {
  for (const backendName of ["webgpu", "wasm", "cpu"]) {
    if (tf.getKernel(kernelName, backendName)) continue; // a module imported twice: keep the first
    tf.registerKernel({
      kernelName,
      backendName,
      kernelFunc: backendName === "webgpu" ? impls.webgpu : impls.cpu,
    });
  }
}

/** One flat program on a kernel's single input: its spec less `inputs`, and its uniforms' values. */
export type SingleInputProgram = Omit<FlatProgramSpec, "inputs"> & { values?: ProgramUniform[] };

/** The two implementations of an op with one float32 input, for {@link registerSingleInputKernel}. */
export interface SingleInputKernel<A> {
  /** The input's name (e.g. "x"). */
  input: string;
  /**
   * On webgpu, when that is one flat program on the input: the program. WGSL sees the input by its
   * name capitalised ("slopes": `Slopes`).
   */
  program?(x: tf.TensorInfo, attrs: A): SingleInputProgram;
  /** On webgpu, anything else: the output (e.g. from {@link runFlatProgram}). */
  webgpu?(x: tf.TensorInfo, attrs: A, backend: unknown): tf.TensorInfo;
  /** On wasm and cpu, from the input's values: the output's values and shape. */
  cpu(values: Float32Array, x: tf.TensorInfo, attrs: A): { values: Float32Array; shape: number[] };
  /** The gradient with respect to the input, from dy (none: the op is not differentiable). */
  grad?(dy: tf.Tensor, attrs: A): tf.Tensor;
}

/**
 * {@link registerCourseKernel} (and {@link registerCourseGradient}, given `grad`) for an op of one
 * float32 input: the input is looked up (and read, for wasm and cpu), the attributes typed and the
 * cpu output written here, so that each implementation only computes.
 *
 * @example
 * ```ts
 * registerSingleInputKernel<{ a: number }>("CourseScale", {
 *   input: "x",
 *   program: (x, { a }) => ({
 *     name: "course_scale",
 *     outputShape: x.shape,
 *     uniforms: "a : f32,",
 *     body: "setOutputAtIndex(index, uniforms.a * X[index]);",
 *     values: [{ type: "float32", data: [a] }],
 *   }),
 *   cpu: (values, x, { a }) => ({ values: values.map((v) => a * v), shape: x.shape }),
 * });
 * ```
 */
export function registerSingleInputKernel<A>(kernelName: string, k: SingleInputKernel<A>): void {
  const wgslName = k.input[0].toUpperCase() + k.input.slice(1);
  const webgpu = k.webgpu ?? ((x: tf.TensorInfo, attrs: A, backend: unknown) => {
    if (!k.program) throw new TypeError(`kernel ${kernelName} has neither program nor webgpu`);
    const { values, ...spec } = k.program(x, attrs);
    return runFlatProgram(backend, { ...spec, inputs: [wgslName] }, [x], values);
  });
  registerCourseKernel(kernelName, {
    webgpu: ({ inputs, attrs, backend }) =>
      webgpu(kernelInput(inputs, k.input), attrs as unknown as A, backend),
    cpu: ({ inputs, attrs, backend }) => {
      const x = kernelInput(inputs, k.input);
      const out = k.cpu(readFloat32(backend, x), x, attrs as unknown as A);
      return writeFloat32(backend, out.values, out.shape);
    },
  });
  const grad = k.grad;
  if (!grad) return;
  registerCourseGradient({
    kernelName,
    gradFunc: (dy, _saved, attrs) => ({
      [k.input]: () => grad(dy as tf.Tensor, attrs as unknown as A),
    }),
  });
}

/**
 * Registers the gradient of a course kernel unless one is registered already (a module evaluated
 * twice). With {@link registerCourseKernel}, the one registration convention of src/kernels/:
 * each op file registers its kernels and gradient when it is imported.
 *
 * @example
 * ```ts
 * registerCourseGradient({ kernelName: "CourseNeg", gradFunc: (dy) => ({ x: () => tf.neg(dy as tf.Tensor) }) });
 * ```
 */
export function registerCourseGradient(config: tf.GradConfig): void {
  if (tf.getGradient(config.kernelName)) return;
  tf.registerGradient(config);
}
