/**
 * Static file server of the ONNX demo page and the training page (apps/web):
 * the pages, a local copy of onnxruntime-web and protobufjs (from Deno's npm
 * cache: the network may be closed), the ONNX schema, the .onnx models of a
 * folder, the training page's script bundled from the current sources
 * (bundle.ts) and the MNIST-format IDX files of a data folder (default
 * Debian's Fashion-MNIST, {@link DEFAULT_DATA_DIR}).
 *
 * ```sh
 * deno run -A apps/web/serve.ts --models runs/ --port 8000
 * # then open http://127.0.0.1:8000/?model=/models/model.onnx, or /train to train in the tab
 * ```
 *
 * Every response carries {@link ISOLATION_HEADERS}, so the page is cross-origin
 * isolated and onnxruntime-web's wasm backend can run on several threads.
 *
 * @module
 */
import { parseArgs } from "node:util";
import { PageBundle } from "./bundle.ts";

/** onnxruntime-web version served to the page (the one the exporter is tested with). */
export const ORT_VERSION = "1.30.0";
/** protobufjs version served to the page. */
export const PROTOBUFJS_VERSION = "8.8.1";

/** The data folder served by default: Debian's `dataset-fashion-mnist`. */
export const DEFAULT_DATA_DIR = "/usr/share/datasets/fashion-mnist";

/**
 * The files served under /data/: the four IDX files of a MNIST-format
 * dataset, gzipped or not, and nothing else of the folder.
 */
const IDX_NAMES = /^(train|t10k)-(images-idx3|labels-idx1)-ubyte(\.gz)?$/;

/** Options of {@link startServer}. */
export interface ServerOptions {
  /** Port (default 0: any free port). */
  port?: number;
  /** Address to listen on (default 127.0.0.1). */
  hostname?: string;
  /** Folder whose .onnx files are served under /models/, listed in /models/index.json (default: none). */
  models?: string;
  /**
   * Folder whose MNIST-format IDX files the training page loads from /data/,
   * listed in /data/index.json (default {@link DEFAULT_DATA_DIR}; null: none).
   */
  data?: string | null;
  /** Log requests to the console (default false). */
  log?: boolean;
}

/** A running server. */
export interface WebServer {
  /** Base URL, e.g. http://127.0.0.1:8000/ */
  url: string;
  /** Stops the server. */
  close(): Promise<void>;
}

/**
 * Headers sent with every response. COOP `same-origin` and COEP `require-corp`
 * make the page cross-origin isolated (`crossOriginIsolated`), the condition
 * for SharedArrayBuffer and so for onnxruntime-web's threaded wasm (its
 * pthreads are workers sharing one wasm memory). Under `require-corp` a
 * subresource or worker script loads only if it is same-origin or opts in;
 * CORP `same-origin` says so explicitly, and every asset is served from here
 * (no CDN).
 */
export const ISOLATION_HEADERS: Readonly<Record<string, string>> = {
  "cross-origin-opener-policy": "same-origin",
  "cross-origin-embedder-policy": "require-corp",
  "cross-origin-resource-policy": "same-origin",
};

const TYPES: Record<string, string> = {
  html: "text/html; charset=utf-8",
  js: "text/javascript; charset=utf-8",
  mjs: "text/javascript; charset=utf-8",
  css: "text/css; charset=utf-8",
  wasm: "application/wasm",
  onnx: "application/octet-stream",
  proto: "text/plain; charset=utf-8",
  json: "application/json",
  map: "application/json",
  gz: "application/gzip",
};

const SAFE_NAME = /^[A-Za-z0-9_][A-Za-z0-9_.-]*$/;

/** The folder holding an npm package's file, downloading the package into Deno's cache if needed. */
async function npmDir(
  specifier: string,
  install: () => Promise<unknown>,
  probe: string,
): Promise<URL> {
  const dir = new URL("./", import.meta.resolve(specifier));
  try {
    await Deno.stat(new URL(probe, dir));
  } catch {
    await install();
  }
  return dir;
}

/**
 * Starts the static server.
 *
 * @param options port, address, models folder
 * @returns its URL and a close function
 * @example
 * ```ts ignore
 * import { startServer } from "./serve.ts";
 * const server = await startServer({ models: "runs" });
 * console.log(`open ${server.url}?model=/models/model.onnx`);
 * ```
 */
