/**
 * The module system: named parameters (with the layer metadata AGD needs),
 * named buffers, train/eval mode, and one forward definition per module
 * written against {@link LayerOps} (layer_ops.ts). Running it with tensor
 * ops trains the model; running it with a graph builder exports it
 * (packages/onnx-export), so the architecture is described exactly once.
 *
 * @module
 */
import type { Tensor } from "@agd/tensor";
import type { BufferRef, CounterRef, LayerOps, Parameter } from "./layer_ops.ts";
import { tensorOps } from "./tensor_ops.ts";

/**
 * A node of the model tree.
 *
 * @example
 * ```ts
 * import { type LayerOps, Linear, Module } from "@agd/models";
 * import { Rng, zeros } from "@agd/tensor";
 * class TwoLayer extends Module {
 *   readonly fc1: Linear;
 *   readonly fc2: Linear;
 *   constructor(rng: Rng) {
 *     super();
 *     this.fc1 = this.child("fc1", new Linear(4, 8, { rng }));
 *     this.fc2 = this.child("fc2", new Linear(8, 2, { rng }));
 *   }
 *   call<T>(ops: LayerOps<T>, x: T): T {
 *     return this.fc2.call(ops, ops.relu(this.fc1.call(ops, x)));
 *   }
 * }
 * const net = new TwoLayer(new Rng(0));
 * console.log(net.parameters().map((p) => p.name)); // ["fc1.weight", "fc2.weight"]
 * console.log(net.forward(zeros([3, 4])).shape); // [3, 2]
 * net.dispose();
 * ```
 */
export abstract class Module {
  /** Training mode (BatchNorm uses batch statistics and updates running ones). */
  training = true;
  readonly #children: [string, Module][] = [];
  readonly #params: [string, Parameter][] = [];
  readonly #buffers: [string, BufferRef][] = [];
  readonly #counters: [string, CounterRef][] = [];

  /** The forward pass, written once against {@link LayerOps}. */
  abstract call<T>(ops: LayerOps<T>, x: T): T;

  /** Runs the forward pass on tensors (training or evaluation by mode). */
  forward(x: Tensor): Tensor {
    return this.call(tensorOps, x);
  }

  /** Registers a child module under `name` (state-dict prefix). */
  protected child<M extends Module>(name: string, module: M): M {
    this.#children.push([name, module]);
    return module;
  }

  /** Registers a parameter under `name`. */
  protected param(name: string, p: Parameter): Parameter {
    this.#params.push([name, p]);
    return p;
  }

  /** Registers a buffer under `name`. */
  protected buffer(name: string, b: BufferRef): BufferRef {
    this.#buffers.push([name, b]);
    return b;
  }

  /** Registers a counter under `name`. */
  protected counter(name: string, c: CounterRef): CounterRef {
    this.#counters.push([name, c]);
    return c;
  }

  /** Direct children with their names. */
  children(): readonly [string, Module][] {
    return this.#children;
  }

  /** Every parameter in state-dict order, with full names assigned. */
  parameters(prefix = ""): Parameter[] {
    const out: Parameter[] = [];
    for (const [name, p] of this.#params) {
      p.name = prefix + name;
      out.push(p);
    }
    for (const [name, m] of this.#children) out.push(...m.parameters(`${prefix}${name}.`));
    return out;
  }

  /** Every buffer in state-dict order, with full names assigned. */
  buffers(prefix = ""): BufferRef[] {
    const out: BufferRef[] = [];
    for (const [name, b] of this.#buffers) {
      b.name = prefix + name;
      out.push(b);
    }
    for (const [name, m] of this.#children) out.push(...m.buffers(`${prefix}${name}.`));
    return out;
  }

  /** Every counter in state-dict order, with full names assigned. */
  counters(prefix = ""): CounterRef[] {
    const out: CounterRef[] = [];
    for (const [name, c] of this.#counters) {
      c.name = prefix + name;
      out.push(c);
    }
    for (const [name, m] of this.#children) out.push(...m.counters(`${prefix}${name}.`));
    return out;
  }

  /** Sets training (true) or evaluation (false) mode on the whole tree. */
  train(mode = true): this {
    this.training = mode;
    for (const [, m] of this.#children) m.train(mode);
    return this;
  }

  /** Evaluation mode: BatchNorm uses running statistics. */
  eval(): this {
    return this.train(false);
  }

  /** Frees every parameter and buffer tensor. */
  dispose(): void {
    for (const p of this.parameters()) {
      p.value.grad?.dispose();
      p.value.dispose();
    }
    for (const b of this.buffers()) b.value.dispose();
  }
}
