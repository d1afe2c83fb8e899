import { assert, assertEquals, assertRejects } from "./_test_util.ts";
import { ImageNetDataset, openImageNet, scanImageFolder } from "./imagenet.ts";
import { cmykToRgb, encodeJpeg, jpegComponents, loadDecoder, syntheticImage } from "./jpeg.ts";
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
        stats!.errors.some((e) => e.includes("broken.JPEG") && e.includes("not a decodable image")),
      );
      assert(stats!.errors.some((e) => e.includes("truncated.JPEG")));
    } finally {
      ds.close();
    }
    await Deno.mkdir(`${root}/imagenet/train/n00_empty`);
    await assertRejects(
      () => openImageNet(`${root}/imagenet/train`),
      /Cannot use class folder .*n00_empty: it contains no images/,
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

/** Whether the system's libturbojpeg loads (`apt-get install libturbojpeg0`); its tests are skipped without it. */
const hasTurboJpeg = await loadDecoder("turbojpeg").then(() => true, () => false);
if (!hasTurboJpeg) {
  console.log("libturbojpeg not found: TurboJPEG tests skipped (apt-get install libturbojpeg0)");
}

Deno.test({
  name: "TurboJPEG decodes exactly as sharp (both libjpeg-turbo's accurate IDCT)",
  ignore: !hasTurboJpeg,
}, async () => {
  const t = await loadDecoder("turbojpeg");
  const s = await loadDecoder("sharp");
  for (const bytes of jpegs) {
    const [a, b] = [await t(bytes), await s(bytes)];
    assertEquals([a.width, a.height, a.channels], [b.width, b.height, b.channels]);
    assertEquals(a.data, b.data);
  }
  await assertRejects(() => t(new Uint8Array([1, 2, 3])), /not a JPEG/);
  await assertRejects(() => t(jpegs[2].subarray(0, jpegs[2].length >> 1)), /Premature end/);
});

/** Writes an odd-files class folder: gray, CMYK, PNG-as-.JPEG, empty and truncated files. */
async function writeOddFiles(dir: string): Promise<void> {
  const sharp = (await import("sharp")).default;
  const img = syntheticImage({ width: 60, height: 44 }, 5);
  const raw = sharp(img.data, { raw: { width: 60, height: 44, channels: 4 } }).removeAlpha();
  await Deno.mkdir(`${dir}/odd`, { recursive: true });
  await Deno.writeFile(
    `${dir}/odd/gray.JPEG`,
    await raw.clone().toColourspace("b-w").jpeg().toBuffer(),
  );
  await Deno.writeFile(
    `${dir}/odd/cmyk.JPEG`,
    await raw.clone().toColourspace("cmyk").jpeg().toBuffer(),
  );
  await Deno.writeFile(`${dir}/odd/png.JPEG`, await raw.clone().png().toBuffer());
  await Deno.writeFile(`${dir}/odd/empty.JPEG`, new Uint8Array(0));
  await Deno.writeFile(`${dir}/odd/truncated.JPEG`, jpegs[2].subarray(0, jpegs[2].length >> 1));
  await Deno.writeFile(`${dir}/odd/x_ok.JPEG`, jpegs[1]);
}

Deno.test("ImageNet odd files as PIL treats them: gray, CMYK, PNG named .JPEG decode; empty and truncated are skipped and counted", async () => {
  const root = await Deno.makeTempDir();
  try {
    await writeOddFiles(root);
    const cmykBytes = await Deno.readFile(`${root}/odd/cmyk.JPEG`);
    assertEquals(jpegComponents(cmykBytes), 4);
    assertEquals(jpegComponents(jpegs[0]), 3);
    const sharp = (await import("sharp")).default;
    const rawCmyk = await sharp(cmykBytes).pipelineColourspace("cmyk").toColourspace("cmyk").raw()
      .toBuffer();
    const decoders = hasTurboJpeg ? ["turbojpeg", "sharp", undefined] as const : ["sharp"] as const;
    for (const name of decoders) {
      const decode = await loadDecoder(name);
      const gray = await decode(await Deno.readFile(`${root}/odd/gray.JPEG`));
      assertEquals([gray.channels, gray.width, gray.height], [3, 60, 44], `${name}`);
      assert(gray.data[0] === gray.data[1] && gray.data[1] === gray.data[2]);
      // CMYK goes through PIL's formula, not libvips's ICC profile.
      assertEquals((await decode(cmykBytes)).data, cmykToRgb(rawCmyk, 60 * 44), `${name}`);
    }
    // The default chain hands what is not a JPEG to sharp.
    const png = await (await loadDecoder())(await Deno.readFile(`${root}/odd/png.JPEG`));
    assertEquals([png.width, png.height, png.channels], [60, 44, 3]);
    for (const exact of [true, false]) {
      const ds = await openImageNet(root, { cropSize: 16, workers: 2, exact });
      try {
        assertEquals(ds.length, 6);
        let stats: EpochStats | undefined;
        let seen = 0;
        for await (const b of createLoader(ds, { batchSize: 4, onEpochEnd: (s) => stats = s })) {
          seen += b.size;
          assert(b.images.every(Number.isFinite));
        }
        assertEquals([seen, stats?.skipped], [4, 2], `exact ${exact}`);
        assert(stats!.errors.some((e) => e.includes("empty.JPEG") && e.includes("empty file")));
        assert(stats!.errors.some((e) => e.includes("truncated.JPEG")));
      } finally {
        ds.close();
      }
    }
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});

Deno.test("cmykToRgb matches PIL's convert('RGB')", () => {
  // PIL 9: Image.fromarray(CMYK [[0,200,0,40],[30,200,0,40]]).convert("RGB").
  assertEquals(
    Array.from(cmykToRgb(new Uint8Array([0, 200, 0, 40, 30, 200, 0, 40]), 2)),
    [215, 46, 215, 190, 46, 215],
  );
});

Deno.test("ImageNet fast path: same boxes and flips as the exact one, pixels within about 1/255", async () => {
  const root = await Deno.makeTempDir();
  try {
    const samples = [];
    for (let i = 0; i < 8; i++) {
      const width = 240 + 29 * i;
      const height = 250 + 17 * ((i * 3) % 8);
      const path = `${root}/${i}.JPEG`;
      await Deno.writeFile(
        path,
        await encodeJpeg(syntheticImage({ width, height }, i), { quality: 90 }),
      );
      samples.push({ path, offset: -1, size: 0, label: i });
    }
    const index = { classes: samples.map((_, i) => String(i)), samples };
    const idx = samples.map((_, i) => i);
    for (const split of ["train", "test"] as const) {
      const exact = new ImageNetDataset(index, { split, workers: 0 });
      const fast = new ImageNetDataset(index, { split, workers: 0, exact: false });
      const a = await exact.load(idx, { seed: 7, epoch: 0 });
      const b = await fast.load(idx, { seed: 7, epoch: 0 });
      assertEquals([a.size, b.size], [8, 8]);
      assertEquals(b.labels, a.labels);
      // Mean |difference| in 0..255 levels (undoing Normalize's std).
      const plane = 224 * 224;
      const std = [0.229, 0.224, 0.225];
      let sum = 0;
      for (let i = 0; i < a.images.length; i++) {
        sum += Math.abs(a.images[i] - b.images[i]) * std[Math.floor(i / plane) % 3] * 255;
      }
      const mean = sum / a.images.length;
      assert(mean < 1, `${split}: mean |fast − exact| ${mean.toFixed(3)} levels`);
    }
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});
