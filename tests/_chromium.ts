/**
 * Headless Chromium with WebGPU for the cross-package browser tests: Debian's
 * chromium driven by playwright-core, with the SwiftShader flags that
 * apps/web/web_test.ts uses (copied, not imported: that file is a test, not a
 * module to share), and a static file server for the pages under test.
 *
 * @module
 */
import { chromium } from "npm:playwright-core@1.65.1";

/** Debian's chromium. */
export const CHROMIUM = "/usr/bin/chromium";

/** Whether {@link CHROMIUM} is installed (tests that need it are ignored otherwise). */
export const hasChromium: boolean = (() => {
  try {
    return Deno.statSync(CHROMIUM).isFile;
  } catch {
    return false;
  }
})();

/** As in apps/web/web_test.ts: headless, and nothing fetched from the network. */
const BASE_ARGS = [
  "--headless",
  "--no-sandbox",
  "--disable-background-networking",
  "--disable-component-update",
];

/**
 * As in apps/web/web_test.ts: SwiftShader's Vulkan gives headless WebGPU an
 * adapter on a machine without a GPU.
 */
export const WEBGPU_SWIFTSHADER_ARGS: readonly string[] = [
  "--enable-unsafe-webgpu",
  "--enable-features=Vulkan",
  "--use-vulkan=swiftshader",
  "--use-webgpu-adapter=swiftshader",
  "--disable-vulkan-surface",
];

const TYPES: Record<string, string> = {
  html: "text/html; charset=utf-8",
  js: "text/javascript; charset=utf-8",
  mjs: "text/javascript; charset=utf-8",
  css: "text/css; charset=utf-8",
  json: "application/json",
  map: "application/json",
  wasm: "application/wasm",
};

/** A running static file server; `close()` stops it. */
export interface StaticServer {
  /** `http://127.0.0.1:<port>/` (a secure context, as WebGPU requires). */
  url: string;
  /** Stops the server. */
  close(): Promise<void>;
}

/**
 * Serves the files of `dir` (read-only, no directory listings) on a free port.
 *
 * @param dir the folder to serve
 * @returns the server
 */
export function serveDir(dir: string): StaticServer {
  const root = dir.replace(/\/$/, "");
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, async (req) => {
    let path = decodeURIComponent(new URL(req.url).pathname);
    if (path.endsWith("/")) path += "index.html";
    if (path.split("/").includes("..")) return new Response("bad path", { status: 400 });
    try {
      const body = await Deno.readFile(root + path);
      const type = TYPES[path.slice(path.lastIndexOf(".") + 1)] ?? "application/octet-stream";
      return new Response(body, { headers: { "content-type": type } });
    } catch {
      return new Response("not found", { status: 404 });
    }
  });
  return { url: `http://127.0.0.1:${server.addr.port}/`, close: () => server.shutdown() };
}

/** What a page run gave: the value `read` returned and what the page logged. */
export interface PageRun<T> {
  /** The value of `globalThis[global]` once it was set. */
  value: T;
  /** Console messages and uncaught errors of the page, in order. */
  log: string[];
}

/**
 * Opens `url` in headless chromium with WebGPU on SwiftShader and waits until
 * the page sets `globalThis[global]`, then returns that value.
 *
 * @param url the page
 * @param global the global the page sets when it is done
 * @param options `timeoutMs`: how long to wait before giving up (a guard
 *   against a hung page, not a measurement; default 5 minutes)
 * @returns the value and the page's log
 */
export async function runPage<T>(
  url: string,
  global: string,
  options: { timeoutMs?: number } = {},
): Promise<PageRun<T>> {
  const browser = await chromium.launch({
    executablePath: CHROMIUM,
    args: [...BASE_ARGS, ...WEBGPU_SWIFTSHADER_ARGS],
  });
  const log: string[] = [];
  try {
    const page = await browser.newPage();
    // An uncaught error (a module that cannot load, say) means the global
    // will never be set: fail at once rather than at the timeout.
    let crash: (e: Error) => void = () => {};
    const crashed = new Promise<never>((_, reject) => (crash = reject));
    crashed.catch(() => {});
    page.on("console", (m) => log.push(`console.${m.type()}: ${m.text()}`));
    page.on(
      "requestfailed",
      (r) => log.push(`request failed: ${r.url()} (${r.failure()?.errorText})`),
    );
    page.on("pageerror", (e) => {
      log.push(`pageerror: ${e.message}`);
      crash(new Error(`uncaught error in the page: ${e.message}`));
    });
    await page.goto(url);
    const timeout = options.timeoutMs ?? 300_000;
    try {
      await Promise.race([
        page.waitForFunction((g) => g in globalThis, global, { timeout }),
        crashed,
      ]);
    } catch (e) {
      throw new Error(
        `Cannot read globalThis.${global} from ${url}: ${
          (e as Error).message.split("\n")[0]
        }; page log:\n${log.join("\n")}`,
      );
    }
    const value = await page.evaluate((g) => (globalThis as Record<string, unknown>)[g], global);
    return { value: value as T, log };
  } finally {
    await browser.close();
  }
}
