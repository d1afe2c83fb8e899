import { deepStrictEqual as assertEquals } from "node:assert/strict";
import { broadcastIndex } from "./indexing.ts";

Deno.test("broadcastIndex maps each output element to its source", () => {
  assertEquals([...broadcastIndex([2, 1], [2, 3])], [0, 0, 0, 1, 1, 1]);
  assertEquals([...broadcastIndex([3], [2, 3])], [0, 1, 2, 0, 1, 2]);
  assertEquals([...broadcastIndex([], [2])], [0, 0]);
});
