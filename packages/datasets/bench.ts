/**
 * Throughput benchmark of the data pipelines. Run it with
 * `deno run -A packages/datasets/bench.ts`, or import {@linkcode benchDatasets}.
 *
 * @module
 */

import { ArrayDataset } from "./dataset.ts";
import { datasetInfo } from "./info.ts";
import { ImageNetDataset, type ImageSample } from "./imagenet.ts";
import { type DecoderName, encodeJpeg, loadDecoder, syntheticImage } from "./jpeg.ts";
import { createLoader } from "./loader.ts";
import { openDataset } from "./dataset.ts";
import type { Dataset } from "./dataset.ts";

/** Options for {@linkcode benchDatasets}. */
export interface BenchOptions {
  /** Distinct generated 500×375 JPEGs (default 32). */
  images?: number;
  /** Images pushed through each ImageNet measurement (default 192). */
  samples?: number;
  /** Batches per CIFAR/MNIST measurement (default 100). */
  batches?: number;
  /** Worker count of the "all cores" run (default `navigator.hardwareConcurrency`). */
  workers?: number;
  /** Data root for real Fashion-MNIST (default `/usr/share/datasets`; generated data if absent). */
  dataDir?: string;
  /** Progress logger (default: silent). */
  log?: (message: string) => void;
}

async function timeLoader(ds: Dataset, batches: number, batchSize: number): Promise<number> {
  const loader = createLoader(ds, { batchSize, shuffle: true, seed: 0, dropLast: true });
  let n = 0;
  const t0 = performance.now();
  while (n < batches) {
    for await (const _ of loader) {
      if (++n >= batches) break;
    }
    loader.epoch++;
  }
  return n / ((performance.now() - t0) / 1000);
}

/**
 * Measures images/s of JPEG decoding (sharp and @jsquash/jpeg, one thread)
 * and of the ImageNet train pipeline (decode + RandomResizedCrop(224) + flip +
 * normalize) with one worker and with all cores, plus batches/s of the
 * CIFAR-10 (128, crop + flip) and MNIST (128) loaders.
 *
 * @param options Sizes, worker count and data root.
 * @returns Metric name → value (images/s or batches/s).
 */
export async function benchDatasets(options: BenchOptions = {}): Promise<Record<string, number>> {
  const log = options.log ?? (() => {});
  const out: Record<string, number> = {};
  const nImages = options.images ?? 32;
  const samples = options.samples ?? 192;
  const jpegs: Uint8Array[] = [];
  for (let i = 0; i < nImages; i++) {
    jpegs.push(await encodeJpeg(syntheticImage({ width: 500, height: 375 }, i), { quality: 90 }));
  }
  out.jpeg_bytes_avg = jpegs.reduce((a, j) => a + j.length, 0) / nImages;

  for (const name of ["sharp", "jsquash"] as DecoderName[]) {
    try {
      const decode = await loadDecoder(name);
      for (let i = 0; i < 4; i++) await decode(jpegs[i % nImages]);
      const t0 = performance.now();
      for (let i = 0; i < samples; i++) await decode(jpegs[i % nImages]);
      out[`decode_${name}_img_s`] = samples / ((performance.now() - t0) / 1000);
      log(`decode ${name}: ${out[`decode_${name}_img_s`].toFixed(1)} img/s`);
    } catch (e) {
      log(`decode ${name} unavailable: ${(e as Error).message}`);
    }
  }

  const dir = await Deno.makeTempDir({ prefix: "agd_bench_" });
  try {
    const sampleList: ImageSample[] = [];
    for (let i = 0; i < nImages; i++) {
      const path = `${dir}/${i}.JPEG`;
      await Deno.writeFile(path, jpegs[i]);
      sampleList.push({ path, offset: -1, size: 0, label: i % 10 });
    }
    const index = { classes: Array.from({ length: 10 }, (_, i) => String(i)), samples: sampleList };
    const all = options.workers ?? navigator.hardwareConcurrency ?? 1;
    for (const [key, workers] of [["1core", 1], ["allcores", all]] as const) {
      const ds = new ImageNetDataset(index, { workers });
      try {
        await ds.load([0, 1], { seed: 0, epoch: 0 }); // Start workers and load the decoder.
        let done = 0;
        let epoch = 0;
        const t0 = performance.now();
        const pending: Promise<unknown>[] = [];
        const batch = 16;
        while (done < samples) {
          const idx = Array.from({ length: batch }, (_, k) => (done + k) % nImages);
          pending.push(ds.load(idx, { seed: 0, epoch: epoch++ }));
          done += batch;
          if (pending.length >= 3) await pending.shift();
        }
        await Promise.all(pending);
        out[`imagenet_train_${key}_img_s`] = done / ((performance.now() - t0) / 1000);
        log(
          `imagenet train pipeline, ${workers} worker(s): ${
            out[`imagenet_train_${key}_img_s`].toFixed(1)
          } img/s`,
        );
      } finally {
        ds.close();
      }
    }
    out.workers = all;
  } finally {
    await Deno.remove(dir, { recursive: true });
  }

  const batches = options.batches ?? 100;
  const n = 10000;
  const images = new Uint8Array(n * 3072);
  for (let i = 0; i < images.length; i++) images[i] = (i * 2654435761) >>> 24;
  const cifar = new ArrayDataset(
    { images, labels: new Uint8Array(n).map((_, i) => i % 10), count: n },
    { info: datasetInfo("cifar10"), split: "train" },
  );
  out.cifar10_train_b128_batches_s = await timeLoader(cifar, batches, 128);
  log(`cifar10 train batches(128)/s: ${out.cifar10_train_b128_batches_s.toFixed(1)}`);

  let mnist: Dataset;
  try {
    mnist = await openDataset("fashion-mnist", {
      dataDir: options.dataDir ?? "/usr/share/datasets",
      download: false,
    });
  } catch {
    const m = new Uint8Array(n * 784).map((_, i) => (i * 31) & 255);
    mnist = new ArrayDataset(
      { images: m, labels: new Uint8Array(n).map((_, i) => i % 10), count: n },
      { info: datasetInfo("fashion-mnist"), split: "train" },
    );
  }
  out.mnist_b128_batches_s = await timeLoader(mnist, batches, 128);
  log(`mnist batches(128)/s: ${out.mnist_b128_batches_s.toFixed(1)}`);
  return out;
}

if (import.meta.main) {
  const result = await benchDatasets({ log: (m) => console.error(m) });
  console.log(JSON.stringify(result, null, 2));
}
