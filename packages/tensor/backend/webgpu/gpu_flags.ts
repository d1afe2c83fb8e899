/**
 * The WebGPU flag values the backend's parts pass when they create buffers,
 * textures and mappings, written out as numbers in one place.
 *
 * Why numbers: the globals that hold them (`GPUBufferUsage`, …) are Deno's
 * only where its WebGPU is enabled, and Dawn's are not globals at all.
 *
 * @module
 */

/** `GPUBufferUsage` values of the WebGPU specification. */
export const BUFFER_USAGE = {
  MAP_READ: 0x1,
  COPY_SRC: 0x4,
  COPY_DST: 0x8,
  UNIFORM: 0x40,
  STORAGE: 0x80,
} as const;

/** `GPUTextureUsage` values of the WebGPU specification. */
export const TEXTURE_USAGE = { COPY_DST: 0x2, TEXTURE_BINDING: 0x4, STORAGE_BINDING: 0x8 } as const;

/** `GPUMapMode.READ`. */
export const MAP_MODE_READ = 0x1;

/** The usage of every tensor storage buffer: bound as storage, copied from and to. */
export const STORAGE_USAGE = BUFFER_USAGE.STORAGE | BUFFER_USAGE.COPY_SRC | BUFFER_USAGE.COPY_DST;
