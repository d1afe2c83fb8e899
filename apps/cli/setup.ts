/**
 * What a configuration trains with: its optimizer (`--optimizer`, `--gain`,
 * `--lr`, `--momentum`) and its loss (`--loss`), put together with the model
 * as the {@link TrainSetup} of every step.
 *
 * @module
 */
import { Adam, Agd, type Optimizer, Sgd, type TrainSetup } from "@agd/agd";
import type { Module } from "@agd/models";
import { crossEntropyLoss, mseLoss } from "@agd/tensor";
import type { TrainConfig } from "./args.ts";

/** The configured optimizer. */
export function makeOptimizer(config: TrainConfig): Optimizer {
  if (config.optimizer === "agd") return new Agd({ gain: config.gain });
  if (config.optimizer === "sgd") return new Sgd({ lr: config.lr, momentum: config.momentum });
  return new Adam({ lr: config.lr });
}

/** The configured loss: mse (the reference's √C one-hot) or cross-entropy. */
export function lossFunction(config: TrainConfig): TrainSetup["loss"] {
  return config.loss === "mse" ? mseLoss : crossEntropyLoss;
}

/** The model's training step as configured: its forward pass, the loss, its weights and the optimizer. */
export function stepSetup(
  config: TrainConfig,
  model: Module,
  optimizer: Optimizer,
): TrainSetup {
  return {
    forward: (x) => model.forward(x),
    loss: lossFunction(config),
    params: model.parameters(),
    optimizer,
  };
}
