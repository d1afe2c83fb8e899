/**
 * The single place where a primitive op runs: validate and infer the output
 * shape with the op's shape rule, run the backend kernel, and record the
 * autograd node (as data: `backward()` looks the gradient rule up and hands
 * it this `apply`, so the rules never import it).
 *
 * @module
 */
import type { OpAttrs, OpName } from "./op_name.ts";
import { opDefinition } from "./registry.ts";
import { type GradNode, isGradEnabled, Tensor } from "../tensor.ts";

/** Runs primitive `op` on `inputs` (all on one backend) and returns its output. */
export function apply<P extends OpName>(op: P, inputs: Tensor[], attrs: OpAttrs[P]): Tensor {
  const backend = inputs[0].backend;
  for (const t of inputs) {
    if (t.backend !== backend) {
      throw new Error(
        `Cannot ${op} tensors on ${backend.name} and ${t.backend.name}: move them to one device`,
      );
    }
  }
  const definition = opDefinition(op);
  const spec = definition.shape(
    inputs.map((t) => t.shape),
    inputs.map((t) => t.dtype),
    attrs,
  );
  const handle = backend.run(
    definition,
    inputs.map((t) => ({ storage: t.handle, shape: t.shape, dtype: t.dtype })),
    attrs,
    spec,
  );
  const out = new Tensor(backend, handle, spec.shape, spec.dtype);
  if (isGradEnabled() && inputs.some((t) => t.requiresGrad)) {
    out.requiresGrad = true;
    out.node = { op, inputs, attrs } as GradNode;
  }
  return out;
}
