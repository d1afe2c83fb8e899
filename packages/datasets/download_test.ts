import { gzipSync } from "node:zlib";
import { createHash } from "node:crypto";
import { assert, assertEquals, assertRejects } from "./_test_util.ts";
import { downloadDataset, downloadFiles, extractTar, md5File } from "./download.ts";
import { makeTar } from "./_tar.ts";
import { openDataset } from "./dataset.ts";
import { cifarBytes } from "./cifar_test.ts";

const md5 = (b: Uint8Array) => createHash("md5").update(b).digest("hex");

function stubFetch(files: Record<string, Uint8Array>): typeof fetch {
  return ((input: string | URL | Request) => {
    const url = String(input instanceof Request ? input.url : input);
    const body = files[url];
    return Promise.resolve(
      body ? new Response(body.slice()) : new Response("nope", { status: 404 }),
    );
  }) as typeof fetch;
}

const offline: typeof fetch = () =>
  Promise.reject(new TypeError("error sending request: dns error"));

Deno.test("download: MD5 verified, tar.gz extracted, archive removed, cached afterwards", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const tgz = gzipSync(makeTar([
      { name: "cifar-10-batches-bin/test_batch.bin", data: cifarBytes(2, "cifar10") },
      { name: "cifar-10-batches-bin/readme.html", data: new TextEncoder().encode("hi") },
    ]));
    let calls = 0;
    const f = stubFetch({ "http://x/c.tar.gz": tgz, "http://x/a.gz": new Uint8Array([1, 2, 3]) });
    const counting: typeof fetch = (i, init) => (calls++, f(i, init));
    await downloadFiles(
      [
        {
          filename: "c.tar.gz",
          urls: ["http://dead/c.tar.gz", "http://x/c.tar.gz"],
          md5: md5(tgz),
          extract: true,
        },
        { filename: "a.gz", urls: ["http://x/a.gz"], md5: md5(new Uint8Array([1, 2, 3])) },
      ],
      dir,
      { fetch: counting },
    );
    assertEquals(
      (await Deno.readFile(`${dir}/cifar-10-batches-bin/test_batch.bin`)).length,
      2 * 3073,
    );
    assertEquals(await md5File(`${dir}/a.gz`), md5(new Uint8Array([1, 2, 3])));
    await assertRejects(() => Deno.stat(`${dir}/c.tar.gz`), /No such file/);
    assertEquals(calls, 3);
    // Second call finds a.gz with the right MD5 and does not fetch it again.
    await downloadFiles(
      [{ filename: "a.gz", urls: ["http://x/a.gz"], md5: md5(new Uint8Array([1, 2, 3])) }],
      dir,
      { fetch: offline },
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("download: checksum mismatch is rejected and the partial file removed", async () => {
  const dir = await Deno.makeTempDir();
  try {
    await assertRejects(
      () =>
        downloadFiles([{ filename: "a.gz", urls: ["http://x/a.gz"], md5: "0".repeat(32) }], dir, {
          fetch: stubFetch({ "http://x/a.gz": new Uint8Array([9]) }),
        }),
      /Cannot download a\.gz \(http:\/\/x\/a\.gz: MD5 is [0-9a-f]{32}, expected 0{32}\): download it yourself and put it at .*a\.gz/,
    );
    assertEquals([...Deno.readDirSync(dir)].length, 0);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("download: offline gives an error naming the files and where to put them", async () => {
  const dir = await Deno.makeTempDir();
  try {
    await assertRejects(
      () => downloadDataset("mnist", dir, { fetch: offline }),
      /Cannot download mnist into .*\/mnist \(https:\/\/ossci-datasets\.s3\.amazonaws\.com\/mnist\/train-images-idx3-ubyte\.gz: error sending request.*\): fetch train-images-idx3-ubyte\.gz .* and put them in .*\/mnist\/, or pass dataDir\./,
    );
    await assertRejects(
      () =>
        openDataset("cifar100", {
          dataDir: dir,
          searchSystem: false,
          downloadOptions: { fetch: offline },
        }),
      /Cannot download cifar100 .*cifar-100-binary\.tar\.gz .*extract it so that .*\/cifar-100-binary\/ exists/,
    );
    await assertRejects(
      () => openDataset("cifar10", { dataDir: dir, searchSystem: false, download: false }),
      /Cannot find cifar10 under .*: put data_batch_1\.bin, .*test_batch\.bin in .*\/cifar-10-batches-bin\/, or allow download\./,
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("extractTar refuses paths outside the target folder", async () => {
  const dir = await Deno.makeTempDir();
  try {
    await Deno.writeFile(
      `${dir}/evil.tar`,
      makeTar([{ name: "../evil.txt", data: new Uint8Array(1) }]),
    );
    await assertRejects(
      () => extractTar(`${dir}/evil.tar`, `${dir}/out`),
      /entry "\.\.\/evil\.txt" points outside/,
    );
    const tgz = gzipSync(makeTar([{ name: "x/y.bin", data: new Uint8Array(700).fill(7) }]));
    await Deno.writeFile(`${dir}/t.tgz`, tgz.subarray(0, tgz.length - 30));
    await assertRejects(
      () => extractTar(`${dir}/t.tgz`, `${dir}/out2`),
      /Cannot (extract|read) .*t\.tgz/,
    );
    assert(true);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
