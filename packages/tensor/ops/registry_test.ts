// The one table of op definitions: every op has each of its five parts, and
// every family's table is in it.
import assert from "node:assert/strict";
import { REFERENCE } from "../backend/wasm/kernel.ts";
import { OP_NAMES, OPS, VJP_RULES } from "./registry.ts";

Deno.test("every op's definition has a shape rule, CPU reference, gradient, WebGPU and wasm entry", () => {
  for (const op of OP_NAMES) {
    const d = OPS[op];
    assert.equal(typeof d.shape, "function", `${op}.shape`);
    assert.equal(typeof d.cpu, "function", `${op}.cpu`);
    assert.equal(typeof d.webgpu, "function", `${op}.webgpu`);
    assert.ok(typeof d.grad === "function" || typeof d.grad.notDifferentiable === "string", op);
    assert.ok(typeof d.wasm === "function" || d.wasm === REFERENCE, `${op}.wasm`);
  }
});

Deno.test("the gradient table covers every primitive and the reshape view", () => {
  assert.deepEqual(Object.keys(VJP_RULES).sort(), [...OP_NAMES, "reshape"].sort());
});

Deno.test("the ops that dominate training have wasm kernels", () => {
  const simd = OP_NAMES.filter((op) => OPS[op].wasm !== REFERENCE);
  for (
    const op of ["matmul", "conv2d", "conv2d_grad_input", "max_pool2d", "batch_norm", "agd_update"]
  ) {
    assert.ok(simd.includes(op as never), op);
  }
});
