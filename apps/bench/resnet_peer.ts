/**
 * The CIFAR ResNet-18 training step (pre-activation, batch 32, xent, AGD) on
 * each of our backends beside PyTorch's CPU build, the same network and
 * update (peer_torch_resnet.py), alternating rounds, best kept: the conv-net
 * figure for a user choosing between us and PyTorch on a machine without a
 * GPU.
 *
 * @module
 */
import { wasm } from "@agd/tensor";
import { benchBackend } from "./backend.ts";
import { benchTorchResnet, type Outcome, type TorchResnetResult } from "./peer_torch.ts";
import { benchTrainStep } from "./training.ts";

/** One of our backends on the step. */
export interface ResnetRow {
  /** `webgpu` or `wasm, N threads`. */
  backend: string;
  /** Images per second (best round). */
  samplesPerSec: number;
  /** Wall milliseconds per step. */
  wallMs: number;
  /** η of the step before the timed ones (finite, > 0). */
  eta: number;
}

/** Our ResNet-18 step on each backend beside PyTorch CPU's. */
export interface Resnet18PeerReport {
  /** Images per step. */
  batch: number;
  /** Alternating rounds. */
  rounds: number;
  /** Our backends. */
  ours: ResnetRow[];
  /** PyTorch's figures, or why it did not run. */
  torch: Outcome<TorchResnetResult>;
}

/** Options of {@link benchResnet18}. */
export interface Resnet18Options {
  /** Images per step (default 32). */
  batch?: number;
  /** Timed steps per measurement (default 2). */
  steps?: number;
  /** Alternating rounds (default 1). */
  rounds?: number;
  /** Interpreter with torch (default `/usr/bin/python3`). */
  python?: string;
  /** Progress lines. */
  log?: (message: string) => void;
}

/**
 * Times the step on WebGPU, on wasm and in PyTorch, alternating.
 *
 * @param options batch, steps, rounds, python, log
 * @returns our rows and PyTorch's figures
 */
export async function benchResnet18(options: Resnet18Options = {}): Promise<Resnet18PeerReport> {
  const batch = options.batch ?? 32;
  const steps = options.steps ?? 2;
  const rounds = options.rounds ?? 1;
  const log = options.log ?? (() => {});
  const step = {
    name: "resnet18 cifar10 32²",
    arch: "resnet18",
    dataset: "cifar10",
    batch,
    loss: "xent" as const,
    agdInit: false,
  };
  const cpu = await wasm();
  const backends = [
    { name: "webgpu", backend: await benchBackend() },
    { name: cpu.description, backend: cpu },
  ];
  const ours = new Map<string, ResnetRow>();
  let torch: Outcome<TorchResnetResult> | undefined;
  for (let round = 1; round <= rounds; round++) {
    for (const { name, backend } of backends) {
      log(`resnet18 round ${round}/${rounds}: ours (${name})`);
      const r = await benchTrainStep(step, { warmup: 1, count: steps }, { backend });
      const best = ours.get(name);
      if (!best || r.samplesPerSec > best.samplesPerSec) {
        ours.set(name, {
          backend: name,
          samplesPerSec: r.samplesPerSec,
          wallMs: r.wallMs,
          eta: r.eta,
        });
      }
    }
    log(`resnet18 round ${round}/${rounds}: PyTorch CPU`);
    const t = await benchTorchResnet({
      python: options.python ?? "/usr/bin/python3",
      arch: "resnet18_cifar",
      batch,
      image: 32,
      device: "cpu",
      steps,
      warmup: 1,
    });
    if (!torch?.ok || (t.ok && t.result.samples_per_s > torch.result.samples_per_s)) torch = t;
  }
  return { batch, rounds, ours: [...ours.values()], torch: torch! };
}
