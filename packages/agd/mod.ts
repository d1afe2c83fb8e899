/**
 * Automatic Gradient Descent — the optimizer with no learning rate — and the
 * SGD and Adam baselines of the AGD paper, as pure GPU updates over parameters.
 *
 * @example
 * ```ts
 * import { Agd } from "@agd/agd";
 * const optimizer = new Agd({ gain: 1 });
 * console.log(optimizer.stateBytes()); // 0
 * ```
 *
 * @module
 */
export * from "./param.ts";
export * from "./orthogonal.ts";
export * from "./init.ts";
export * from "./optimizer.ts";
