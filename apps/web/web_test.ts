// End to end in a real headless browser (Debian's chromium, driven by
// playwright-core): serve.ts serves the page and an exported fcn; the page
// classifies an uploaded image and a drawing, and its top class must be the
// one the project's own forward pass (CPU reference backend) predicts. The
// page must be cross-origin isolated, load everything from serve.ts without
// a failed request, and run onnxruntime-web's wasm backend on several threads.
// The browser tests are ignored where /usr/bin/chromium is missing; the
// header test runs everywhere.
import assert from "node:assert/strict";
import { Buffer } from "node:buffer";
import { chromium, type Page } from "npm:playwright-core@1.65.1";
import { createModel } from "@agd/models";
import { cpu, noGrad, tensor } from "@agd/tensor";
import { exportOnnx } from "@agd/onnx-export";
import { ISOLATION_HEADERS, startServer } from "./serve.ts";

const CHROMIUM = "/usr/bin/chromium";
const hasChromium = (() => {
  try {
    return Deno.statSync(CHROMIUM).isFile;
  } catch {
    return false;
  }
})();

const LABELS = [
  "T-shirt/top",
  "Trouser",
  "Pullover",
  "Dress",
  "Coat",
  "Sandal",
  "Shirt",
  "Sneaker",
  "Bag",
  "Ankle boot",
];
const MEAN = 0.286;
const STD = 0.353;

function crc32(bytes: Uint8Array): number {
  let c = ~0;
  for (const b of bytes) {
    c ^= b;
    for (let k = 0; k < 8; k++) c = (c >>> 1) ^ (0xedb88320 & -(c & 1));
  }
  return ~c >>> 0;
}

/** An 8-bit grayscale PNG (no gamma or color profile: the browser keeps the values). */
async function grayPng(pixels: Uint8Array, width: number, height: number): Promise<Uint8Array> {
  const raw = new Uint8Array(height * (width + 1));
  for (let y = 0; y < height; y++) {
    raw.set(pixels.subarray(y * width, (y + 1) * width), y * (width + 1) + 1);
  }
  const zlib = new Uint8Array(
    await new Response(new Blob([raw]).stream().pipeThrough(new CompressionStream("deflate")))
      .arrayBuffer(),
  );
  const chunk = (type: string, data: Uint8Array): Uint8Array => {
    const out = new Uint8Array(12 + data.length);
    const view = new DataView(out.buffer);
    view.setUint32(0, data.length);
    out.set(new TextEncoder().encode(type), 4);
    out.set(data, 8);
    view.setUint32(8 + data.length, crc32(out.subarray(4, 8 + data.length)));
    return out;
  };
  const ihdr = new Uint8Array(13);
  new DataView(ihdr.buffer).setUint32(0, width);
  new DataView(ihdr.buffer).setUint32(4, height);
  ihdr.set([8, 0, 0, 0, 0], 8); // 8-bit grayscale, deflate, no filter choice, no interlace
  const parts = [
    Uint8Array.of(0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a),
    chunk("IHDR", ihdr),
    chunk("IDAT", zlib),
    chunk("IEND", new Uint8Array()),
  ];
  const png = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let off = 0;
  for (const p of parts) {
    png.set(p, off);
    off += p.length;
  }
  return png;
}

/** What main.js exposes as globalThis.agdDemo. */
interface Demo {
  provider: string;
  crossOriginIsolated: boolean;
  wasmThreads: number;
  predictions: number;
  lastInput: Float32Array;
  lastLogits: Float32Array;
}

const argmax = (v: ArrayLike<number>): number => {
  let best = 0;
  for (let i = 1; i < v.length; i++) if (v[i] > v[best]) best = i;
  return best;
};

/** The onnxruntime-web build main.js imports (its URL on serve.ts). */
const ORT_MODULE = "/vendor/ort/ort.webgpu.min.mjs";
/**
 * The script of ort's emscripten pthread workers: at start-up the wasm module
 * spawns numThreads − 1 of them from its own URL and waits until each has
 * loaded the module and its shared memory (a WebAssembly.Memory that only a
 * cross-origin isolated page can post to a worker), so they all exist once a
 * session does.
 */
const PTHREAD_SCRIPT = /^\/vendor\/ort\/ort-wasm-simd-threaded[.a-z]*\.mjs$/;

