/**
 * What a WGSL kernel sees of the WebGPU runtime: a way to record a dispatch
 * and to borrow scratch memory. Pipelines, shader modules and uniform buffers
 * are cached by the runtime, so a kernel describes a dispatch and never
 * creates GPU objects itself.
 *
 * Binding convention for every shader: `@group(0) @binding(0)` is the uniform
 * block when `uniforms` is given; the storage `buffers` follow in order from the
 * next binding (inputs `read`, the output `read_write`). A texture in `buffers`
 * binds its default view (a `texture_2d<f32>` or a write-only storage
 * texture). Each `.wgsl` file names its bindings in a header comment.
 *
 * Variants: an op may have several implementations whose speed depends on the
 * adapter (see `KERNEL_VARIANTS` in `ops/registry.ts`); {@link GpuContext.variant} tells a kernel which
 * one the runtime measured fastest here.
 *
 * @module
 */
import type { DType, Shape } from "../../shape.ts";

/** A GPU kernel input: a buffer at least as large as the shape needs. */
export interface GpuInput {
  /** Storage buffer (may be larger than needed: pool sizes are rounded). */
  buffer: GPUBuffer;
  /** Logical shape. */
  shape: Shape;
  /** Element type. */
  dtype: DType;
}

/** A GPU kernel output buffer to fill (contents undefined on entry). */
export interface GpuOutput {
  /** Storage buffer. */
  buffer: GPUBuffer;
  /** Shape, as computed by the op's shape rule. */
  shape: Shape;
  /** Element type. */
  dtype: DType;
}

/** One compute dispatch. */
export interface Dispatch {
  /** The op name (appears in GPU error messages). */
  label: string;
  /** WGSL source; modules and pipelines are cached by source and constants. */
  code: string;
  /** Entry point (default `main`). */
  entryPoint?: string;
  /** Values of `override` constants (tile sizes, flags). */
  constants?: Record<string, number>;
  /** Bytes of the uniform block at binding 0 (u32/i32/f32 packed, 16-byte padded by runtime). */
  uniforms?: ArrayBuffer;
  /**
   * Storage buffers (or textures, bound through their default view) bound
   * from binding 1 (or 0 without uniforms), in order.
   */
  buffers: (GPUBuffer | GPUTexture)[];
  /**
   * Binding numbers of `buffers`, where an entry point does not use them
   * consecutively (default: consecutive, as above).
   */
  bindings?: number[];
  /** Workgroup counts; each at most 65535 (use {@link grid} for large 1-D work). */
  workgroups: [number, number?, number?];
}

/** Where {@link GpuContext.copyToTexture} reads and how much it writes. */
export interface TextureCopy {
  /** Byte offset into the buffer (a multiple of 16). */
  offset: number;
  /** Bytes per texel row in the buffer (a multiple of 256). */
  bytesPerRow: number;
  /** Texels per row to write. */
  width: number;
  /** Rows to write. */
  height: number;
}

/** The runtime services a WGSL kernel uses. */
export interface GpuContext {
  /** The device, for its limits. */
  readonly device: GPUDevice;
  /** Records a dispatch in the current command stream (executed in order). */
  dispatch(d: Dispatch): void;
  /** Borrows a storage buffer of at least `bytes` for this op only. */
  scratch(bytes: number): GPUBuffer;
  /**
   * Borrows a 2-D texture for this op only, usable as a sampled texture and
   * as a write-only storage texture.
   */
  scratchTexture(width: number, height: number, format: GPUTextureFormat): GPUTexture;
  /**
   * Copies `layout.height` rows of `layout.bytesPerRow` bytes (a multiple of
   * 256) of `src`, from byte `layout.offset` (a multiple of 16), into texels
   * [0, width) × [0, height) of an rgba32float `dst`: no shader, recorded in
   * order with the dispatches.
   */
  copyToTexture(src: GPUBuffer, dst: GPUTexture, layout: TextureCopy): void;
  /**
   * The name of the variant of `op` chosen for this adapter (measured once per
   * adapter when the backend is created, or forced by its options), or
   * undefined when `op` has no variants or none was chosen.
   */
  variant(op: string): string | undefined;
}

/** A WGSL kernel of an op with attributes `A`: records dispatches that fill `out`. */
export type GpuKernel<A> = (
  ctx: GpuContext,
  inputs: GpuInput[],
  attrs: A,
  out: GpuOutput,
) => void;

/**
 * Workgroup counts covering `count` workgroups within the 65535-per-dimension
 * limit: the shader computes its linear workgroup index as `wg.x + wg.y * nx`
 * where `nx` is the returned x count (pass it in the uniforms) and returns early
 * past the end.
 */
export function grid(count: number): [number, number] {
  const max = 65535;
  if (count <= max) return [Math.max(count, 1), 1];
  const y = Math.ceil(count / max);
  return [Math.ceil(count / y), y];
}
