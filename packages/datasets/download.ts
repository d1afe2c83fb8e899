/**
 * Download on first use with MD5 verification (checksums from torchvision)
 * and tar.gz extraction. Tests inject `fetch`, so they never hit the network.
 *
 * @module
 */

import { tarFiles } from "./_tar.ts";
import type { DatasetName } from "./info.ts";
import { datasetSubdir } from "./paths.ts";

/** A file published at a URL with its MD5 checksum. */
export interface RemoteFile {
  /** File name, saved under the target folder. */
  filename: string;
  /** Candidate URLs, tried in order. */
  urls: string[];
  /** Published MD5 checksum (lowercase hex). */
  md5: string;
  /** Extract this `.tar.gz` into the target folder and delete it afterwards. */
  extract?: boolean;
}

const MNIST_MIRRORS = [
  "https://ossci-datasets.s3.amazonaws.com/mnist/",
  "http://yann.lecun.com/exdb/mnist/",
];
const FASHION_MIRRORS = ["http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/"];

function files(mirrors: string[], list: [string, string][]): RemoteFile[] {
  return list.map(([filename, md5]) => ({ filename, md5, urls: mirrors.map((m) => m + filename) }));
}

/**
 * Published files of the downloadable datasets, with torchvision's MD5 lists
 * (`MNIST.resources`, `FashionMNIST.resources`) and the CIFAR binary archives.
 * MNIST files go to `<root>/mnist/`, CIFAR archives are extracted into `<root>/`.
 */
export const REMOTE_FILES: Readonly<Record<Exclude<DatasetName, "imagenet">, RemoteFile[]>> = {
  "mnist": files(MNIST_MIRRORS, [
    ["train-images-idx3-ubyte.gz", "f68b3c2dcbeaaa9fbdd348bbdeb94873"],
    ["train-labels-idx1-ubyte.gz", "d53e105ee54ea40749a09fcbcd1e9432"],
    ["t10k-images-idx3-ubyte.gz", "9fb629c4189551a2d022fa330f9573f3"],
    ["t10k-labels-idx1-ubyte.gz", "ec29112dd5afa0611ce80d1b7f02629c"],
  ]),
  "fashion-mnist": files(FASHION_MIRRORS, [
    ["train-images-idx3-ubyte.gz", "8d4fb7e6c68d591d4c3dfef9ec88bf0d"],
    ["train-labels-idx1-ubyte.gz", "25c81989df183df01b3e8a0aad5dffbe"],
    ["t10k-images-idx3-ubyte.gz", "bef4ecab320f06d8554ea6380940ec79"],
    ["t10k-labels-idx1-ubyte.gz", "bb300cfdad3c16e7a12a480ee83cd310"],
  ]),
  "cifar10": [{
    filename: "cifar-10-binary.tar.gz",
    urls: ["https://www.cs.toronto.edu/~kriz/cifar-10-binary.tar.gz"],
    md5: "c32a1d4ab5d03f1284b67883e8d87530",
    extract: true,
  }],
  "cifar100": [{
    filename: "cifar-100-binary.tar.gz",
    urls: ["https://www.cs.toronto.edu/~kriz/cifar-100-binary.tar.gz"],
    md5: "03b5dce01913d631647c71ecec9e9cb8",
    extract: true,
  }],
};

/**
 * Computes the MD5 of a file, streaming it.
 *
 * @param path The file path.
 * @returns The lowercase hex digest.
 */
export async function md5File(path: string): Promise<string> {
  // Web Crypto has no MD5; node:crypto is loaded here, not at module load.
  const { createHash } = await import("node:crypto");
  const hash = createHash("md5");
  using file = await Deno.open(path);
  for await (const chunk of file.readable) hash.update(chunk);
  return hash.digest("hex");
}

/**
 * Extracts a `.tar.gz` (or plain `.tar`) archive into a folder, refusing
 * absolute paths and `..` components.
 *
 * @param archive The archive path.
 * @param dest The destination folder (created if needed).
 * @returns The extracted file paths.
 */
