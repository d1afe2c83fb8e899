/**
 * Summary statistics the benches report (one definition for every package's
 * bench).
 *
 * @module
 */

/**
 * The median: the middle value, or the mean of the two middle values of an
 * even count. The input is not reordered.
 *
 * @param values the measurements (at least one)
 * @returns their median
 * @example
 * ```ts
 * import { median } from "./stats.ts";
 * console.log(median([3, 1, 2]), median([4, 1, 3, 2])); // 2 2.5
 * ```
 */
export function median(values: readonly number[]): number {
  if (values.length === 0) throw new Error("Cannot take the median of no values");
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}
