import { assert, assertEquals, assertRejects } from "./_test_util.ts";
import { ImageNetDataset, openImageNet, scanImageFolder } from "./imagenet.ts";
import { encodeJpeg, loadDecoder, syntheticImage } from "./jpeg.ts";
import { openDataset } from "./dataset.ts";
import { createLoader, type EpochStats } from "./loader.ts";
import { makeTar } from "./_tar.ts";

const jpegs: Uint8Array[] = [];
for (let i = 0; i < 3; i++) {
  jpegs.push(
    await encodeJpeg(syntheticImage({ width: 40 + 8 * i, height: 30 + 4 * i }, i), { quality: 80 }),
  );
}

/** imagenet/{train,val}/<class>/*.JPEG with 3 classes × 2 images. */
async function writeFolder(root: string): Promise<void> {
  for (const split of ["train", "val"]) {
    for (const cls of ["n02", "n01", "n03"]) {
      const d = `${root}/imagenet/${split}/${cls}`;
      await Deno.mkdir(d, { recursive: true });
      for (let k = 0; k < 2; k++) {
        await Deno.writeFile(`${d}/${cls}_${k}.JPEG`, jpegs[(k + cls.length) % 3]);
      }
    }
  }
}

Deno.test("ImageNet folder: sorted classes, train and val transforms, determinism", async () => {
  const root = await Deno.makeTempDir();
  try {
    await writeFolder(root);
    const idx = await scanImageFolder(`${root}/imagenet/train`);
    assertEquals(idx.classes, ["n01", "n02", "n03"]);
    assertEquals(idx.samples.map((s) => s.label), [0, 0, 1, 1, 2, 2]);
    const train = await openDataset("imagenet", { dataDir: root, cropSize: 24, workers: 2 });
    const val = await openDataset("imagenet", {
      dataDir: root,
      split: "test",
      cropSize: 24,
      workers: 0,
    });
    try {
      assertEquals([train.length, train.info.classes, train.info.height, train.augment], [
        6,
        3,
        24,
        true,
      ]);
      assertEquals([val.length, val.augment], [6, false]);
      const a = await train.load([0, 3, 5], { seed: 1, epoch: 0 });
      const b = await train.load([0, 3, 5], { seed: 1, epoch: 0 });
      const c = await train.load([0, 3, 5], { seed: 1, epoch: 1 });
      assertEquals([a.size, a.images.length], [3, 3 * 3 * 24 * 24]);
      assertEquals(Array.from(a.labels), [0, 1, 2]);
      assertEquals(a.images, b.images);
      assert(a.images.some((v, i) => v !== c.images[i]));
      // Workers and main thread give identical results.
      const local = new ImageNetDataset(idx, { cropSize: 24, workers: 0 });
      assertEquals((await local.load([0, 3, 5], { seed: 1, epoch: 0 })).images, a.images);
      const v = await val.load([1], { seed: 0, epoch: 0 });
      assertEquals(v.images.length, 3 * 24 * 24);
      let mean = 0;
      for (const x of v.images) mean += x;
      assert(Math.abs(mean / v.images.length) < 3);
    } finally {
      train.close();
      val.close();
    }
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});

Deno.test("ImageNet: undecodable JPEGs are skipped and counted at epoch end; empty class folder errors", async () => {
  const root = await Deno.makeTempDir();
  try {
    await writeFolder(root);
    const d = `${root}/imagenet/train/n02`;
    await Deno.writeFile(`${d}/broken.JPEG`, new TextEncoder().encode("this is not a jpeg"));
    await Deno.writeFile(`${d}/truncated.JPEG`, jpegs[0].subarray(0, 200));
    const ds = await openImageNet(`${root}/imagenet/train`, { cropSize: 16, workers: 2 });
    try {
      assertEquals(ds.length, 8);
      let stats: EpochStats | undefined;
      const loader = createLoader(ds, { batchSize: 3, onEpochEnd: (s) => stats = s });
      let seen = 0;
      for await (const b of loader) seen += b.size;
      assertEquals(seen, 6);
      assertEquals(stats?.skipped, 2);
      assertEquals(loader.lastEpoch?.samples, 6);
      assert(
        stats!.errors.some((e) => e.includes("broken.JPEG") && e.includes("not a decodable JPEG")),
      );
      assert(stats!.errors.some((e) => e.includes("truncated.JPEG")));
    } finally {
      ds.close();
    }
    await Deno.mkdir(`${root}/imagenet/train/n00_empty`);
    await assertRejects(
      () => openImageNet(`${root}/imagenet/train`),
      /Cannot use class folder .*n00_empty: it contains no \.JPEG\/\.jpg files/,
    );
    await assertRejects(
      () => openDataset("imagenet", { dataDir: `${root}/none`, searchSystem: false }),
      /Cannot find ImageNet under .*none\/imagenet: put train\/<class>\/\*\.JPEG/,
    );
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});

Deno.test("ImageNet WebDataset shards: key.jpg + key.cls pairs read by offset", async () => {
  const root = await Deno.makeTempDir();
  try {
    const dir = `${root}/imagenet/train`;
    await Deno.mkdir(dir, { recursive: true });
    const enc = new TextEncoder();
    for (let s = 0; s < 2; s++) {
      const files = [];
      for (let k = 0; k < 3; k++) {
        const key = `shard${s}/sample${k}`;
        files.push({ name: `${key}.jpg`, data: jpegs[k] });
        files.push({ name: `${key}.cls`, data: enc.encode(String(s * 3 + k + 990)) });
      }
      files.push({ name: "shard/orphan.jpg", data: jpegs[0] });
      await Deno.writeFile(`${dir}/shard-${s}.tar`, makeTar(files));
    }
    const ds = await openDataset("imagenet", {
      imagenetPath: `${root}/imagenet`,
      cropSize: 16,
      workers: 1,
    });
    try {
      assertEquals([ds.length, ds.info.classes], [6, 996]);
      assertEquals(Array.from({ length: 6 }, (_, i) => ds.labelOf(i)), [
        990,
        991,
        992,
        993,
        994,
        995,
      ]);
      const labels: number[] = [];
      for await (const b of createLoader(ds, { batchSize: 4 })) labels.push(...b.labels);
      assertEquals(labels, [990, 991, 992, 993, 994, 995]);
      // Pixels equal those decoded from the same bytes in a folder.
      const decode = await loadDecoder();
      const img = await decode(jpegs[1]);
      assertEquals([img.width, img.height], [48, 34]);
    } finally {
      ds.close();
    }
    await Deno.writeFile(
      `${dir}/shard-9.tar`,
      makeTar([{ name: "a.jpg", data: jpegs[0] }, { name: "a.cls", data: enc.encode("cat") }]),
    );
    await assertRejects(
      () => openImageNet(dir),
      /shard-9\.tar: a\.cls is "cat", expected a decimal class index/,
    );
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});

Deno.test("JPEG decoders agree (sharp vs jsquash) within JPEG IDCT differences", async () => {
  const s = await loadDecoder("sharp");
  const j = await loadDecoder("jsquash");
  const a = await s(jpegs[2]);
  const b = await j(jpegs[2]);
  assertEquals([a.width, a.height, b.width, b.height], [56, 38, 56, 38]);
  let maxd = 0;
  for (let i = 0; i < a.width * a.height; i++) {
    for (let c = 0; c < 3; c++) {
      maxd = Math.max(maxd, Math.abs(a.data[i * 3 + c] - b.data[i * 4 + c]));
    }
  }
  assert(maxd <= 8, `max diff ${maxd}`);
  await assertRejects(() => s(new Uint8Array([1, 2, 3])), /./);
  await assertRejects(() => j(new Uint8Array([1, 2, 3])), /./);
});
