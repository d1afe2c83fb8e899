/**
 * The Tensor type: a shape, a dtype and refcounted storage on one backend,
 * plus the autograd node that made it. Tensors are released by scope
 * ({@link tidy}) or explicitly ({@link Tensor.dispose} / `using`), never by the
 * garbage collector, because GPU memory is not visible to it.
 *
 * @module
 */
import type { Backend, TypedArray } from "./backend/backend.ts";
import { type DType, type Shape, showShape, sizeOf } from "./shape.ts";
import type { GradOpAttrs, GradOpName } from "./ops/op_name.ts";

/** Storage shared by a tensor and its views (reshape), freed with the last one. */
interface Store {
  handle: unknown;
  refs: number;
}

/**
 * How a tensor was made: the op, its inputs and attributes. `backward()` turns
 * ∂L/∂out into ∂L/∂inputs with the op's rule in `VJP_RULES` (data, not a
 * closure, so this module and `ops/_apply.ts` need not import the rules).
 */
export interface GradNode<P extends GradOpName = GradOpName> {
  /** Inputs of the op (only those requiring grad get gradients). */
  readonly inputs: readonly Tensor[];
  /** The op (a primitive, or the reshape view). */
  readonly op: P;
  /** The op's attributes, as its gradient rule reads them. */
  readonly attrs: GradOpAttrs[P];
}

/** A scope collects tensors created inside it so they are freed together. */
const scopes: Set<Tensor>[] = [];
let gradEnabled = true;

/** A multi-dimensional array in device memory, with autograd. */
export class Tensor {
  /** Dimensions, outermost first. */
  readonly shape: readonly number[];
  /** Element type. */
  readonly dtype: DType;
  /** The device holding the data. */
  readonly backend: Backend;
  /** Number of elements. */
  readonly size: number;
  /** Whether gradients flow to (and accumulate in) this tensor. */
  requiresGrad = false;
  /** Accumulated ∂L/∂this after {@link backward}, for leaves that require grad. */
  grad: Tensor | null = null;
  /**
   * Called by {@link backward} with this leaf's `grad` as soon as this pass has
   * finished it — while the rest of the pass is still being recorded (as
   * PyTorch's post-accumulate-grad hooks; data-parallel training starts
   * all-reducing late layers there).
   */
  onGrad: ((grad: Tensor) => void) | null = null;
  /** The op that made this tensor when it is part of a graph (null for leaves). */
  node: GradNode | null = null;
  #store: Store | null;

  /**
   * Wraps backend storage; prefer the factories in `ops/create.ts`.
   *
   * @param backend device owning `handle`
   * @param handle backend storage (ownership moves to the tensor)
   * @param shape dimensions
   * @param dtype element type
   */
  constructor(backend: Backend, handle: unknown, shape: Shape, dtype: DType) {
    this.backend = backend;
    this.shape = Object.freeze([...shape]);
    this.dtype = dtype;
    this.size = sizeOf(shape);
    this.#store = { handle, refs: 1 };
    scopes.at(-1)?.add(this);
  }

  /** The backend storage; throws if the tensor was disposed. */
  get handle(): unknown {
    if (!this.#store) {
      throw new Error(
        `Cannot use a disposed tensor of shape ${
          showShape(this.shape)
        }: keep() it or create it outside tidy()`,
      );
    }
    return this.#store.handle;
  }

  /** Whether {@link dispose} has been called. */
  get disposed(): boolean {
    return this.#store === null;
  }

  /** Reads the elements back to the host (flushes queued GPU work). */
  data(): Promise<TypedArray> {
    return this.backend.read(this.handle, this.dtype, this.size);
  }

  /** Reads a one-element tensor as a number. */
  async item(): Promise<number> {
    if (this.size !== 1) {
      throw new Error(`Cannot item() a tensor of shape ${showShape(this.shape)}`);
    }
    return (await this.data())[0];
  }