/** Resolves once `count` pthread workers are attached; rejects after `ms` (a failure, never a pass). */
function pthreadWatcher(
  page: Page,
): { urls: string[]; atLeast(count: number, ms: number): Promise<void> } {
  const urls: string[] = [];
  let seen = () => {};
  page.on("worker", (w) => {
    if (!PTHREAD_SCRIPT.test(new URL(w.url()).pathname)) return;
    urls.push(w.url());
    seen();
  });
  const atLeast = async (count: number, ms: number) => {
    let timer: ReturnType<typeof setTimeout> | undefined;
    const limit = new Promise<never>((_, reject) => {
      timer = setTimeout(
        () => reject(new Error(`only ${urls.length} of ${count} ort pthread workers started`)),
        ms,
      );
    });
    try {
      while (urls.length < count) {
        await Promise.race([new Promise<void>((resolve) => (seen = resolve)), limit]);
      }
    } finally {
      clearTimeout(timer);
    }
  };
  return { urls, atLeast };
}

const BASE_ARGS = [
  "--headless",
  "--no-sandbox",
  "--disable-background-networking",
  "--disable-component-update",
];

/** No request failed, and each went to serve.ts (blob: and data: URLs stay in the page). */
function assertRequests(requests: string[], failed: string[], base: string): void {
  assert.deepEqual(failed, [], `failed requests: ${failed.join(", ")}`);
  const origin = new URL(base).origin;
  const elsewhere = requests.filter((u) =>
    !/^(blob|data):/.test(u) && new URL(u).origin !== origin
  );
  assert.deepEqual(elsewhere, [], `the page loads from elsewhere than serve.ts: ${elsewhere}`);
  for (const path of ["/main.js", "/vendor/protobuf.min.js", ORT_MODULE]) {
    assert.ok(requests.includes(new URL(path, base).href), `the page never requested ${path}`);
  }
}

/**
 * Serves an exported fcn, opens the page in chromium (launched with `args`),
 * uploads an image (and, with `draw`, draws a stroke) and checks the page's
 * top class, input and logits against the Deno-side forward pass.
 */
