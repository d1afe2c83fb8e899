/**
 * The single place where a primitive op runs: validate and infer the output
 * shape, run the backend kernel, and record the autograd node.
 *
 * @module
 */
import type { OpAttrs, OpName } from "../op_name.ts";
import { SHAPE_RULES } from "../shape.ts";
import { isGradEnabled, Tensor } from "../tensor.ts";
import { VJP_RULES } from "../autograd/vjp.ts";

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
  const spec = SHAPE_RULES[op](inputs.map((t) => t.shape), inputs.map((t) => t.dtype), attrs);
  const handle = backend.run(
    op,
    inputs.map((t) => ({ storage: t.handle, shape: t.shape, dtype: t.dtype })),
    attrs,
    spec,
  );
  const out = new Tensor(backend, handle, spec.shape, spec.dtype);
  if (isGradEnabled() && inputs.some((t) => t.requiresGrad)) {
    const rule = VJP_RULES[op];
    out.requiresGrad = true;
    out.node = {
      op,
      inputs,
      backward: (dy) => {
        if (!rule) throw new Error(`Cannot differentiate ${op}: it has no gradient rule`);
        return rule(dy, { inputs, out, attrs, needs: inputs.map((t) => t.requiresGrad) });
      },
    };
  }
  return out;
}
