import { assert, assertEquals } from "./_test_util.ts";
import { openDataset } from "./dataset.ts";
import { ArrayDataset } from "./dataset.ts";
import { createLoader } from "./loader.ts";

const ROOT = "/usr/share/datasets";
let present = false;
try {
  present = Deno.statSync(`${ROOT}/fashion-mnist/train-images-idx3-ubyte.gz`).isFile;
} catch {
  present = false;
}

Deno.test({
  name: "Fashion-MNIST (real files): labels, first image checksum, pixel mean/std",
  ignore: !present,
  fn: async () => {
    const train = await openDataset("fashion-mnist", {
      dataDir: ROOT,
      download: false,
    }) as ArrayDataset;
    assertEquals([train.length, train.info.trainSize, train.augment], [60000, 60000, false]);
    const hist = new Array(10).fill(0);
    for (const l of train.data.labels) hist[l]++;
    assertEquals(hist, new Array(10).fill(6000));
    let sum0 = 0;
    for (let i = 0; i < 784; i++) sum0 += train.data.images[i];
    assertEquals(sum0, 76247); // Computed independently with Python gzip.
    assertEquals(train.data.labels[0], 9);
    let s = 0;
    let s2 = 0;
    for (const v of train.data.images) {
      s += v / 255;
      s2 += (v / 255) ** 2;
    }
    const n = train.data.images.length;
    const mean = s / n;
    const std = Math.sqrt(s2 / n - mean * mean);
    assert(Math.abs(mean - 0.2860) < 5e-4, `mean ${mean}`);
    assert(Math.abs(std - 0.3530) < 5e-4, `std ${std}`);
    const test = await openDataset("fashion-mnist", {
      dataDir: ROOT,
      split: "test",
      download: false,
    });
    assertEquals(test.length, 10000);
    // Normalized batches have about zero mean and unit std.
    let bs = 0;
    let bs2 = 0;
    let count = 0;
    for await (const b of createLoader(test, { batchSize: 1000 })) {
      for (const v of b.images) {
        bs += v;
        bs2 += v * v;
      }
      count += b.images.length;
    }
    const bm = bs / count;
    assert(Math.abs(bm) < 0.02, `normalized mean ${bm}`);
    assert(Math.abs(Math.sqrt(bs2 / count - bm * bm) - 1) < 0.02);
  },
});

Deno.test({
  name: "data roots: AGD_DATA without the dataset still finds /usr/share/datasets",
  ignore: !present,
  permissions: { env: true, read: true },
  fn: async () => {
    const old = Deno.env.get("AGD_DATA");
    Deno.env.set("AGD_DATA", "/nonexistent-agd");
    try {
      const ds = await openDataset("fashion-mnist", { split: "test", download: false });
      assertEquals(ds.length, 10000);
    } finally {
      if (old === undefined) Deno.env.delete("AGD_DATA");
      else Deno.env.set("AGD_DATA", old);
    }
  },
});