async function endToEnd(
  args: string[],
  provider: "wasm" | "webgpu",
  tolerance: number,
  draw: boolean,
): Promise<void> {
  const model = createModel("fcn", "fashion-mnist", {
    depth: 3,
    width: 32,
    seed: 3,
    backend: cpu(),
  }).eval();
  const forward = async (input: Float32Array): Promise<Float32Array> => {
    const y = noGrad(() => model.forward(tensor(input, { shape: [1, 1, 28, 28], backend: cpu() })));
    return (await y.data()) as Float32Array;
  };
  const dir = await Deno.makeTempDir();
  await Deno.writeFile(
    `${dir}/fcn.onnx`,
    await exportOnnx(model, { inputShape: [1, 28, 28], arch: "fcn", dataset: "fashion-mnist" }),
  );
  const server = await startServer({ models: dir });
  const browser = await chromium.launch({
    executablePath: CHROMIUM,
    args: [...BASE_ARGS, ...args],
  });
  try {
    const page = await browser.newPage();
    const errors: string[] = [];
    page.on("pageerror", (e) => errors.push(e.message));
    // Every request of the page and of its workers: none may fail (a COEP
    // block is a failed request, net::ERR_BLOCKED_BY_RESPONSE) and all go to
    // serve.ts (no CDN).
    const requests: string[] = [];
    const failed: string[] = [];
    page.on("request", (r) => requests.push(r.url()));
    page.on("requestfailed", (r) => failed.push(`${r.url()}: ${r.failure()?.errorText}`));
    page.on("response", (r) => {
      if (r.status() >= 400) failed.push(`${r.url()}: HTTP ${r.status()}`);
    });
    const warnings: string[] = [];
    page.on("console", (m) => {
      if (m.type() === "warning" || m.type() === "error") warnings.push(m.text());
    });
    const pthreads = pthreadWatcher(page);
    await page.goto(`${server.url}?model=/models/fcn.onnx`);
    try {
      await page.waitForSelector('body[data-state="ready"]', { timeout: 60_000 });
    } catch (e) {
      const state = await page.textContent("#status").catch(() => "?");
      throw new Error(
        `The page never got ready (status "${state}"; failed requests: ` +
          `${failed.join(", ") || "none"}; page errors: ${errors.join("; ") || "none"})`,
        { cause: e },
      );
    }
    assert.match(
      await page.textContent("#model-info") ?? "",
      /fcn \(fashion-mnist\), input 1×28×28, 10 classes/,
    );
    const used = await page.evaluate(() =>
      (globalThis as unknown as { agdDemo: Demo }).agdDemo.provider
    );
    assert.equal(used, provider, `the page runs on ${used}, expected ${provider}`);

    // Cross-origin isolated, so ort's wasm runs on threads: env.wasm.numThreads
    // read back from ort itself after the session exists (ort lowers it to 1
    // when threads cannot start), and the pthread workers it started.
    const isolated = await page.evaluate(() =>
      (globalThis as unknown as { crossOriginIsolated: boolean }).crossOriginIsolated
    );
    assert.equal(isolated, true, "the page is not cross-origin isolated");
    const threads = await page.evaluate(
      async (url) => (await import(url)).env.wasm.numThreads as number,
      ORT_MODULE,
    );
    const shown = await page.evaluate(() =>
      (globalThis as unknown as { agdDemo: Demo }).agdDemo.wasmThreads
    );
    assert.ok(threads > 1, `ort's wasm backend runs on ${threads} thread(s), expected several`);
    assert.equal(shown, threads, `the page reports ${shown} wasm threads, ort ${threads}`);
    assert.match(
      await page.textContent("#runtime") ?? "",
      new RegExp(`^Backend: ${provider}\\b.* ${threads} wasm threads \\(cross-origin isolated\\)`),
    );
    await pthreads.atLeast(threads - 1, 60_000);
    console.log(
      `${provider}: ort env.wasm.numThreads = ${threads}, ${pthreads.urls.length} pthread worker(s)`,
    );
    assert.ok(
      !warnings.some((w) => /thread|crossOriginIsolated|SharedArrayBuffer/i.test(w)),
      `ort warned about threads: ${warnings.join("; ")}`,
    );
    const readPage = async () => {
      const [input, logits] = await page.evaluate(() => {
        const d = (globalThis as unknown as { agdDemo: Demo }).agdDemo;
        return [Array.from(d.lastInput as Float32Array), Array.from(d.lastLogits)];
      }) as [number[], number[]];
      const top = await page.textContent("#top5 li:first-child .label");
      return { input: Float32Array.from(input), logits: Float32Array.from(logits), top };
    };

    // 1. An uploaded 28×28 image: preprocessing is exact, so the page's input
    //    must be ((v / 255) − mean) / std of the PNG's pixels.
    const pixels = new Uint8Array(28 * 28);
    for (let y = 0; y < 28; y++) {
      for (let x = 0; x < 28; x++) {
        const r = Math.hypot(x - 13.5, y - 12) / 9;
        pixels[y * 28 + x] = Math.max(0, Math.round(255 * (1 - Math.abs(r - 1) * 3)));
        if (x > 8 && x < 19 && y > 16) pixels[y * 28 + x] = 200;
      }
    }
    await page.setInputFiles("#image-file", {
      name: "item.png",
      mimeType: "image/png",
      buffer: Buffer.from(await grayPng(pixels, 28, 28)),
    });
    await page.waitForFunction(() =>
      (globalThis as unknown as { agdDemo: Demo }).agdDemo.predictions === 1
    );
    await page.waitForSelector('body[data-state="predicted"]');
    const uploaded = await readPage();
    const expected = Float32Array.from(pixels, (v) => (v / 255 - MEAN) / STD);
    let inputErr = 0;
    for (let i = 0; i < expected.length; i++) {
      inputErr = Math.max(inputErr, Math.abs(uploaded.input[i] - expected[i]));
    }
    assert.ok(inputErr < 1e-5, `the page's preprocessing is off by ${inputErr}`);
    const logits = await forward(expected);
    assert.equal(uploaded.top, LABELS[argmax(logits)]);
    let diff = 0;
    for (let i = 0; i < 10; i++) diff = Math.max(diff, Math.abs(uploaded.logits[i] - logits[i]));
    const scale = Math.max(...Array.from(logits, Math.abs));
    assert.ok(diff / scale < tolerance, `page logits are off by ${diff / scale} relative`);
    assert.equal(await page.locator("#top5 li").count(), 5);

    assert.deepEqual(errors, []);
    assertRequests(requests, failed, server.url);
    if (!draw) return;

    // 2. A drawing: the page's top class is the model's class for the input it built.
    await page.click("#clear");
    const box = (await page.locator("#draw").boundingBox())!;
    await page.mouse.move(box.x + 90, box.y + 60);
    await page.mouse.down();
    for (const [x, y] of [[190, 60], [190, 230], [90, 230], [90, 140], [170, 140]]) {
      await page.mouse.move(box.x + x, box.y + y, { steps: 8 });
    }
    await page.mouse.up();
    await page.waitForFunction(() =>
      (globalThis as unknown as { agdDemo: Demo }).agdDemo.predictions === 2
    );
    await page.waitForSelector('body[data-state="predicted"]');
    const drawn = await readPage();
    assert.ok(drawn.input.some((v) => v > 0), "the drawing reached the model input");
    assert.equal(drawn.top, LABELS[argmax(await forward(drawn.input))]);
    assert.deepEqual(errors, []);
    assertRequests(requests, failed, server.url);
  } finally {
    await browser.close();
    await server.close();
    model.dispose();
    await Deno.remove(dir, { recursive: true });
  }
}

