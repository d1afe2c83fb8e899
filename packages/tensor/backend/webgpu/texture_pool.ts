/**
 * The scratch textures that some kernels borrow for one op (the texture
 * variants of matmul and the convs read their operands through the texture
 * cache), pooled by size and format.
 *
 * Why a pool: like buffers, textures are slow to create and the same shapes
 * come back every step, so a warm training loop creates none.
 *
 * @module
 */
import { TEXTURE_USAGE } from "./gpu_flags.ts";

/** 2-D textures of one device, lent for one op at a time and then reused. */
export class TexturePool {
  #device: GPUDevice;
  #free = new Map<string, GPUTexture[]>();
  /** Textures lent during the op being recorded, with their pool keys. */
  #borrowed: [string, GPUTexture][] = [];
  #allocations = 0;

  /** Pools textures of `device`. */
  constructor(device: GPUDevice) {
    this.#device = device;
  }

  /**
   * Lends a `width`×`height` texture of `format`, usable as a sampled and a
   * write-only storage texture, until {@link returnBorrowed}; `op` labels a
   * new one.
   */
  borrow(width: number, height: number, format: GPUTextureFormat, op: string): GPUTexture {
    const key = `${width}x${height}:${format}`;
    let texture = this.#free.get(key)?.pop();
    if (!texture) {
      texture = this.#device.createTexture({
        label: `${op}:texture`,
        size: [width, height],
        format,
        usage: TEXTURE_USAGE.TEXTURE_BINDING | TEXTURE_USAGE.STORAGE_BINDING |
          TEXTURE_USAGE.COPY_DST,
      });
      this.#allocations++;
    }
    this.#borrowed.push([key, texture]);
    return texture;
  }

  /**
   * Takes back every texture lent since the last call. Safe while the op's
   * dispatches are pending: later users are recorded (and so run) after them.
   */
  returnBorrowed(): void {
    for (const [key, t] of this.#borrowed) {
      const list = this.#free.get(key);
      if (list) list.push(t);
      else this.#free.set(key, [t]);
    }
    this.#borrowed.length = 0;
  }

  /** Scratch textures created so far. */
  get allocations(): number {
    return this.#allocations;
  }

  /** Destroys the pooled textures. */
  trim(): void {
    for (const list of this.#free.values()) for (const t of list) t.destroy();
    this.#free.clear();
  }
}
