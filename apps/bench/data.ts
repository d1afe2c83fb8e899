/**
 * Loader throughput per dataset, in images/s, from the datasets package's
 * benchmark (which reports CIFAR and MNIST in batches of 128 per second).
 *
 * @module
 */

/** One data pipeline's throughput. */
export interface DataResult {
  /** Dataset name. */
  dataset: string;
  /** What was timed. */
  pipeline: string;
  /** Images per second. */
  imagesPerSec: number;
}

/** Options of {@link benchData}. */
export interface DataOptions {
  /** A short run (fewer images and batches). */
  quick: boolean;
  /** Progress lines. */
  log?: (message: string) => void;
}

/**
 * Runs the datasets package's benchmark (`@agd/datasets/bench`) in a process
 * of its own, as torchvision's side runs in its own: what the bench's earlier
 * sections left in this process (a heap of gigabytes to collect, idle
 * worker threads) must not slow our side down. Its progress lines go to
 * `log` as they come.
 */
async function datasetsBench(
  options: Record<string, number>,
  log: (message: string) => void,
): Promise<Record<string, number>> {
  const child = new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "-A",
      import.meta.resolve("@agd/datasets/bench"),
      "--options",
      JSON.stringify(options),
    ],
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const stdout = new Response(child.stdout).text();
  const lines: string[] = [];
  let rest = "";
  for await (const chunk of child.stderr.pipeThrough(new TextDecoderStream())) {
    const parts = (rest + chunk).split("\n");
    rest = parts.pop()!;
    for (const line of parts) {
      lines.push(line);
      log(line);
    }
  }
  if (rest) lines.push(rest);
  const status = await child.status;
  if (!status.success) {
    throw new Error(
      `the datasets bench failed (exit ${status.code}): ${lines.slice(-3).join(" / ")}`,
    );
  }
  return JSON.parse(await stdout);
}

/**
 * Images/s of each dataset's training pipeline: Fashion-MNIST (real files
 * when installed) and CIFAR-10 through the batch loader, ImageNet JPEGs
 * through the train and eval transforms (ours exact, ours fast, torchvision)
 * on one worker and on every core, and the two JPEG decoders alone.
 *
 * @param options quick, log
 * @returns one row per pipeline
 */
export async function benchData(options: DataOptions): Promise<DataResult[]> {
  const { quick } = options;
  const raw = await datasetsBench(
    {
      images: quick ? 8 : 32,
      samples: quick ? 96 : 640,
      batches: quick ? 30 : 100,
      rounds: quick ? 1 : 2,
    },
    options.log ?? (() => {}),
  );
  const rows: DataResult[] = [];
  const add = (dataset: string, pipeline: string, value: number | undefined) => {
    if (value !== undefined) rows.push({ dataset, pipeline, imagesPerSec: value });
  };
  // The CIFAR and MNIST figures are batches of 128 per second.
  add(
    "fashion-mnist (mnist format)",
    "loader b128, shuffle, normalize",
    raw.mnist_b128_batches_s * 128,
  );
  add(
    "cifar10 / cifar100",
    "loader b128, crop + flip + normalize",
    raw.cifar10_train_b128_batches_s * 128,
  );
  // ImageNet: ours (exact = torchvision's arithmetic on TurboJPEG's pixels,
  // the default; fast = libvips does the pixel work) beside torchvision's ImageFolder + DataLoader on the same files.
  const transforms = {
    train: "RandomResizedCrop 224 + flip",
    eval: "Resize 256 + CenterCrop 224",
  } as const;
  const impls = {
    exact: "ours, exact (default)",
    fast: "ours, fast (libvips)",
    tar: "ours, exact, from WebDataset .tar shards",
    torchvision: "torchvision ImageFolder + DataLoader",
  } as const;
  for (const kind of ["train", "eval"] as const) {
    for (const workers of [...new Set([1, raw.workers])]) {
      const peer = raw[`imagenet_${kind}_torchvision_${workers}w_img_s`];
      for (const impl of ["exact", "fast", "tar", "torchvision"] as const) {
        const v = raw[`imagenet_${kind}_${impl}_${workers}w_img_s`];
        const perCpu = raw[`imagenet_${kind}_${impl}_${workers}w_img_cpu_s`];
        const peerCpu = raw[`imagenet_${kind}_torchvision_${workers}w_img_cpu_s`];
        const notes: string[] = [];
        if (impl !== "torchvision" && v !== undefined && peer) {
          notes.push(`×${(v / peer).toFixed(2)} torchvision`);
        }
        if (perCpu !== undefined) {
          notes.push(
            `${perCpu.toFixed(0)} img per CPU-s` +
              (impl !== "torchvision" && peerCpu ? `, ×${(perCpu / peerCpu).toFixed(2)}` : ""),
          );
        }
        add(
          "imagenet (330–500 px JPEG q90)",
          `${transforms[kind]}, ${impls[impl]}, ${workers} worker${workers > 1 ? "s" : ""}` +
            (notes.length ? ` (${notes.join("; ")})` : ""),
          v,
        );
      }
    }
  }
  add("imagenet", "JPEG decode only (TurboJPEG, 500×375)", raw.decode_turbojpeg_img_s);
  add("imagenet", "JPEG decode only (sharp, 500×375)", raw.decode_sharp_img_s);
  add("imagenet", "JPEG decode only (@jsquash/jpeg, 500×375)", raw.decode_jsquash_img_s);
  return rows;
}
