// Test helpers shared by the *_test.ts files (not exported from mod.ts).
import assertStrict from "node:assert/strict";

/** Asserts that a condition holds. */
export function assert(cond: unknown, msg?: string): asserts cond {
  if (msg === undefined) assertStrict.ok(cond);
  else assertStrict.ok(cond, msg);
}

/** Asserts deep strict equality. */
export function assertEquals(actual: unknown, expected: unknown, msg?: string): void {
  if (msg === undefined) assertStrict.deepStrictEqual(actual, expected);
  else assertStrict.deepStrictEqual(actual, expected, msg);
}

/** Asserts that `fn` rejects with an error whose message matches `re`. */
export async function assertRejects(fn: () => Promise<unknown>, re: RegExp): Promise<void> {
  await assertStrict.rejects(fn, re);
}

/** Asserts that `fn` throws an error whose message matches `re`. */
export function assertThrows(fn: () => unknown, re: RegExp): void {
  assertStrict.throws(fn, re);
}
