/**
 * The seeded random streams of the project, one family behind one interface
 * ({@link RandomStream}): uniforms, integers, normals, permutations and
 * shuffles, all derived from a 32-bit generator, so that the same seed gives
 * the same weights and batches on every platform.
 *
 * Two generators, because each defines published results and changing it
 * would change them (the weights of every model, the order of every batch):
 * - {@link Rng} (SplitMix32-style mixing of a counter): weights and
 *   synthetic data;
 * - {@link Random} (mulberry32, seeded through {@link seedFrom}): the data
 *   pipeline's shuffles and augmentations, where each (seed, epoch, sample)
 *   gets its own stream.
 *
 * @module
 */

/**
 * Mixes a list of integers (seed, epoch, sample index, ...) into one 32-bit
 * seed with a murmur3-style finaliser, so nearby inputs give unrelated seeds.
 *
 * @param parts Integers to mix; each is reduced modulo 2^32.
 * @returns An unsigned 32-bit seed.
 * @example
 * ```ts
 * import { seedFrom } from "./random.ts";
 * console.log(seedFrom([0, 1]) !== seedFrom([1, 0])); // true
 * ```
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
 * What every stream offers, derived from its {@link RandomStream.nextUint32}:
 * a subclass supplies only the generator.
 */
export abstract class RandomStream {
  #spare: number | null = null;

  /** A uniform 32-bit unsigned integer. */
  abstract nextUint32(): number;

  /**
   * A uniform number in [low, high), like `torch.empty(1).uniform_(low, high)`.
   *
   * @param low inclusive lower bound (default 0)
   * @param high exclusive upper bound (default 1)
   * @returns a number in [low, high)
   */
  uniform(low = 0, high = 1): number {
    return low + (high - low) * (this.nextUint32() / 4294967296);
  }

  /**
   * A uniform integer: in [0, a) with one argument, in [a, b) with two (like
   * `torch.randint`).
   *
   * @param a the exclusive upper bound, or with `b` the inclusive lower one
   * @param b the exclusive upper bound
   * @returns an integer in the range
   */
  int(a: number, b?: number): number {
    return b === undefined
      ? Math.floor(this.uniform() * a)
      : a + Math.floor((b - a) * this.uniform());
  }

  /** A standard normal number (Box–Muller, the second of each pair kept for the next call). */
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

  /**
   * A random permutation of 0..n-1 (Fisher–Yates), like `torch.randperm(n)`.
   *
   * @param n length of the permutation
   * @returns the permuted indices
   */
  permutation(n: number): Int32Array {
    const out = new Int32Array(n);
    for (let i = 0; i < n; i++) out[i] = i;
    return this.shuffle(out);
  }
}

/**
 * The weights' stream: SplitMix32-style mixing of a counter.
 *
 * @example
 * ```ts
 * import { Rng } from "./random.ts";
 * const w = new Rng(0).normals(4); // the same four numbers on every platform
 * console.log(w.length); // 4
 * ```
 */
export class Rng extends RandomStream {
  #state: number;

  /**
   * Starts a stream at `seed`. The seed is mixed with a constant first, so
   * small seeds (0, 1, 2…) still give uncorrelated streams.
   *
   * @param seed any integer; equal seeds give equal streams
   */
  constructor(seed: number) {
    super();
    this.#state = (seed | 0) ^ 0x9e3779b9;
  }

  /** A uniform 32-bit unsigned integer. */
  nextUint32(): number {
    let z = (this.#state = (this.#state + 0x9e3779b9) | 0);
    z = Math.imul(z ^ (z >>> 16), 0x85ebca6b);
    z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35);
    return (z ^ (z >>> 16)) >>> 0;
  }
}

/**
 * The data pipeline's stream: seeded mulberry32 (32-bit state, period 2^32;
 * fast and good enough for shuffling and augmentation, not for cryptography).
 *
 * @example
 * ```ts
 * import { Random } from "./random.ts";
 * const rng = new Random(42);
 * const x = rng.next(); // in [0, 1)
 * const i = rng.int(0, 10); // in [0, 10)
 * ```
 */
export class Random extends RandomStream {
  #state: number;

  /**
   * Creates a generator from a seed.
   *
   * @param seed Any number; reduced to 32 bits through {@link seedFrom}.
   */
  constructor(seed: number) {
    super();
    this.#state = seedFrom([seed]);
  }

  /** A uniform 32-bit unsigned integer. */
  nextUint32(): number {
    let t = (this.#state = (this.#state + 0x6d2b79f5) >>> 0);
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return (t ^ (t >>> 14)) >>> 0;
  }

  /**
   * The next float uniformly distributed in [0, 1) (as {@link RandomStream.uniform}).
   *
   * @returns A float in [0, 1) with 32 bits of randomness.
   */
  next(): number {
    return this.uniform();
  }
}
