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
import { JAX_VERSION, type JaxDevice, startJax } from "./peer_jax.ts";
import { jaxResnet18Step } from "./peer_jax_resnet.ts";

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
  /**
   * jax-js's wasm step at a smaller batch (one batch-32 step takes it
   * minutes) beside ours at that batch, or why it did not run; absent when
   * the jax-js peer is off.
   */
  jax?: Outcome<JaxResnetRow>;
}

/** jax-js's ResNet-18 step and ours at the same (small) batch. */
export interface JaxResnetRow {
  /** jax-js's version. */
  version: string;
  /** Images per step. */
  batch: number;
  /** jax-js's device. */
  device: JaxDevice;
  /** jax-js's images per second. */
  samplesPerSec: number;
  /** jax-js's wall milliseconds per step. */
  wallMs: number;
  /** jax-js's first η (finite, > 0). */
  eta: number;
  /** Ours on wasm at the same batch, images per second. */
  oursSamplesPerSec: number;
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
  /** jax-js's batch (default 4); 0 leaves jax-js out. */
  jaxBatch?: number;
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
  const jaxBatch = options.jaxBatch ?? 4;
  const report: Resnet18PeerReport = { batch, rounds, ours: [...ours.values()], torch: torch! };
  if (jaxBatch > 0) {
    log(`resnet18: jax-js wasm and ours at batch ${jaxBatch}`);
    report.jax = await jaxRow(jaxBatch, { ...step, batch: jaxBatch }, cpu);
  }
  return report;
}

/** jax-js's step on wasm at `batch`, and ours at the same batch. */
async function jaxRow(
  batch: number,
  step: Parameters<typeof benchTrainStep>[0],
  cpu: Awaited<ReturnType<typeof wasm>>,
): Promise<Outcome<JaxResnetRow>> {
  const why = await startJax("wasm");
  if (why) return { ok: false, reason: why };
  try {
    const j = await jaxResnet18Step("wasm", batch, { warmup: 1, count: 1 });
    const o = await benchTrainStep(step, { warmup: 1, count: 3 }, { backend: cpu });
    return {
      ok: true,
      result: {
        version: JAX_VERSION,
        batch,
        device: "wasm",
        ...j,
        oursSamplesPerSec: o.samplesPerSec,
      },
    };
  } catch (e) {
    return { ok: false, reason: (e as Error).message };
  }
}
