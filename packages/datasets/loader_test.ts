import { assert, assertEquals, assertRejects, assertThrows } from "./_test_util.ts";
import { ArrayDataset, type Batch } from "./dataset.ts";
import { datasetInfo } from "./info.ts";
import { createLoader, shardIndices } from "./loader.ts";
import { Random, seedFrom } from "./rng.ts";

/** A tiny CIFAR-shaped dataset whose pixel bytes encode the sample index. */
function tinyCifar(n: number, split: "train" | "test" = "train"): ArrayDataset {
  const images = new Uint8Array(n * 3072);
  const labels = new Uint8Array(n);
  for (let i = 0; i < n; i++) {
    images.fill(i % 256, i * 3072, (i + 1) * 3072);
    labels[i] = i % 10;
  }
  return new ArrayDataset({ images, labels, count: n }, { info: datasetInfo("cifar10"), split });
}

async function collect(it: AsyncIterable<Batch>): Promise<Batch[]> {
  const out: Batch[] = [];
  for await (const b of it) out.push(b);
  return out;
}

Deno.test("loader: same seed and epoch give the same batches; other epochs differ", async () => {
  const ds = tinyCifar(50);
  const a = await collect(createLoader(ds, { batchSize: 8, shuffle: true, seed: 3 }));
  const b = await collect(createLoader(ds, { batchSize: 8, shuffle: true, seed: 3, prefetch: 1 }));
  assertEquals(a, b);
  const l = createLoader(ds, { batchSize: 8, shuffle: true, seed: 3 });
  l.epoch = 1;
  const c = await collect(l);
  assert(
    JSON.stringify(Array.from(c[0].labels)) !== JSON.stringify(Array.from(a[0].labels)) ||
      c[0].images.some((v, i) => v !== a[0].images[i]),
  );
  const d = await collect(createLoader(ds, { batchSize: 8, shuffle: true, seed: 4 }));
  assert(a.some((x, i) => x.labels.some((v, j) => v !== d[i].labels[j])));
  // Augmentation really is applied: some zero-padding shows up.
  const pad = Math.fround(Math.fround(0 - Math.fround(0.4914)) / Math.fround(0.2023));
  assert(a[0].images.some((v) => v === pad));
});

Deno.test("loader: partial last batch is kept unless dropLast", async () => {
  const ds = tinyCifar(10, "test");
  const l = createLoader(ds, { batchSize: 4 });
  assertEquals(l.length, 3);
  const batches = await collect(l);
  assertEquals(batches.map((b) => b.size), [4, 4, 2]);
  assertEquals(batches[2].images.length, 2 * 3072);
  assertEquals(Array.from(batches[2].labels), [8, 9]);
  const d = createLoader(ds, { batchSize: 4, dropLast: true });
  assertEquals(d.length, 2);
  assertEquals((await collect(d)).map((b) => b.size), [4, 4]);
  assertThrows(() => createLoader(ds, { batchSize: 0 }), /batchSize 0: use a positive integer/);
});

Deno.test("loader: sharding covers the dataset exactly once across ranks (DistributedSampler padding)", async () => {
  for (const [n, world] of [[10, 3], [12, 4], [7, 8], [1000, 7]]) {
    const counts = new Int32Array(n);
    let total = 0;
    for (let r = 0; r < world; r++) {
      const idx = shardIndices(n, { shuffle: true, seed: 9, epoch: 2, rank: r, worldSize: world });
      assertEquals(idx.length, Math.ceil(n / world));
      for (const i of idx) counts[i]++;
      total += idx.length;
    }
    assertEquals(total, Math.ceil(n / world) * world);
    assert(counts.every((c) => c >= 1));
    // Only the padding (taken from the head of the permutation) repeats.
    assertEquals(counts.reduce((a, c) => a + c - 1, 0), total - n);
  }
  const ds = tinyCifar(10, "test");
  const seen: number[] = [];
  for (let r = 0; r < 3; r++) {
    for (const b of await collect(createLoader(ds, { batchSize: 3, rank: r, worldSize: 3 }))) {
      for (let k = 0; k < b.size; k++) {
        seen.push(Math.round(b.images[k * 3072] * 0.2023 * 255 + 0.4914 * 255));
      }
    }
  }
  assertEquals(seen.sort((a, b) => a - b), [0, 0, 1, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
  // No shuffle: torch's rank::worldSize order with padding from the head.
  assertEquals(Array.from(shardIndices(10, { rank: 1, worldSize: 4 })), [1, 5, 9]);
  assertEquals(Array.from(shardIndices(10, { rank: 3, worldSize: 4 })), [3, 7, 1]);
  assertThrows(() => shardIndices(10, { rank: 3, worldSize: 3 }), /rank 3 and worldSize 3/);
});

Deno.test("loader: start resumes mid-epoch without loading the skipped batches, once", async () => {
  const ds = tinyCifar(50);
  const loaded: number[] = [];
  const load = ds.load.bind(ds);
  ds.load = (indices, options) => {
    loaded.push(...Array.from(indices));
    return load(indices, options);
  };
  const full = await collect(createLoader(ds, { batchSize: 8, shuffle: true, seed: 3 }));
  loaded.length = 0;
  const l = createLoader(ds, { batchSize: 8, shuffle: true, seed: 3 });
  l.start = 4;
  const rest = await collect(l);
  // The same batches 4..6 as the full epoch, and only their samples were read.
  assertEquals(rest, full.slice(4));
  assertEquals(loaded.length, 50 - 4 * 8);
  // The next epoch starts from its beginning again.
  assertEquals((await collect(l)).length, 7);
  l.start = 8;
  await assertRejects(() => collect(l), /from 0 to 7/);
});

Deno.test("rng: deterministic, uniform enough, permutation is a permutation", () => {
  const a = new Random(5);
  const b = new Random(5);
  const xs = Array.from({ length: 1000 }, () => a.next());
  assertEquals(xs, Array.from({ length: 1000 }, () => b.next()));
  assert(xs.every((x) => x >= 0 && x < 1));
  const m = xs.reduce((s, x) => s + x, 0) / xs.length;
  assert(Math.abs(m - 0.5) < 0.05);
  const p = new Random(1).permutation(100);
  assertEquals(Array.from(p).sort((x, y) => x - y), Array.from({ length: 100 }, (_, i) => i));
  assert(seedFrom([1, 2]) !== seedFrom([2, 1]));
  const r = new Random(0);
  for (let k = 0; k < 1000; k++) {
    const v = r.int(3, 7);
    assert(v >= 3 && v < 7 && Number.isInteger(v));
  }
});
