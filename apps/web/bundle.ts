/**
 * The training page's script, bundled for the browser from the current
 * sources: `deno bundle --platform browser` of an entry point, run when the
 * page asks for it and kept until a source file changes. Whether one changed
 * is read from the files themselves (path, size and modification time of
 * every source under the watched folders) at each request, so a served
 * bundle is never older than the sources; building takes about a second,
 * a check 10–40 ms (about 150 files).
 *
 * @module
 */

/** Options of {@link PageBundle}. */
export interface PageBundleOptions {
  /** The entry point (a .ts or .js module importing the workspace packages). */
  entry: URL;
  /** Folders whose sources the bundle may include (default: the repository's packages/ and apps/). */
  watch?: URL[];
  /** The folder `deno bundle` runs in, whose deno.json resolves `@agd/*` (default: the repository root). */
  cwd?: URL;
}

const ROOT = new URL("../../", import.meta.url);
/** What can end up in the bundle: modules, configs, WGSL and the ONNX schema. */
const SOURCE = /\.(ts|js|mjs|json|jsonc|wgsl|proto)$/;
/** Never part of a page: tests, fixtures, run outputs, caches. */
const SKIP_DIR = new Set(["node_modules", "testdata", "fixtures", "results", "runs", ".git"]);

/** `path size mtime` of every source file under `dir`, recursively. */
async function listSources(dir: URL, out: string[]): Promise<void> {
  let entries: Deno.DirEntry[];
  try {
    entries = await Array.fromAsync(Deno.readDir(dir));
  } catch {
    return; // a folder that does not exist (yet) holds no source
  }
  for (const e of entries) {
    if (e.isDirectory && !SKIP_DIR.has(e.name)) {
      await listSources(new URL(`${e.name}/`, dir), out);
    } else if (e.isFile && SOURCE.test(e.name) && !e.name.endsWith("_test.ts")) {
      const url = new URL(e.name, dir);
      try {
        const st = await Deno.stat(url);
        out.push(`${url.pathname} ${st.size} ${st.mtime?.getTime()}`);
      } catch {
        // removed while listing: the next request sees the new state
      }
    }
  }
}

/** A browser bundle of one entry point, rebuilt whenever a source changed. */
export class PageBundle {
  readonly #entry: URL;
  readonly #watch: URL[];
  readonly #cwd: URL;
  #built: { fingerprint: string; code: Uint8Array<ArrayBuffer> } | undefined;
  #building: Promise<{ fingerprint: string; code: Uint8Array<ArrayBuffer> }> | undefined;

  /**
   * Describes the bundle; nothing is built until {@link get}.
   *
   * @param options the entry point, the watched folders and the folder to bundle in
   */
  constructor(options: PageBundleOptions) {
    this.#entry = options.entry;
    this.#cwd = options.cwd ?? ROOT;
    this.#watch = options.watch ??
      [new URL("packages/", ROOT), new URL("apps/", ROOT), new URL("deno.json", ROOT)];
  }

  /** What the sources are now: one line per file, sorted. */
  async fingerprint(): Promise<string> {
    const lines: string[] = [];
    for (const w of this.#watch) {
      if (w.pathname.endsWith("/")) await listSources(w, lines);
      else {
        const st = await Deno.stat(w).catch(() => undefined);
        lines.push(`${w.pathname} ${st?.size} ${st?.mtime?.getTime()}`);
      }
    }
    return lines.sort().join("\n");
  }

  /**
   * The bundle of the current sources: the cached one when no source changed
   * since it was built, else a new build (concurrent requests share it).
   *
   * @returns the bundled JavaScript
   * @throws {Error} with `deno bundle`'s output when the build fails
   */
  async get(): Promise<Uint8Array<ArrayBuffer>> {
    const fingerprint = await this.fingerprint();
    if (this.#built?.fingerprint === fingerprint) return this.#built.code;
    if (!this.#building) {
      this.#building = this.#build(fingerprint).finally(() => (this.#building = undefined));
    }
    const built = await this.#building;
    this.#built = built;
    // Changed again while building: build once more so the answer matches the sources.
    return built.fingerprint === fingerprint ? built.code : await this.get();
  }

  async #build(
    fingerprint: string,
  ): Promise<{ fingerprint: string; code: Uint8Array<ArrayBuffer> }> {
    const out = await new Deno.Command(Deno.execPath(), {
      args: ["bundle", "--platform", "browser", this.#entry.pathname],
      cwd: this.#cwd,
      stdout: "piped",
      stderr: "piped",
      env: { NO_COLOR: "1" },
    }).output();
    if (!out.success || out.stdout.length === 0) {
      const log = new TextDecoder().decode(out.stderr).trim();
      throw new Error(
        `Cannot bundle ${this.#entry.pathname} for the browser (deno bundle exited with ${out.code}): ${log}`,
      );
    }
    return { fingerprint, code: out.stdout };
  }
}
