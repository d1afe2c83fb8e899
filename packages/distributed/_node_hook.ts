/**
 * Gradient-ready hooks, like the autograd hooks PyTorch's DDP registers: a
 * callback runs the moment `backward()` has computed a weight's gradient —
 * inside the vector-Jacobian product of the op that consumed the weight,
 * while the rest of the backward pass is still to be recorded.
 *
 * Hooking the leaf's `grad` field instead would be too late: `backward()`
 * visits the graph in reverse topological order, which puts every leaf after
 * all the ops, so leaf gradients are stored only at the very end. @agd/tensor
 * has no hook API, so the consuming op's node is replaced by one whose
 * `backward` reports the weight's gradient after computing it.
 *
 * @module
 */
import type { GradNode, Tensor } from "@agd/tensor";

/**
 * Calls `onGrad(i, g)` as soon as backward from `loss` has computed the
 * gradient `g` of `leaves[i]`, for every leaf the graph uses exactly once (a
 * weight used twice gets its gradient summed later; it is not hooked).
 *
 * @param loss the root backward will start from
 * @param leaves the weights' current values
 * @param onGrad receives the leaf's index and its gradient (the tensor that becomes `grad`)
 * @returns the indices of the hooked leaves
 */
export function onGradComputed(
  loss: Tensor,
  leaves: readonly Tensor[],
  onGrad: (i: number, g: Tensor) => void,
): Set<number> {
  const index = new Map(leaves.map((t, i) => [t, i]));
  const uses = new Map<number, { consumer: Tensor; slot: number }[]>();
  const seen = new Set<Tensor>();
  const stack = [loss];
  while (stack.length) {
    const t = stack.pop()!;
    if (seen.has(t) || !t.node) continue;
    seen.add(t);
    t.node.inputs.forEach((input, slot) => {
      const i = index.get(input);
      if (i === undefined) {
        if (input.requiresGrad) stack.push(input);
        return;
      }
      const list = uses.get(i) ?? [];
      list.push({ consumer: t, slot });
      uses.set(i, list);
    });
  }
  const perConsumer = new Map<Tensor, { slot: number; i: number }[]>();
  for (const [i, list] of uses) {
    if (list.length !== 1) continue;
    const { consumer, slot } = list[0];
    perConsumer.set(consumer, [...(perConsumer.get(consumer) ?? []), { slot, i }]);
  }
  for (const [consumer, slots] of perConsumer) {
    const node = consumer.node!;
    const wrapped: GradNode = {
      op: node.op,
      inputs: node.inputs,
      backward: (dy) => {
        const grads = node.backward(dy);
        for (const { slot, i } of slots) {
          const g = grads[slot];
          if (g) onGrad(i, g);
        }
        return grads;
      },
    };
    consumer.node = wrapped;
  }
  return new Set([...perConsumer.values()].flat().map((s) => s.i));
}
