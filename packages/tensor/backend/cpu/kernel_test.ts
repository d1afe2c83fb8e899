import { deepStrictEqual as assertEquals } from "node:assert/strict";
import { OP_NAMES, opDefinition } from "../../ops/registry.ts";

Deno.test("every op has a CPU reference", () => {
  for (const op of OP_NAMES) assertEquals(typeof opDefinition(op).cpu, "function", op);
});
