/**
 * Data root resolution: option `dataDir`, else `$AGD_DATA`, else the per-user
 * cache (`$XDG_CACHE_HOME/agd` or `~/.cache/agd`); `/usr/share/datasets` is
 * always searched as well.
 *
 * @module
 */

import type { DatasetName } from "./info.ts";

/** System-wide folder searched after the user's data root. */
export const SYSTEM_DATA_DIR = "/usr/share/datasets";

/** Options for data root resolution. */
export interface DataDirOptions {
  /** Data root; overrides `$AGD_DATA` and the cache folder. */
  dataDir?: string;
  /** Also search {@linkcode SYSTEM_DATA_DIR} (default true). */
  searchSystem?: boolean;
}

function env(name: string): string | undefined {
  try {
    // A web page has no Deno, hence no environment.
    return (globalThis as { Deno?: typeof Deno }).Deno?.env.get(name) || undefined;
  } catch {
    return undefined; // No --allow-env.
  }
}

/**
 * The per-user cache folder: `$XDG_CACHE_HOME/agd`, else `~/.cache/agd`.
 *
 * @returns The folder path (it may not exist yet).
 */
export function cacheDir(): string {
  const xdg = env("XDG_CACHE_HOME");
  if (xdg) return `${xdg}/agd`;
  const home = env("HOME") ?? env("USERPROFILE");
  if (!home) {
    throw new Error(
      "Cannot find a cache folder: HOME is not set; pass dataDir or set AGD_DATA.",
    );
  }
  return `${home}/.cache/agd`;
}

/**
 * The writable data root: `dataDir`, else `$AGD_DATA`, else {@linkcode cacheDir}.
 * Downloads go here.
 *
 * @param options The `dataDir` option.
 * @returns The root folder path.
 */
export function dataRoot(options: DataDirOptions = {}): string {
  return options.dataDir ?? env("AGD_DATA") ?? cacheDir();
}

/**
 * All roots searched, in order: {@linkcode dataRoot}, then {@linkcode SYSTEM_DATA_DIR}.
 *
 * @param options The `dataDir` option and whether to search the system folder.
 * @returns The root folders.
 */
export function dataRoots(options: DataDirOptions = {}): string[] {
  const roots = [dataRoot(options)];
  if ((options.searchSystem ?? true) && !roots.includes(SYSTEM_DATA_DIR)) {
    roots.push(SYSTEM_DATA_DIR);
  }
  return roots;
}

/** Sub-folder of a dataset under a data root. */
export function datasetSubdir(name: DatasetName): string {
  switch (name) {
    case "cifar10":
      return "cifar-10-batches-bin";
    case "cifar100":
      return "cifar-100-binary";
    default:
      return name;
  }
}

/** True when `path` is an existing folder. */
export async function isDir(path: string): Promise<boolean> {
  try {
    return (await Deno.stat(path)).isDirectory;
  } catch {
    return false;
  }
}

/**
 * Finds the folder of a dataset under the data roots (for ImageNet also
 * `$IMAGENET_PATH`, which points at the folder holding `train/` and `val/`).
 *
 * @param name The dataset name.
 * @param options The data root options.
 * @returns The first existing folder, or undefined.
 */
export async function findDatasetDir(
  name: DatasetName,
  options: DataDirOptions = {},
): Promise<string | undefined> {
  const candidates: string[] = [];
  if (name === "imagenet" && options.dataDir === undefined) {
    const p = env("IMAGENET_PATH");
    if (p) candidates.push(p);
  }
  for (const root of dataRoots(options)) candidates.push(`${root}/${datasetSubdir(name)}`);
  for (const c of candidates) if (await isDir(c)) return c;
  return undefined;
}