export async function extractTar(archive: string, dest: string): Promise<string[]> {
  const file = await Deno.open(archive);
  const head = new Uint8Array(2);
  await file.read(head);
  await file.seek(0, Deno.SeekMode.Start);
  let stream: ReadableStream<Uint8Array> = file.readable;
  if (head[0] === 0x1f && head[1] === 0x8b) {
    stream = stream.pipeThrough(
      new DecompressionStream("gzip") as unknown as TransformStream<Uint8Array, Uint8Array>,
    );
  }
  const written: string[] = [];
  try {
    for await (const entry of tarFiles(stream, archive)) {
      const parts = entry.name.split("/").filter((p) => p !== "" && p !== ".");
      if (entry.name.startsWith("/") || parts.includes("..")) {
        throw new Error(
          `Cannot extract ${archive}: entry "${entry.name}" points outside the target folder; use a trusted archive.`,
        );
      }
      const path = `${dest}/${parts.join("/")}`;
      await Deno.mkdir(path.slice(0, path.lastIndexOf("/")), { recursive: true });
      await Deno.writeFile(path, entry.data);
      written.push(path);
    }
  } catch (e) {
    const msg = (e as Error).message;
    if (msg.startsWith("Cannot")) throw e;
    throw new Error(
      `Cannot extract ${archive}: ${msg}; delete it and download it again.`,
    );
  }
  return written;
}

/** Options for {@linkcode downloadFiles}. */
export interface DownloadOptions {
  /** The fetch function (default `globalThis.fetch`); tests pass a stub. */
  fetch?: typeof fetch;
  /** Called with progress messages (default: silent). */
  log?: (message: string) => void;
}

/**
 * Downloads files into a folder unless they are already there with the right
 * MD5, verifies each checksum, and extracts archives marked `extract`.
 *
 * @param files The files to fetch.
 * @param dir The target folder (created if needed).
 * @param options The fetch function and a progress logger.
 * @returns Resolves when every file is present and verified.
 */
export async function downloadFiles(
  files: readonly RemoteFile[],
  dir: string,
  options: DownloadOptions = {},
): Promise<void> {
  const doFetch = options.fetch ?? globalThis.fetch;
  await Deno.mkdir(dir, { recursive: true });
  for (const f of files) {
    const path = `${dir}/${f.filename}`;
    let ok = false;
    try {
      ok = (await md5File(path)) === f.md5;
    } catch {
      // Not there yet.
    }
    const failures: string[] = [];
    for (const url of ok ? [] : f.urls) {
      const part = `${path}.part`;
      try {
        options.log?.(`Downloading ${url}`);
        const res = await doFetch(url);
        if (!res.ok || !res.body) throw new Error(`HTTP ${res.status}`);
        await Deno.writeFile(part, res.body);
        const md5 = await md5File(part);
        if (md5 !== f.md5) {
          await Deno.remove(part);
          throw new Error(`MD5 is ${md5}, expected ${f.md5}`);
        }
        await Deno.rename(part, path);
        ok = true;
        break;
      } catch (e) {
        await Deno.remove(part).catch(() => {});
        failures.push(`${url}: ${(e as Error).message}`);
      }
    }
    if (!ok) {
      const err = new Error(
        `Cannot download ${f.filename} (${
          failures.join("; ")
        }): download it yourself and put it at ${path} (MD5 ${f.md5}).`,
      );
      (err as Error & { failures?: string[] }).failures = failures;
      throw err;
    }
    if (f.extract) {
      options.log?.(`Extracting ${path}`);
      await extractTar(path, dir);
      await Deno.remove(path);
    }
  }
}

/**
 * Downloads MNIST, Fashion-MNIST, CIFAR-10 or CIFAR-100 into a data root
 * (`<root>/mnist/`, `<root>/fashion-mnist/`, `<root>/cifar-10-batches-bin/`,
 * `<root>/cifar-100-binary/`). On failure the error says which files to put where.
 *
 * @param name The dataset.
 * @param root The data root.
 * @param options The fetch function and a progress logger.
 * @returns The dataset folder.
 */
export async function downloadDataset(
  name: Exclude<DatasetName, "imagenet">,
  root: string,
  options: DownloadOptions = {},
): Promise<string> {
  const remote = REMOTE_FILES[name];
  const sub = datasetSubdir(name);
  const target = remote[0].extract ? root : `${root}/${sub}`;
  try {
    await downloadFiles(remote, target, options);
  } catch (e) {
    const list = remote.map((f) => `${f.filename} (${f.urls[0]})`).join(", ");
    const where = remote[0].extract
      ? `extract it so that ${root}/${sub}/ exists`
      : `put them in ${root}/${sub}/`;
    const failures = (e as Error & { failures?: string[] }).failures;
    const why = failures ? failures.join("; ") : (e as Error).message;
    throw new Error(
      `Cannot download ${name} into ${target} (${why}): fetch ${list} and ${where}, or pass dataDir.`,
    );
  }
  return `${root}/${sub}`;
}
