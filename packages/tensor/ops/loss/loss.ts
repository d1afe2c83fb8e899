/**
 * The two losses of the AGD paper, as composites of primitives (so their
 * gradients come from the primitives' rules) or one fused op, and accuracy.
 *
 * @module
 */
import { noGrad, type Tensor } from "../../tensor.ts";
import { apply } from "../_apply.ts";
import { mul, sub } from "../elementwise/elementwise.ts";
import { argmax, logSumExp, mean, sum } from "../reduce/reduce.ts";
import { oneHot } from "../misc/misc.ts";

/**
 * The AGD paper's square loss: mean over batch and classes of
 * (f(x) − onehot(y)·√C)², C = number of classes. One fused op forward and
 * one backward (`mse_loss`, `mse_loss_grad`).
 */
export function mseLoss(logits: Tensor, labels: Tensor): Tensor {
  return apply("mse_loss", [logits, labels], { value: Math.sqrt(logits.shape[1]) });
}

/** Cross-entropy: mean over the batch of −f(x)[y] + logsumexp(f(x)). No smoothing. */
export function crossEntropyLoss(logits: Tensor, labels: Tensor): Tensor {
  const picked = sum(mul(logits, oneHot(labels, logits.shape[1])), { axes: [1] });
  return mean(sub(logSumExp(logits), picked));
}

/** Number of rows whose argmax equals the label, as a float32 scalar (no sync). */
export function countCorrect(logits: Tensor, labels: Tensor): Tensor {
  return noGrad(() => {
    const classes = logits.shape[1];
    return sum(mul(oneHot(argmax(logits), classes), oneHot(labels, classes)));
  });
}
