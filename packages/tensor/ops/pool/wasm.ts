/**
 * The pool family's wasm kernels: `pool.c`'s `pool`, a few [H, W] planes per
 * task, on every thread when the planes are many and large.
 *
 * @module
 */
import {
  type CDeclarations,
  cEnum,
  type WasmEntry,
  type WasmRuntime,
} from "../../backend/wasm/kernel.ts";
import type { Shape } from "../../shape.ts";
import type { PoolAttrs, PoolOpAttrs } from "./primitives.ts";

/** pool.c's `enum pool_op`: which pooling op `pool` runs. */
export const POOL_OP = cEnum("pool_op", {
  max_pool2d: 0,
  max_pool2d_grad: 1,
  avg_pool2d: 2,
  avg_pool2d_grad: 3,
});

/** What pool.c must agree with (checked by backend/wasm/c_enums_test.ts). */
export const POOL_C: CDeclarations = {
  file: new URL("./pool.c", import.meta.url),
  enums: [POOL_OP],
};

/** Below this many floats of input, pooling runs on one thread. */
const PARALLEL_FLOATS = 1 << 16;

/** One call of `pool.c`'s `pool`: the op, its operands (byte offsets; 0 where unused) and sizes. */
interface PoolCall {
  op: keyof typeof POOL_OP.codes;
  x: number;
  dy: number;
  out: number;
  /** The input's shape [N, C, H, W]. */
  input: Shape;
  /** The output's (the forward's) shape [N, C, OH, OW]. */
  output: Shape;
  window: PoolAttrs;
}

function pool(
  rt: WasmRuntime,
  { op, x, dy, out, input: [n, c, h, w], output: [, , oh, ow], window }: PoolCall,
): void {
  const { kernel, stride, padding } = window;
  const planes = n * c;
  const args = [
    POOL_OP.codes[op],
    x,
    dy,
    out,
    planes,
    h,
    w,
    ...kernel,
    ...stride,
    ...padding,
    oh,
    ow,
  ];
  rt.tasks("pool", args, planes > 1 && planes * h * w >= PARALLEL_FLOATS);
}

/** A forward pool: x [N, C, H, W] → out [N, C, OH, OW]. */
function forward(op: "max_pool2d" | "avg_pool2d"): WasmEntry<PoolAttrs> {
  return (rt, [x], window, out) =>
    pool(rt, {
      op,
      x: x.storage.ptr,
      dy: 0,
      out: out.ptr,
      input: x.shape,
      output: out.shape,
      window,
    });
}

/** The wasm entry of each pooling primitive. */
export const POOL_WASM: { [P in keyof PoolOpAttrs]: WasmEntry<PoolOpAttrs[P]> } = {
  max_pool2d: forward("max_pool2d"),
  max_pool2d_grad: (rt, [x, dy], attrs, out) => {
    // The plane's double sums must fit a thread's scratch; larger planes take the reference.
    if (2 * x.shape[2] * x.shape[3] > rt.threadScratchFloats) return false;
    pool(rt, {
      op: "max_pool2d_grad",
      x: x.storage.ptr,
      dy: dy.storage.ptr,
      out: out.ptr,
      input: x.shape,
      output: dy.shape,
      window: attrs,
    });
    return true;
  },
  avg_pool2d: forward("avg_pool2d"),
  avg_pool2d_grad: (rt, [dy], attrs, out) =>
    pool(rt, {
      op: "avg_pool2d_grad",
      x: 0,
      dy: dy.storage.ptr,
      out: out.ptr,
      input: out.shape,
      output: dy.shape,
      window: attrs,
    }),
};