  /**
   * A tensor with the same elements and a new shape, sharing storage (no copy).
   * One dimension may be -1 (inferred).
   */
  reshape(shape: readonly number[]): Tensor {
    const resolved = resolveShape(shape, this.size, this.shape);
    const view = new Tensor(this.backend, this.handle, resolved, this.dtype);
    view.#store = this.#store;
    this.#store!.refs++;
    if (gradEnabled && this.requiresGrad) {
      view.requiresGrad = true;
      view.node = { op: "reshape", inputs: [this], attrs: { from: this.shape } };
    }
    return view;
  }

  /** Frees the storage once no view shares it. Safe to call twice. */
  dispose(): void {
    const store = this.#store;
    if (!store) return;
    this.#store = null;
    this.node = null;
    for (const s of scopes) s.delete(this);
    if (--store.refs === 0) this.backend.release(store.handle);
  }

  /** `using t = ...` disposes at the end of the block. */
  [Symbol.dispose](): void {
    this.dispose();
  }

  /** A short description, e.g. `Tensor(float32 [2, 3], webgpu)`. */
  toString(): string {
    return `Tensor(${this.dtype} ${showShape(this.shape)}, ${this.backend.name})`;
  }
}

function resolveShape(shape: readonly number[], size: number, from: Shape): number[] {
  const known = shape.reduce((p, d) => (d === -1 ? p : p * d), 1);
  const out = shape.map((d) => (d === -1 ? size / known : d));
  if (
    shape.filter((d) => d === -1).length > 1 || sizeOf(out) !== size ||
    out.some((d) => !Number.isInteger(d))
  ) {
    throw new Error(`Cannot reshape ${showShape(from)} (${size} elements) to ${showShape(shape)}`);
  }
  return out;
}

/**
 * What a {@link tidy} callback may return: tensors, arrays and plain objects
 * of them (walked to find the survivors), or plain values. A promise is not
 * allowed: the scope would close before it settles.
 */
export type Kept =
  | Tensor
  | readonly Kept[]
  | { readonly [k: string]: Kept }
  | number
  | string
  | boolean
  | null
  | undefined
  | void;

/**
 * Runs `fn` and disposes every tensor created inside it, except those it
 * returns (anywhere in an array or plain object) and those passed to
 * {@link keep}. Scopes nest; survivors move to the enclosing scope.
 *
 * @example
 * ```ts
 * import { tidy, tensor, add } from "@agd/tensor";
 * const y = tidy(() => add(tensor([1, 2]), tensor([3, 4]))); // inputs freed
 * y.dispose();
 * ```
 */
export function tidy<T extends Kept>(fn: () => T): T {
  const scope = new Set<Tensor>();
  scopes.push(scope);
  let result: T;
  try {
    result = fn();
    if (result instanceof Promise) {
      throw new Error("Cannot tidy() an async function: await outside tidy");
    }
  } finally {
    scopes.pop();
    const survivors = new Set<Tensor>();
    // deno-lint-ignore no-explicit-any
    collect(result! as any, survivors);
    for (const t of scope) if (!survivors.has(t)) t.dispose();
    for (const t of survivors) if (scope.has(t)) scopes.at(-1)?.add(t);
  }
  return result;
}

function collect(value: Kept, into: Set<Tensor>): void {
  if (value instanceof Tensor) into.add(value);
  else if (Array.isArray(value)) { for (const v of value) collect(v, into); }
  else if (value && typeof value === "object") {
    for (const v of Object.values(value)) collect(v, into);
  }
}

/** Exempts a tensor from every enclosing {@link tidy} scope; the caller now owns it. */
export function keep<T extends Tensor>(t: T): T {
  for (const s of scopes) s.delete(t);
  return t;
}

/** Runs `fn` without recording gradients (like torch.no_grad). */
export function noGrad<T>(fn: () => T): T {
  const before = gradEnabled;
  gradEnabled = false;
  try {
    return fn();
  } finally {
    gradEnabled = before;
  }
}

/** Whether ops currently record the autograd graph. */
export function isGradEnabled(): boolean {
  return gradEnabled;
}
