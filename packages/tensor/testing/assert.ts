/**
 * Test helpers: numeric closeness with a readable failure.
 *
 * @module
 */

/** Tolerances for {@link assertClose}: pass when |a − r| ≤ atol + rtol·|r|. */
export interface Tolerance {
  /** Absolute tolerance (default 1e-5). */
  atol?: number;
  /** Relative tolerance (default 1e-4). */
  rtol?: number;
}

/**
 * Asserts `actual` ≈ `expected` elementwise, failing with the worst element.
 *
 * @example
 * ```ts
 * import { assertClose } from "./assert.ts";
 * assertClose([1, 2.000001], [1, 2]);
 * ```
 */
export function assertClose(
  actual: ArrayLike<number>,
  expected: ArrayLike<number>,
  options: Tolerance & { label?: string } = {},
): void {
  const { atol = 1e-5, rtol = 1e-4, label = "values" } = options;
  if (actual.length !== expected.length) {
    throw new Error(`${label}: length ${actual.length} differs from expected ${expected.length}`);
  }
  let worst = -1;
  let worstExcess = 0;
  for (let i = 0; i < actual.length; i++) {
    const a = actual[i];
    const r = expected[i];
    if (Number.isNaN(a) && Number.isNaN(r)) continue;
    if (a === r) continue;
    const excess = Math.abs(a - r) - (atol + rtol * Math.abs(r));
    if (!(excess <= 0) && (worst < 0 || !(excess <= worstExcess))) {
      worst = i;
      worstExcess = excess;
    }
  }
  if (worst >= 0) {
    throw new Error(
      `${label}: element ${worst} is ${actual[worst]}, expected ${expected[worst]} ` +
        `(|diff| ${
          Math.abs(actual[worst] - expected[worst]).toExponential(3)
        } > atol ${atol} + rtol ${rtol}·|ref|)`,
    );
  }
}
