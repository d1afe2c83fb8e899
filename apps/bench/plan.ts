/**
 * The shapes, models and batch sizes a bench run measures, full or `--quick`.
 *
 * @module
 */
import type { FcnSize } from "./fcn_problem.ts";
import { type ConvCase, type LinearCase, resnet18Convs, resnet50Convs } from "./kernels.ts";
import type { TimingOptions } from "./timing.ts";
import type { TrainCase } from "./training.ts";

/** A training case with the timing it gets. */
export type PlannedStep = TrainCase & { timing: TimingOptions };

/** What one run measures, section by section. */
export interface Plan {
  /** Sides of the square matmuls. */
  squares: number[];
  /** Linear layers whose three matmuls are timed. */
  linears: LinearCase[];
  /** Conv layers whose forward and gradients are timed. */
  convs: ConvCase[];
  /** Timing of each kernel measurement. */
  kernelTiming: TimingOptions;
  /** Training steps to time. */
  training: PlannedStep[];
  /** The peer comparison. */
  peers: { fcn: FcnSize; matmulSize: number; seconds: number; rounds: number };
  /** What each design choice gains: timing per row and alternating rounds. */
  gains: { timing: TimingOptions; rounds: number };
  /** The CIFAR ResNet-18 step on our backends and in PyTorch CPU. */
  resnet18: { batch: number; steps: number; rounds: number; jaxBatch: number };
  /** The same steps on Deno's WebGPU and on Dawn: steps and alternating rounds. */
  implementations: { cases: PlannedStep[]; rounds: number };
}

/**
 * What a full or a `--quick` run measures.
 *
 * @param quick the under-two-minutes run: fewer shapes, fewer and smaller steps, no ResNet-50
 * @returns the plan
 */
export function plan(quick: boolean): Plan {
  const fcn = (depth: number, width: number, dataset: string): PlannedStep => ({
    name: `fcn d${depth} w${width} ${dataset}`,
    arch: "fcn",
    dataset,
    batch: 128,
    depth,
    width,
    timing: { seconds: quick ? 0.5 : 2 },
  });
  // Big models take seconds per step on lavapipe: one warm-up step (pipeline
  // compilation) and a fixed count of timed steps, no probe step. AGD's init
  // is skipped for them (host QRs, minutes for the 2048-wide FCN; the timing
  // does not depend on the weights' values).
  const big = (
    name: string,
    arch: string,
    dataset: string,
    batch: number,
    count: number,
    size: { depth?: number; width?: number } = {},
  ): PlannedStep => ({
    name,
    arch,
    dataset,
    batch,
    ...size,
    agdInit: false,
    loss: dataset === "imagenet" ? "xent" : "mse",
    timing: { warmup: 1, count },
  });
  // The paper's batch 128 for the FCNs; the conv nets at the largest batch
  // that keeps the full run within 15 minutes on lavapipe.
  const training: PlannedStep[] = quick
    ? [
      fcn(10, 256, "mnist"),
      big("fcn d4 w2048 cifar10", "fcn", "cifar10", 128, 1, { depth: 4, width: 2048 }),
      big("vgg16 cifar10 32²", "vgg16", "cifar10", 8, 1),
      big("resnet18 cifar10 32²", "resnet18", "cifar10", 4, 1),
    ]
    : [
      fcn(10, 256, "mnist"),
      fcn(8, 256, "mnist"),
      big("fcn d4 w2048 cifar10", "fcn", "cifar10", 128, 3, { depth: 4, width: 2048 }),
      big("vgg16 cifar10 32²", "vgg16", "cifar10", 32, 2),
      big("resnet18 cifar10 32²", "resnet18", "cifar10", 32, 1),
      big("resnet50 imagenet 224²", "resnet50", "imagenet", 2, 1),
    ];
  const linears: LinearCase[] = [
    { name: "fcn 28² input", batch: 128, fanIn: 784, fanOut: 256 },
    { name: "fcn w256 hidden", batch: 128, fanIn: 256, fanOut: 256 },
    ...(quick ? [] : [
      { name: "fcn 3×32² input", batch: 128, fanIn: 3072, fanOut: 2048 },
      { name: "fcn w2048 hidden", batch: 128, fanIn: 2048, fanOut: 2048 },
    ]),
  ];
  return {
    squares: quick ? [256, 1024] : [256, 512, 1024, 2048, 4096],
    linears,
    convs: quick
      ? [resnet18Convs(32)[1], resnet50Convs(4)[2]]
      : [...resnet18Convs(32), ...resnet50Convs(4)],
    kernelTiming: { seconds: quick ? 0.2 : 0.5, minCount: 1 },
    training,
    peers: {
      fcn: { depth: 8, width: 256, dataset: "mnist", batch: 128 },
      matmulSize: 1024,
      seconds: quick ? 0.3 : 2,
      rounds: quick ? 1 : 2,
    },
    gains: { timing: { seconds: quick ? 0.3 : 1.5 }, rounds: quick ? 1 : 2 },
    // jax-js takes about 30 s per batch-4 step (and minutes to compile): not in --quick.
    resnet18: { batch: 32, steps: quick ? 1 : 2, rounds: 1, jaxBatch: quick ? 0 : 4 },
    // The peers' fcn step, and a conv net whose step is many small dispatches.
    implementations: {
      cases: quick ? [fcn(8, 256, "mnist")] : [
        fcn(8, 256, "mnist"),
        big("resnet18 cifar10 32²", "resnet18", "cifar10", 8, 2),
      ],
      rounds: quick ? 1 : 2,
    },
  };
}
