/**
 * The one ordering used by every max-like reference kernel (`max`, `argmax`,
 * `max_pool2d` and its gradient).
 *
 * @module
 */

/**
 * Whether `v` should replace the running best `best` while scanning in order:
 * strictly greater (so the FIRST of tied maxima wins), with NaN counting as
 * larger than any number (so a NaN propagates and the first NaN wins, as
 * torch's max, argmax and max_pool2d do).
 */
export function isGreater(v: number, best: number): boolean {
  return v > best || (Number.isNaN(v) && !Number.isNaN(best));
}
