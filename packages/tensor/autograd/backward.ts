/**
 * Reverse-mode differentiation: walk the graph from a scalar in reverse
 * topological order, calling each node's vector-Jacobian product, and
 * accumulate into the `grad` of leaves that require it. Intermediate gradients
 * are released as soon as they have been propagated.
 *
 * @module
 */
import { keep, noGrad, type Tensor } from "../tensor.ts";
import { apply } from "../ops/_apply.ts";
import { showShape } from "../shape.ts";
import type { GradOpName } from "../ops/op_name.ts";
import type { GradRule, VjpRule } from "./vjp.ts";
import { VJP_RULES } from "../ops/registry.ts";

/**
 * ∂L/∂inputs of the op that made `out`, from its rule in {@link VJP_RULES}.
 * Throws, naming the op, when it is declared not differentiable.
 */
function vjp(out: Tensor, dy: Tensor): readonly (Tensor | null)[] {
  const { op, inputs, attrs } = out.node!;
  const rule: GradRule<GradOpName> = VJP_RULES[op] as GradRule<GradOpName>;
  if (typeof rule !== "function") {
    throw new Error(
      `Cannot differentiate ${op}: it has no gradient rule (${rule.notDifferentiable})`,
    );
  }
  return (rule as VjpRule<GradOpName>)(dy, {
    inputs,
    out,
    attrs,
    needs: inputs.map((t) => t.requiresGrad),
    apply,
  });
}

/**
 * The graph's tensors in reverse topological order, each one as soon as all
 * its consumers are done (Kahn's algorithm from the root, depth first): a
 * weight's gradient is then final right after the op that used it, not at
 * the end of the pass, so {@link Tensor.onGrad} hooks fire early.
 */
function reverseTopologicalOrder(root: Tensor): Tensor[] {
  const consumers = new Map<Tensor, number>();
  const stack = [root];
  const seen = new Set([root]);
  while (stack.length) {
    for (const input of stack.pop()!.node?.inputs ?? []) {
      if (!input.requiresGrad) continue;
      consumers.set(input, (consumers.get(input) ?? 0) + 1);
      if (!seen.has(input)) {
        seen.add(input);
        stack.push(input);
      }
    }
  }
  const order: Tensor[] = [];
  const ready = [root];
  while (ready.length) {
    const t = ready.pop()!;
    order.push(t);
    for (const input of t.node?.inputs ?? []) {
      if (!input.requiresGrad) continue;
      const left = consumers.get(input)! - 1;
      consumers.set(input, left);
      if (left === 0) ready.push(input);
    }
  }
  return order;
}

/**
 * Computes ∂loss/∂leaf for every leaf tensor with `requiresGrad`, adding it to
 * `leaf.grad` (gradients accumulate across calls, as in PyTorch; the caller
 * owns and disposes them). `loss` must be a one-element tensor unless `dy` is given.
 *
 * @example
 * ```ts
 * import { backward, mul, sum, tensor } from "@agd/tensor";
 * const w = tensor([1, 2, 3], { requiresGrad: true });
 * backward(sum(mul(w, w)));
 * console.log(await w.grad!.data()); // Float32Array [2, 4, 6]
 * ```
 */
export function backward(loss: Tensor, dy?: Tensor): void {
  if (!loss.requiresGrad) {
    throw new Error("Cannot backward(): the loss does not depend on any tensor with requiresGrad");
  }
  if (!dy && loss.size !== 1) {
    throw new Error(
      `Cannot backward() from shape ${showShape(loss.shape)}: pass dy or reduce to a scalar`,
    );
  }
  noGrad(() => {
    const grads = new Map<Tensor, Tensor>();
    // How many map entries point at each gradient tensor: rules may pass dy
    // through unchanged, so a tensor is freed only when nothing refers to it.
    const refs = new Map<Tensor, number>();
    const hold = (t: Tensor) => refs.set(t, (refs.get(t) ?? 0) + 1);
    const drop = (t: Tensor) => {
      const n = (refs.get(t) ?? 0) - 1;
      refs.set(t, n);
      if (n === 0 && t !== dy) t.dispose();
    };
    const seed = dy ?? apply("affine", [loss], { mul: 0, add: 1 });
    grads.set(loss, seed);
    hold(seed);
    for (const t of reverseTopologicalOrder(loss)) {
      const g = grads.get(t);
      if (!g) continue;
      grads.delete(t);
      if (!t.node) {
        if (t.grad) {
          const total = apply("add", [t.grad, g], {});
          t.grad.dispose();
          t.grad = keep(total);
        } else {
          t.grad = keep(g);
          hold(g); // the leaf now owns it too
        }
        drop(g);
        t.onGrad?.(t.grad);
        continue;
      }
      const inputGrads = vjp(t, g);
      t.node.inputs.forEach((input, i) => {
        const gi = inputGrads[i];
        if (!gi || !input.requiresGrad) {
          if (gi && gi !== g && !refs.has(gi)) gi.dispose();
          return;
        }
        const prev = grads.get(input);
        if (prev) {
          const sum = apply("add", [prev, gi], {});
          hold(sum);
          grads.set(input, sum);
          drop(prev);
          if (!refs.has(gi)) gi.dispose();
        } else {
          grads.set(input, gi);
          hold(gi);
        }
      });
      drop(g);
    }
  });
}
