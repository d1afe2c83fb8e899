/**
 * The elementwise family's wasm kernels (`elementwise.c`): relu and its
 * gradient, affine, and the four arithmetic ops on same-size operands; the
 * other ops, and broadcasting, run the reference loop.
 *
 * @module
 */
import {
  type CDeclarations,
  cEnum,
  REFERENCE,
  type WasmEntry,
  type WasmInput,
  type WasmOutput,
  type WasmRuntime,
} from "../../backend/wasm/kernel.ts";
import { sizeOf } from "../../shape.ts";
import type { ElementwiseAttrs } from "./primitives.ts";

/** elementwise.c's `enum binary_op`: which operation `binary_same` runs. */
export const BINARY_OP = cEnum("binary_op", { add: 0, sub: 1, mul: 2, div: 3 });

/** What elementwise.c must agree with (checked by backend/wasm/c_enums_test.ts). */
export const ELEMENTWISE_C: CDeclarations = {
  file: new URL("./elementwise.c", import.meta.url),
  enums: [BINARY_OP],
};

/** a ∘ b when both have the output's size (no broadcasting); false hands broadcasting to the reference. */
function binarySame(
  rt: WasmRuntime,
  op: keyof typeof BINARY_OP.codes,
  [a, b]: WasmInput[],
  out: WasmOutput,
): boolean {
  const n = sizeOf(out.shape);
  if (sizeOf(a.shape) !== n || sizeOf(b.shape) !== n || a.dtype !== "float32") return false;
  rt.exports.binary_same(BINARY_OP.codes[op], a.storage.ptr, b.storage.ptr, out.ptr, n);
  return true;
}

/** The wasm entry of each elementwise primitive. */
export const ELEMENTWISE_WASM: { [P in keyof ElementwiseAttrs]: WasmEntry<ElementwiseAttrs[P]> } = {
  neg: REFERENCE,
  exp: REFERENCE,
  log: REFERENCE,
  sqrt: REFERENCE,
  relu: (rt, [x], _attrs, out) =>
    void rt.exports.scaled_relu(x.storage.ptr, out.ptr, sizeOf(out.shape), 1),
  scaled_relu: (rt, [x], { scale }, out) =>
    void rt.exports.scaled_relu(x.storage.ptr, out.ptr, sizeOf(out.shape), scale),
  relu_grad: (rt, [dy, x], { scale }, out) => {
    const n = sizeOf(out.shape);
    if (sizeOf(dy.shape) !== n || sizeOf(x.shape) !== n) return false;
    rt.exports.relu_grad(dy.storage.ptr, x.storage.ptr, out.ptr, n, scale);
    return true;
  },
  nan_to_num: REFERENCE,
  affine: (rt, [x], { mul, add }, out) => {
    if (x.dtype !== "float32") return false;
    rt.exports.affine(x.storage.ptr, out.ptr, sizeOf(out.shape), mul, add);
    return true;
  },
  add: (rt, inputs, _attrs, out) => binarySame(rt, "add", inputs, out),
  sub: (rt, inputs, _attrs, out) => binarySame(rt, "sub", inputs, out),
  mul: (rt, inputs, _attrs, out) => binarySame(rt, "mul", inputs, out),
  div: (rt, inputs, _attrs, out) => binarySame(rt, "div", inputs, out),
  eq: REFERENCE,
};
