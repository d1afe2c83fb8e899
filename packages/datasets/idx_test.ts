import { gzipSync } from "node:zlib";
import { assertEquals, assertRejects, assertThrows } from "./_test_util.ts";
import { parseIdx, readIdx } from "./idx.ts";
import { loadMnist } from "./mnist.ts";
import { openDataset } from "./dataset.ts";

/** Builds IDX bytes with the given magic and dims; data is i*7 mod 256 (labels: i mod 10). */
export function idxBytes(magic: number, dims: number[], fill?: (i: number) => number): Uint8Array {
  const n = dims.reduce((a, b) => a * b, 1);
  const out = new Uint8Array(4 + 4 * dims.length + n);
  const v = new DataView(out.buffer);
  v.setUint32(0, magic);
  dims.forEach((d, i) => v.setUint32(4 + 4 * i, d));
  for (let i = 0; i < n; i++) out[4 + 4 * dims.length + i] = fill ? fill(i) : (i * 7) & 255;
  return out;
}

async function writeMnist(dir: string, n: number, gz: boolean): Promise<void> {
  await Deno.mkdir(dir, { recursive: true });
  for (const p of ["train", "t10k"]) {
    const img = idxBytes(0x803, [n, 28, 28]);
    const lab = idxBytes(0x801, [n], (i) => i % 10);
    const w = (name: string, b: Uint8Array) =>
      Deno.writeFile(`${dir}/${name}${gz ? ".gz" : ""}`, gz ? gzipSync(b) : b);
    await w(`${p}-images-idx3-ubyte`, img);
    await w(`${p}-labels-idx1-ubyte`, lab);
  }
}

Deno.test("IDX: raw and gzipped MNIST files load the same", async () => {
  const root = await Deno.makeTempDir();
  try {
    await writeMnist(`${root}/a/mnist`, 5, false);
    await writeMnist(`${root}/b/mnist`, 5, true);
    const a = await loadMnist(`${root}/a/mnist`);
    const b = await loadMnist(`${root}/b/mnist`, { split: "test" });
    assertEquals(a.count, 5);
    assertEquals(a.images, b.images);
    assertEquals(Array.from(a.labels), [0, 1, 2, 3, 4]);
    const ds = await openDataset("mnist", {
      dataDir: `${root}/b`,
      download: false,
      searchSystem: false,
    });
    assertEquals(ds.length, 5);
    assertEquals([ds.info.channels, ds.info.height, ds.info.width, ds.info.classes], [
      1,
      28,
      28,
      10,
    ]);
    const batch = await ds.load([1], { seed: 0, epoch: 0 });
    // Normalize only: (v/255 - 0.1307)/0.3081 in float32.
    const v = a.images[784];
    assertEquals(
      batch.images[0],
      Math.fround(Math.fround(Math.fround(v / 255) - Math.fround(0.1307)) / Math.fround(0.3081)),
    );
    assertEquals(batch.labels[0], 1);
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});

Deno.test("IDX: wrong magic, truncated data and corrupt gzip name the file", async () => {
  assertThrows(
    () =>
      parseIdx(idxBytes(0, [2, 2, 2]), { name: "/x/train-images-idx3-ubyte", expect: "images" }),
    /^Error: Cannot read \/x\/train-images-idx3-ubyte: IDX magic is 0x00000000, expected 0x00000803 \(images\)/,
  );
  assertThrows(
    () =>
      parseIdx(idxBytes(0x803, [10, 28, 28]).subarray(0, 1000), { name: "f", expect: "images" }),
    /Cannot read f: IDX data is truncated, header declares 10×28×28 = 7840 bytes but 984 follow/,
  );
  assertThrows(
    () => parseIdx(new Uint8Array([0, 0, 8, 3, 0]), { name: "g" }),
    /Cannot read g: IDX header is truncated/,
  );
  const dir = await Deno.makeTempDir();
  try {
    const gz = gzipSync(idxBytes(0x801, [100]));
    await Deno.writeFile(`${dir}/l.gz`, gz.subarray(0, gz.length - 20));
    await assertRejects(
      () => readIdx(`${dir}/l.gz`),
      /Cannot read .*l\.gz: gzip data is corrupt or truncated/,
    );
    await Deno.writeFile(`${dir}/m`, idxBytes(0x803, [2, 2, 2]));
    await assertRejects(
      () => readIdx(`${dir}/m`, { expect: "labels" }),
      /expected 0x00000801 \(labels\)/,
    );
    await writeMnist(`${dir}/mnist`, 3, false);
    await Deno.writeFile(`${dir}/mnist/train-labels-idx1-ubyte`, idxBytes(0x801, [4]));
    await assertRejects(() => loadMnist(`${dir}/mnist`), /has 4 labels but .* has 3 images/);
    await assertRejects(
      () => loadMnist(`${dir}/nothing`),
      /Cannot find .*nothing\/train-images-idx3-ubyte\(\.gz\)/,
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
