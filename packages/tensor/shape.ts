/**
 * Shape arithmetic shared by the shape rules, the kernels and the tensors:
 * sizes, strides, broadcasting, axes and sliding windows. It imports nothing,
 * so every op family can use it without an import cycle through the op tables.
 *
 * @module
 */

/** Element types a tensor can hold: float32 data, int32 labels. */
export type DType = "float32" | "int32";

/** A tensor's dimensions, outermost first (NCHW for images). */
export type Shape = readonly number[];

/** The number of elements of a shape. */
export function sizeOf(shape: Shape): number {
  let n = 1;
  for (const d of shape) n *= d;
  return n;
}

/** Row-major strides of a shape, in elements. */
export function stridesOf(shape: Shape): number[] {
  const strides = new Array<number>(shape.length);
  let s = 1;
  for (let i = shape.length - 1; i >= 0; i--) {
    strides[i] = s;
    s *= shape[i];
  }
  return strides;
}

/** `[2, 3]` as text, for error messages. */
export function showShape(shape: Shape): string {
  return `[${shape.join(", ")}]`;
}

/** The numpy broadcast of two shapes, or an error naming both. */
export function broadcastShapes(a: Shape, b: Shape, op = "broadcast"): number[] {
  const n = Math.max(a.length, b.length);
  const out = new Array<number>(n);
  for (let i = 0; i < n; i++) {
    const da = a[a.length - n + i] ?? 1;
    const db = b[b.length - n + i] ?? 1;
    if (da !== db && da !== 1 && db !== 1) {
      throw new Error(
        `Cannot ${op} shapes ${showShape(a)} and ${showShape(b)}: dimension ${i} is ${da} vs ${db}`,
      );
    }
    out[i] = da === 1 ? db : da;
  }
  return out;
}

/**
 * Strides to read `shape` as if broadcast to `out` (0 along broadcast dims),
 * one per dim of `out`.
 */
export function broadcastStrides(shape: Shape, out: Shape): number[] {
  const own = stridesOf(shape);
  const offset = out.length - shape.length;
  return out.map((_, i) => {
    const j = i - offset;
    return j < 0 || shape[j] === 1 ? 0 : own[j];
  });
}

/** Normalise axes (negative counts from the end), sorted and unique. */
export function normalizeAxes(axes: readonly number[], rank: number): number[] {
  const out = new Set<number>();
  for (const a of axes) {
    const b = a < 0 ? a + rank : a;
    if (b < 0 || b >= rank) throw new Error(`Axis ${a} is out of range for rank ${rank}`);
    out.add(b);
  }
  return [...out].sort((x, y) => x - y);
}

/** Output spatial size of a conv or pool window along one dimension. */
export function windowOut(size: number, kernel: number, stride: number, pad: number): number {
  return Math.floor((size + 2 * pad - kernel) / stride) + 1;
}

/** The output shape and dtype of an op. */
export interface OutSpec {
  /** Output dimensions. */
  shape: number[];
  /** Output element type. */
  dtype: DType;
}

/** An output-shape rule over attributes `A` (a family's rules are these; see `ShapeRule`). */
export type ShapeFn<A> = (shapes: Shape[], dtypes: DType[], attrs: A) => OutSpec;

/** Throws unless every dtype is float32 (the inputs of float ops). */
export function expectFloat32(...dtypes: DType[]): void {
  for (const d of dtypes) {
    if (d !== "float32") throw new Error(`Expected float32 input, got ${d}`);
  }
}

/** Throws unless every shape is 4-D (NCHW), naming the op. */
export function expect4d(op: string, ...shapes: Shape[]): void {
  for (const s of shapes) {
    if (s.length !== 4) throw new Error(`Cannot ${op} shape ${showShape(s)}: expected NCHW (4-D)`);
  }
}