Deno.test({
  name: "web app (wasm): the page's top class equals the Deno-side prediction (headless chromium)",
  ignore: !hasChromium,
  sanitizeOps: false,
  sanitizeResources: false,
  fn: () => endToEnd(["--disable-gpu"], "wasm", 1e-4, true),
});

// Chromium's SwiftShader Vulkan gives headless WebGPU an adapter: the page
// then runs on onnxruntime-web's WebGPU execution provider.
Deno.test({
  name: "web app (WebGPU on SwiftShader): the top class equals the Deno-side prediction",
  ignore: !hasChromium,
  sanitizeOps: false,
  sanitizeResources: false,
  fn: () =>
    endToEnd(
      [
        "--enable-unsafe-webgpu",
        "--enable-features=Vulkan",
        "--use-vulkan=swiftshader",
        "--use-webgpu-adapter=swiftshader",
        "--disable-vulkan-surface",
      ],
      "webgpu",
      1e-3,
      false,
    ),
});

/** What makes the page cross-origin isolated and its assets embeddable under COEP. */
const ISOLATED = {
  "cross-origin-opener-policy": "same-origin",
  "cross-origin-embedder-policy": "require-corp",
  "cross-origin-resource-policy": "same-origin",
};

Deno.test("serve.ts: every response is cross-origin isolated, and ort's threaded wasm is typed", async () => {
  assert.deepEqual({ ...ISOLATION_HEADERS }, ISOLATED);
  const dir = await Deno.makeTempDir();
  await Deno.writeFile(`${dir}/m.onnx`, Uint8Array.of(8, 7));
  const server = await startServer({ models: dir });
  const bare = await startServer();
  // [method, path, status, content type]; HEAD for the large wasm binaries.
  const cases: [string, string, number, string?][] = [
    ["GET", "", 200, "text/html"],
    ["GET", "index.html", 200, "text/html"],
    ["GET", "main.js", 200, "text/javascript"],
    ["GET", "style.css", 200, "text/css"],
    ["GET", "onnx.proto", 200, "text/plain"],
    ["GET", "vendor/protobuf.min.js", 200, "text/javascript"],
    ["GET", ORT_MODULE.slice(1), 200, "text/javascript"],
    ...["asyncify.", "jsep.", "jspi.", ""].flatMap((v): [string, string, number, string][] => [
      ["HEAD", `vendor/ort/ort-wasm-simd-threaded.${v}mjs`, 200, "text/javascript"],
      ["HEAD", `vendor/ort/ort-wasm-simd-threaded.${v}wasm`, 200, "application/wasm"],
    ]),
    ["GET", "models/index.json", 200, "application/json"],
    ["GET", "models/m.onnx", 200, "application/octet-stream"],
    ["GET", "favicon.ico", 204],
    ["GET", "nope.html", 404],
    ["GET", "models/missing.onnx", 404],
    ["GET", "vendor/ort/..%2Fpackage.json", 404],
    ["GET", "%E0%A4%A", 400],
    ["POST", "", 405],
  ];
  try {
    for (const [method, path, status, type] of cases) {
      const r = await fetch(new URL(path, server.url), { method });
      await r.body?.cancel();
      const what = `${method} /${path}`;
      assert.equal(r.status, status, `${what}: HTTP ${r.status}`);
      for (const [name, value] of Object.entries(ISOLATED)) {
        assert.equal(r.headers.get(name), value, `${what}: ${name}`);
      }
      if (type) assert.match(r.headers.get("content-type") ?? "", new RegExp(`^${type}\\b`), what);
    }
    assert.deepEqual(await (await fetch(new URL("models/index.json", server.url))).json(), [
      "m.onnx",
    ]);
    // Without a models folder the page's index.json request still succeeds.
    const r = await fetch(new URL("models/index.json", bare.url));
    assert.equal(r.status, 200);
    assert.equal(r.headers.get("cross-origin-embedder-policy"), "require-corp");
    assert.deepEqual(await r.json(), []);
  } finally {
    await server.close();
    await bare.close();
    await Deno.remove(dir, { recursive: true });
  }
});
