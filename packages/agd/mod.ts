/**
 * Automatic Gradient Descent — the optimizer with no learning rate — and the
 * SGD and Adam baselines of the AGD paper, as pure GPU updates over parameters
 * with explicit state, and the one training step every loop runs.
 *
 * @example
 * ```ts
 * import { Agd, stateBytes } from "@agd/agd";
 * const optimizer = new Agd({ gain: 1 });
 * console.log(stateBytes(optimizer.init([]))); // 0
 * ```
 *
 * @module
 */
export * from "./param.ts";
export * from "./orthogonal.ts";
export * from "./init.ts";
export * from "./optimizer.ts";
export * from "./train_step.ts";
