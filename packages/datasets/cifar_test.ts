import { assertEquals, assertRejects, assertThrows } from "./_test_util.ts";
import { loadCifar, parseCifar } from "./cifar.ts";
import { openDataset } from "./dataset.ts";

/** CIFAR records: label(s) then 3072 pixel bytes equal to (i + p) mod 256. */
export function cifarBytes(n: number, variant: "cifar10" | "cifar100", first = 0): Uint8Array {
  const head = variant === "cifar100" ? 2 : 1;
  const rec = head + 3072;
  const out = new Uint8Array(n * rec);
  for (let i = 0; i < n; i++) {
    const g = first + i;
    if (variant === "cifar100") {
      out[i * rec] = g % 20;
      out[i * rec + 1] = (g * 3) % 100;
    } else out[i * rec] = g % 10;
    for (let p = 0; p < 3072; p++) out[i * rec + head + p] = (g + p) & 255;
  }
  return out;
}

Deno.test("CIFAR-10: five train batches and the test batch", async () => {
  const root = await Deno.makeTempDir();
  try {
    const dir = `${root}/cifar-10-batches-bin`;
    await Deno.mkdir(dir);
    for (let b = 1; b <= 5; b++) {
      await Deno.writeFile(`${dir}/data_batch_${b}.bin`, cifarBytes(3, "cifar10", (b - 1) * 3));
    }
    await Deno.writeFile(`${dir}/test_batch.bin`, cifarBytes(4, "cifar10"));
    const train = await loadCifar(dir);
    assertEquals(train.count, 15);
    assertEquals(Array.from(train.labels), Array.from({ length: 15 }, (_, i) => i % 10));
    assertEquals(train.images[7 * 3072 + 5], 12);
    const ds = await openDataset("cifar10", { dataDir: root, split: "test", download: false });
    assertEquals([ds.length, ds.augment, ds.info.testSize], [4, false, 4]);
    const b = await ds.load([2], { seed: 0, epoch: 0 });
    assertEquals(b.images.length, 3072);
    // Channel 1 pixel 0 is byte 1024 of the record: (2 + 1024) & 255 = 2.
    const expect = Math.fround(
      Math.fround(Math.fround(2 / 255) - Math.fround(0.4822)) / Math.fround(0.1994),
    );
    assertEquals(b.images[1024], expect);
    const tr = await openDataset("cifar10", { dataDir: root, download: false });
    assertEquals(tr.augment, true);
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});

Deno.test("CIFAR-100: fine labels by default, coarse on request", async () => {
  const root = await Deno.makeTempDir();
  try {
    const dir = `${root}/cifar-100-binary`;
    await Deno.mkdir(dir);
    await Deno.writeFile(`${dir}/train.bin`, cifarBytes(50, "cifar100"));
    await Deno.writeFile(`${dir}/test.bin`, cifarBytes(10, "cifar100"));
    const fine = await openDataset("cifar100", { dataDir: root, download: false });
    assertEquals([fine.length, fine.info.classes, fine.labelOf(7)], [50, 100, 21]);
    const coarse = await openDataset("cifar100", {
      dataDir: root,
      split: "test",
      labels: "coarse",
      download: false,
    });
    assertEquals([coarse.length, coarse.info.classes, coarse.labelOf(7)], [10, 20, 7]);
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});

Deno.test("CIFAR: a size that is not a multiple of the record names the file", async () => {
  assertThrows(
    () => parseCifar(new Uint8Array(3073 * 2 + 5), { name: "/d/data_batch_1.bin" }),
    /Cannot read \/d\/data_batch_1\.bin: size 6151 is not a multiple of the 3073-byte cifar10 record/,
  );
  assertThrows(
    () => parseCifar(new Uint8Array(3073), { name: "t.bin", variant: "cifar100" }),
    /not a multiple of the 3074-byte cifar100 record/,
  );
  const bad = cifarBytes(1, "cifar10");
  bad[0] = 42;
  assertThrows(() => parseCifar(bad, { name: "b" }), /record 0 has label 42, expected below 10/);
  const root = await Deno.makeTempDir();
  try {
    await Deno.mkdir(`${root}/cifar-10-batches-bin`);
    await assertRejects(
      () => loadCifar(`${root}/cifar-10-batches-bin`),
      /Cannot read .*data_batch_1\.bin: .*put the cifar10 binary release there or enable download/,
    );
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});
