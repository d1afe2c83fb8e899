/**
 * The spatial-size argument shared by convolution and pooling.
 *
 * @module
 */

/** A size given once for both spatial dims, or as [height, width]. */
export type Size2 = number | readonly [number, number];

/** A {@link Size2} as [height, width]. */
export function pair(v: Size2): [number, number] {
  return typeof v === "number" ? [v, v] : [v[0], v[1]];
}