export async function startServer(options: ServerOptions = {}): Promise<WebServer> {
  const ortDir = await npmDir(
    `npm:onnxruntime-web@${ORT_VERSION}/ort-wasm-simd-threaded.wasm`,
    () => import("npm:onnxruntime-web@1.30.0"),
    "ort.webgpu.min.mjs",
  );
  const protobufDir = await npmDir(
    `npm:protobufjs@${PROTOBUFJS_VERSION}`,
    () => import("npm:protobufjs@8.8.1"),
    "dist/protobuf.min.js",
  );
  const appDir = new URL("./", import.meta.url);
  const routes: Record<string, URL> = {
    "/": new URL("index.html", appDir),
    "/index.html": new URL("index.html", appDir),
    "/main.js": new URL("main.js", appDir),
    "/style.css": new URL("style.css", appDir),
    "/train": new URL("train.html", appDir),
    "/train.html": new URL("train.html", appDir),
    "/train.css": new URL("train.css", appDir),
    "/onnx.proto": new URL("../../packages/onnx-export/onnx.proto", appDir),
    "/vendor/protobuf.min.js": new URL("dist/protobuf.min.js", protobufDir),
  };
  const models = options.models;
  const data = options.data === undefined ? DEFAULT_DATA_DIR : options.data;
  // The training page's script: train_page.js and what it imports, bundled on request.
  const trainBundle = new PageBundle({ entry: new URL("train_page.js", appDir) });

  const resolve = async (
    path: string,
  ): Promise<
    | { file: URL | string }
    | { json: string }
    | { script: () => Promise<Uint8Array<ArrayBuffer>> }
    | undefined
  > => {
    if (routes[path]) return { file: routes[path] };
    if (path === "/train.js") return { script: () => trainBundle.get() };
    const [, dir, name] = path.match(/^\/(vendor\/ort|models|data)\/([^/]+)$/) ?? [];
    if (dir === "data" && name === "index.json") {
      // The dataset's name (for its normalisation and labels) is the folder's, if it is one.
      const base = data?.replace(/\/+$/, "").split("/").pop();
      const files: string[] = [];
      if (data) {
        try {
          for await (const e of Deno.readDir(data)) {
            if (e.isFile && IDX_NAMES.test(e.name)) files.push(e.name);
          }
        } catch {
          // no such folder: no files, and the page asks for the user's own
        }
      }
      const dataset = base === "mnist" ? "mnist" : "fashion-mnist";
      return { json: JSON.stringify({ dataset, files: files.sort() }) };
    }
    if (dir === "models" && name === "index.json") {
      if (!models) return { json: "[]" }; // no folder: no models, rather than a failed load
      const names: string[] = [];
      for await (const e of Deno.readDir(models)) {
        if (e.isFile && e.name.endsWith(".onnx")) names.push(e.name);
      }
      return { json: JSON.stringify(names.sort()) };
    }
    if (!name || !SAFE_NAME.test(name)) return undefined;
    if (dir === "vendor/ort" && /\.(m?js|wasm|map)$/.test(name)) {
      return { file: new URL(name, ortDir) };
    }
    if (dir === "models" && models && name.endsWith(".onnx")) return { file: `${models}/${name}` };
    if (dir === "data" && data && IDX_NAMES.test(name)) return { file: `${data}/${name}` };
    return undefined;
  };

  const handle = async (req: Request): Promise<Response> => {
    let path: string;
    try {
      path = decodeURIComponent(new URL(req.url).pathname);
    } catch {
      return new Response("bad request: malformed percent-encoding in the path", { status: 400 });
    }
    if (options.log) console.log(req.method, path);
    if (req.method !== "GET" && req.method !== "HEAD") {
      return new Response("method not allowed", { status: 405 });
    }
    if (path === "/favicon.ico") return new Response(null, { status: 204 });
    const target = await resolve(path);
    if (!target) return new Response("not found", { status: 404 });
    if ("json" in target) {
      return new Response(target.json, { headers: { "content-type": TYPES.json } });
    }
    if ("script" in target) {
      try {
        const code = await target.script();
        return new Response(req.method === "HEAD" ? null : code, {
          headers: { "content-type": TYPES.js, "cache-control": "no-cache" },
        });
      } catch (e) {
        console.error((e as Error).message);
        return new Response(`// ${(e as Error).message.replaceAll("\n", "\n// ")}\n`, {
          status: 500,
          headers: { "content-type": TYPES.js },
        });
      }
    }
    try {
      const body = await Deno.readFile(target.file);
      const ext = String(target.file).split(".").pop() ?? "";
      return new Response(req.method === "HEAD" ? null : body, {
        headers: {
          "content-type": TYPES[ext] ?? "application/octet-stream",
          "cache-control": "no-cache",
        },
      });
    } catch {
      return new Response("not found", { status: 404 });
    }
  };
  const isolated = (response: Response): Response => {
    for (const [k, v] of Object.entries(ISOLATION_HEADERS)) response.headers.set(k, v);
    return response;
  };

  const server = Deno.serve({
    port: options.port ?? 0,
    hostname: options.hostname ?? "127.0.0.1",
    onListen: () => {},
    onError: (e) => {
      console.error(e);
      return isolated(new Response("internal server error", { status: 500 }));
    },
  }, async (req) => isolated(await handle(req)));
  const addr = server.addr as Deno.NetAddr;
  return {
    url: `http://${addr.hostname}:${addr.port}/`,
    close: () => server.shutdown(),
  };
}

if (import.meta.main) {
  const usage =
    "Usage: deno task serve [--port 8000] [--hostname 127.0.0.1] [--models DIR] [--data DIR | --no-data]";
  let values: {
    port: string;
    hostname: string;
    models?: string;
    data: string;
    "no-data"?: boolean;
    help?: boolean;
  };
  try {
    ({ values } = parseArgs({
      args: Deno.args,
      options: {
        port: { type: "string", default: "8000" },
        hostname: { type: "string", default: "127.0.0.1" },
        models: { type: "string" },
        data: { type: "string", default: DEFAULT_DATA_DIR },
        "no-data": { type: "boolean" },
        help: { type: "boolean" },
      },
    }));
  } catch (e) {
    console.error(`error: ${(e as Error).message}\n${usage}`);
    Deno.exit(2);
  }
  if (values.help) {
    console.log(usage);
    Deno.exit(0);
  }
  const port = Number(values.port);
  if (!Number.isInteger(port) || port < 0 || port > 65535) {
    console.error(`error: Invalid value "${values.port}" for --port: expected 0…65535\n${usage}`);
    Deno.exit(2);
  }
  const data = values["no-data"] ? null : values.data;
  const server = await startServer({
    port,
    hostname: values.hostname,
    models: values.models,
    data,
    log: true,
  });
  console.log(`Serving the ONNX demo at ${server.url} and the training page at ${server.url}train`);
  if (values.models) console.log(`models: ${server.url}models/index.json`);
  if (data) console.log(`data: ${data} as ${server.url}data/index.json`);
}
