/**
 * Small seeded pseudo-random number generator used for shuffling and data
 * augmentation, so that the same seed always gives the same batches.
 *
 * @module
 */

/**
 * Mixes a list of integers (seed, epoch, sample index, ...) into one 32-bit
 * seed with a murmur3-style finaliser, so nearby inputs give unrelated seeds.
 *
 * @param parts Integers to mix; each is reduced modulo 2^32.
 * @returns An unsigned 32-bit seed.
 */
export function seedFrom(parts: readonly number[]): number {
  let h = 0x9e3779b9;
  for (const p of parts) {
    // Fold values beyond 32 bits so large seeds still matter.
    const lo = p >>> 0;
    const hi = Math.floor(p / 4294967296) >>> 0;
    h = Math.imul(h ^ lo, 0x85ebca6b);
    h = (h << 13) | (h >>> 19);
    h = Math.imul(h ^ hi, 0xc2b2ae35) + 0x27d4eb2f;
  }
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

/**
 * Seeded mulberry32 generator: 32-bit state, period 2^32, fast and good
 * enough for shuffling and augmentation (not for cryptography).
 *
 * @example
 * ```ts
 * import { Random } from "@agd/datasets";
 * const rng = new Random(42);
 * const x = rng.next(); // in [0, 1)
 * const i = rng.int(0, 10); // in [0, 10)
 * ```
 */
export class Random {
  #state: number;

  /**
   * Creates a generator from a seed.
   *
   * @param seed Any number; reduced to 32 bits.
   */
  constructor(seed: number) {
    this.#state = seedFrom([seed]);
  }

  /**
   * Returns the next float uniformly distributed in [0, 1).
   *
   * @returns A float in [0, 1) with 32 bits of randomness.
   */
  next(): number {
    let t = (this.#state = (this.#state + 0x6d2b79f5) >>> 0);
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }

  /**
   * Returns a uniformly distributed float in [low, high), like `torch.empty(1).uniform_(low, high)`.
   *
   * @param low Inclusive lower bound.
   * @param high Exclusive upper bound.
   * @returns A float in [low, high).
   */
  uniform(low: number, high: number): number {
    return low + (high - low) * this.next();
  }

  /**
   * Returns a uniformly distributed integer in [low, high), like `torch.randint(low, high)`.
   *
   * @param low Inclusive lower bound (integer).
   * @param high Exclusive upper bound (integer, greater than low).
   * @returns An integer in [low, high).
   */
  int(low: number, high: number): number {
    return low + Math.floor((high - low) * this.next());
  }

  /**
   * Returns a random permutation of 0..n-1 (Fisher-Yates), like `torch.randperm(n)`.
   *
   * @param n Length of the permutation.
   * @returns The permuted indices.
   */
  permutation(n: number): Int32Array {
    const out = new Int32Array(n);
    for (let i = 0; i < n; i++) out[i] = i;
    for (let i = n - 1; i > 0; i--) {
      const j = Math.floor((i + 1) * this.next());
      const t = out[i];
      out[i] = out[j];
      out[j] = t;
    }
    return out;
  }
}
