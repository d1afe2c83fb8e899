/**
 * A small seeded random generator (SplitMix32-style mixing of a counter), so
 * the same seed gives the same weights and batches on every platform.
 *
 * @module
 */

/** A seeded stream of random numbers. */
export class Rng {
  #state: number;
  #spare: number | null = null;

  /**
   * Starts a stream at `seed`. The seed is mixed with a constant first, so
   * small seeds (0, 1, 2…) still give uncorrelated streams.
   *
   * @param seed any integer; equal seeds give equal streams
   */
  constructor(seed: number) {
    this.#state = (seed | 0) ^ 0x9e3779b9;
  }

  /** A uniform 32-bit unsigned integer. */
  nextUint32(): number {
    let z = (this.#state = (this.#state + 0x9e3779b9) | 0);
    z = Math.imul(z ^ (z >>> 16), 0x85ebca6b);
    z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35);
    return (z ^ (z >>> 16)) >>> 0;
  }

  /** A uniform number in [0, 1). */
  uniform(): number {
    return this.nextUint32() / 4294967296;
  }

  /** A standard normal number (Box–Muller). */
  normal(): number {
    if (this.#spare !== null) {
      const s = this.#spare;
      this.#spare = null;
      return s;
    }
    const u = 1 - this.uniform();
    const v = this.uniform();
    const r = Math.sqrt(-2 * Math.log(u));
    this.#spare = r * Math.sin(2 * Math.PI * v);
    return r * Math.cos(2 * Math.PI * v);
  }

  /** An integer in [0, n). */
  int(n: number): number {
    return Math.floor(this.uniform() * n);
  }

  /** `n` normals as float32. */
  normals(n: number): Float32Array {
    const out = new Float32Array(n);
    for (let i = 0; i < n; i++) out[i] = this.normal();
    return out;
  }

  /** `n` uniforms in [low, high) as float32. */
  uniforms(n: number, low = 0, high = 1): Float32Array {
    const out = new Float32Array(n);
    for (let i = 0; i < n; i++) out[i] = low + (high - low) * this.uniform();
    return out;
  }

  /** Shuffles `array` in place (Fisher–Yates) and returns it. */
  shuffle<T extends { length: number; [i: number]: unknown }>(array: T): T {
    for (let i = array.length - 1; i > 0; i--) {
      const j = this.int(i + 1);
      const t = array[i];
      array[i] = array[j];
      array[j] = t;
    }
    return array;
  }
}
