/**
 * The one way every figure in the bench is timed: issue many units of work
 * back to back and wait once at the end. A per-step sync would measure the
 * round trip to the GPU, not the throughput a training loop sees (train.ts
 * never waits on the step it has just issued).
 *
 * @module
 */

/** What {@link timeRepeated} measured. */
export interface Timing {
  /** Units timed (warm-up excluded). */
  count: number;
  /** Wall-clock milliseconds per unit, from the first issue to the final wait's end. */
  wallMs: number;
  /**
   * Milliseconds per unit the JS thread spent inside `issue` (recording and
   * submitting GPU work, uploading the batch), excluding the final wait.
   */
  encodeMs: number;
}

/** Options of {@link timeRepeated}. */
export interface TimingOptions {
  /** Untimed units first (pipeline compilation, buffer pools). Default 1. */
  warmup?: number;
  /** Seconds of work to aim for; the count comes from one probe unit. Default 1. */
  seconds?: number;
  /** Fewest timed units (default 2; with 1, a probe that fills `seconds` is the measurement). */
  minCount?: number;
  /** Most timed units (default 200). */
  maxCount?: number;
  /** Exactly this many timed units, with no probe (for steps of many seconds). */
  count?: number;
}

/**
 * Times `issue` (which records work and returns without waiting) followed by
 * one `wait` for all of it.
 *
 * @param issue records one unit of work. It should not wait on the device;
 *   one that does (a step that reads a value back, as a naive training loop
 *   does) returns a promise, which is awaited, its wait counted as encode time
 * @param wait resolves when all work issued so far has finished
 * @param options warm-up, target seconds and count bounds
 * @returns units timed, wall and encode milliseconds per unit
 * @example
 * ```ts
 * import { timeRepeated } from "./timing.ts";
 * let n = 0;
 * const t = await timeRepeated(() => void n++, () => Promise.resolve(), { seconds: 0.01 });
 * console.log(t.count >= 2); // true
 * ```
 */
export async function timeRepeated(
  issue: () => void | Promise<void>,
  wait: () => Promise<void>,
  options: TimingOptions = {},
): Promise<Timing> {
  const { warmup = 1, seconds = 1, minCount = 2, maxCount = 200 } = options;
  // Awaited only when it returns a promise: a synchronous issue never yields
  // to the event loop (an `await` of undefined would).
  for (let i = 0; i < warmup; i++) {
    const pending = issue();
    if (pending) await pending;
  }
  await wait();
  let count = options.count;
  if (count === undefined) {
    const probeStart = performance.now();
    const pending = issue();
    if (pending) await pending;
    const probeEncode = performance.now() - probeStart;
    await wait();
    const probe = Math.max(performance.now() - probeStart, 1e-3);
    count = Math.max(minCount, Math.min(maxCount, Math.ceil((seconds * 1000) / probe)));
    // One unit already fills the time asked for (a 4096³ matmul on a software
    // adapter): the probe is the measurement.
    if (count <= 1) return { count: 1, wallMs: probe, encodeMs: probeEncode };
  }
  let encode = 0;
  const start = performance.now();
  for (let i = 0; i < count; i++) {
    const t0 = performance.now();
    const pending = issue();
    if (pending) await pending;
    encode += performance.now() - t0;
  }
  await wait();
  const wall = performance.now() - start;
  return { count, wallMs: wall / count, encodeMs: encode / count };
}
