// The ONNX demo page: loads a model exported by @agd/onnx-export, reads its
// metadata_props (labels, mean/std, input shape) with protobufjs and the
// official onnx.proto, preprocesses a drawing or an image as the training
// transforms do (resize, grayscale for 1 channel, pixels/255, normalize) and
// shows the top-5 classes. onnxruntime-web runs it on WebGPU where an adapter
// exists, else on wasm. Everything is served locally by serve.ts.

// onnxruntime-web's WebGPU build (it holds the wasm backend too), served by
// serve.ts from the npm package; imported by URL at run time.
const ORT_URL = "/vendor/ort/ort.webgpu.min.mjs";
const ort = await import(ORT_URL);

/* global protobuf */

// An absolute URL: ort checks the .mjs is same-origin before it starts its
// pthread workers from it (a relative prefix fails that check, and ort would
// copy the module into a blob: URL instead).
ort.env.wasm.wasmPaths = new URL("/vendor/ort/", location.href).href;
// Threads need SharedArrayBuffer, which only a cross-origin isolated page has
// (serve.ts sends COOP/COEP); without it, one thread. ort's own default,
// min(4, ceil(cores / 2)), is one thread on a 2-core machine: take the cores,
// at least 2 and at most MAX_WASM_THREADS.
const MAX_WASM_THREADS = 4;
ort.env.wasm.numThreads = globalThis.crossOriginIsolated
  ? Math.min(MAX_WASM_THREADS, Math.max(2, navigator.hardwareConcurrency || 2))
  : 1;

const $ = (id) => document.getElementById(id);
const drawCanvas = $("draw");
const drawCtx = drawCanvas.getContext("2d", { willReadFrequently: true });

/** Page state; also what the end-to-end test reads. */
const demo = {
  /** Model description from metadata_props and the graph. */
  info: null,
  /** Execution provider the session runs on ("webgpu" or "wasm"). */
  provider: "",
  /** Whether the page is cross-origin isolated (SharedArrayBuffer, wasm threads). */
  crossOriginIsolated: globalThis.crossOriginIsolated === true,
  /**
   * Threads of ort's wasm backend once a session exists (ort lowers
   * env.wasm.numThreads to 1 when threads are unavailable); 0 before.
   */
  wasmThreads: 0,
  /** Preprocessed input of the last prediction (NCHW float32). */
  lastInput: null,
  /** Logits of the last prediction. */
  lastLogits: null,
  /** Number of predictions made. */
  predictions: 0,
  predict,
  loadModelBytes,
};
globalThis.agdDemo = demo;

let session = null;
/** A loaded image not drawn over yet (preprocessed from the original pixels). */
let imageSource = null;
let running = Promise.resolve();

function setState(state, message) {
  document.body.dataset.state = state;
  if (message !== undefined) $("status").textContent = message;
}

function fail(e) {
  console.error(e);
  setState("error", `Error: ${e?.message ?? e}`);
}

// ---- model loading ---------------------------------------------------------

let modelProtoType;
async function modelProto() {
  modelProtoType ??= fetch("/onnx.proto")
    .then((r) => {
      if (!r.ok) throw new Error(`cannot fetch onnx.proto (${r.status})`);
      return r.text();
    })
    .then((text) => protobuf.parse(text, { keepCase: true }).root.lookupType("onnx.ModelProto"));
  return await modelProtoType;
}

const toNumber = (v) => (typeof v === "object" && v !== null ? v.toNumber() : Number(v));

/** Reads labels, normalization and input geometry from an exported model. */
async function readModelInfo(bytes) {
  const ModelProto = await modelProto();
  const m = ModelProto.decode(bytes);
  const meta = Object.fromEntries((m.metadata_props ?? []).map((p) => [p.key, p.value]));
  const graph = m.graph;
  const initializers = new Set((graph.initializer ?? []).map((t) => t.name));
  const input = graph.input.find((v) => !initializers.has(v.name));
  const output = graph.output[0];
  const dims = (v) =>
    (v.type?.tensor_type?.shape?.dim ?? []).map((d) => d.dim_param || toNumber(d.dim_value));
  const inputDims = dims(input);
  const inputShape = meta.input_shape
    ? JSON.parse(meta.input_shape)
    : inputDims.slice(1).map(Number);
  const [channels] = inputShape;
  const outDims = dims(output);
  const count = Number(meta.num_classes ?? outDims.at(-1));
  const labels = meta.classes
    ? JSON.parse(meta.classes)
    : Array.from({ length: count }, (_, i) => String(i));
  const mean = meta.mean ? JSON.parse(meta.mean) : Array(channels).fill(0);
  const std = meta.std ? JSON.parse(meta.std) : Array(channels).fill(1);
  if (inputShape.length !== 3 || mean.length !== channels || std.length !== channels) {
    throw new Error(
      `unexpected input shape ${JSON.stringify(inputShape)} or mean/std in the model`,
    );
  }
  return {
    arch: meta.arch || graph.name || "model",
    dataset: meta.dataset || "",
    inputName: input.name,
    outputName: output.name,
    inputShape,
    labels,
    mean,
    std,
    metadata: meta,
  };
}

async function webgpuAvailable() {
  if (!navigator.gpu) return false;
  try {
    return (await navigator.gpu.requestAdapter()) !== null;
  } catch {
    return false;
  }
}

async function createSession(bytes) {
  if (await webgpuAvailable()) {
    try {
      return [
        await ort.InferenceSession.create(bytes, { executionProviders: ["webgpu"] }),
        "webgpu",
      ];
    } catch (e) {
      console.warn("WebGPU session failed, using wasm:", e);
    }
  }
  return [await ort.InferenceSession.create(bytes, { executionProviders: ["wasm"] }), "wasm"];
}

/** Loads an exported model from its bytes. */
async function loadModelBytes(bytes, name = "model") {
  setState("loading", `Loading ${name}…`);
  $("predict").disabled = true;
  const info = await readModelInfo(bytes);
  const [next, provider] = await createSession(bytes);
  if (session) await session.release();
  session = next;
  demo.info = info;
  demo.provider = provider;
  demo.wasmThreads = ort.env.wasm.numThreads;
  showRuntime();
  const [c, h, w] = info.inputShape;
  $("model-info").textContent =
    `${name}: ${info.arch}${info.dataset ? ` (${info.dataset})` : ""}, input ` +
    `${c}×${h}×${w}, ${info.labels.length} classes, mean [${info.mean}], std [${info.std}], on ${provider}`;
  $("predict").disabled = false;
  setState("ready", "Model ready: draw or drop an image.");
  if (imageSource || hasInk()) await predict();
}

/** Shows the execution provider and the wasm backend's threads. */
function showRuntime() {
  const threads = `${demo.wasmThreads} wasm thread${demo.wasmThreads === 1 ? "" : "s"}`;
  const why = demo.crossOriginIsolated
    ? "cross-origin isolated"
    : "not cross-origin isolated: no SharedArrayBuffer";
  $("runtime").textContent = demo.provider === "wasm"
    ? `Backend: wasm, ${threads} (${why}).`
    : `Backend: ${demo.provider}; operators it lacks run on ${threads} (${why}).`;
}

async function loadModelUrl(url) {
  const r = await fetch(url);
  if (!r.ok) throw new Error(`cannot fetch ${url} (${r.status})`);
  await loadModelBytes(new Uint8Array(await r.arrayBuffer()), url.split("/").pop());
}

// ---- input -------------------------------------------------------------------

function clearCanvas() {
  drawCtx.fillStyle = "#000";
  drawCtx.fillRect(0, 0, drawCanvas.width, drawCanvas.height);
  imageSource = null;
}

function hasInk() {
  const px = drawCtx.getImageData(0, 0, drawCanvas.width, drawCanvas.height).data;
  for (let i = 0; i < px.length; i += 4) if (px[i] || px[i + 1] || px[i + 2]) return true;
  return false;
}

/** The largest centered square of a source, as drawImage arguments. */
function centerSquare(width, height) {
  const s = Math.min(width, height);
  return [(width - s) / 2, (height - s) / 2, s, s];
}

async function loadImageFile(file) {
  const bitmap = await createImageBitmap(file);
  clearCanvas();
  drawCtx.imageSmoothingQuality = "high";
  drawCtx.drawImage(
    bitmap,
    ...centerSquare(bitmap.width, bitmap.height),
    0,
    0,
    drawCanvas.width,
    drawCanvas.height,
  );
  imageSource = bitmap;
  if (session) await predict();
}

let drawing = null;
drawCanvas.addEventListener("pointerdown", (e) => {
  drawCanvas.setPointerCapture(e.pointerId);
  imageSource = null; // the canvas (image plus strokes) is the input now
  drawing = { x: e.offsetX, y: e.offsetY };
  stroke(e.offsetX, e.offsetY);
});
drawCanvas.addEventListener("pointermove", (e) => {
  if (drawing) stroke(e.offsetX, e.offsetY);
});
const endStroke = () => {
  if (!drawing) return;
  drawing = null;
  if (session) queuePredict();
};
drawCanvas.addEventListener("pointerup", endStroke);
drawCanvas.addEventListener("pointercancel", endStroke);

function stroke(x, y) {
  drawCtx.strokeStyle = $("pen-color").value;
  drawCtx.lineWidth = Number($("pen-width").value);
  drawCtx.lineCap = "round";
  drawCtx.lineJoin = "round";
  drawCtx.beginPath();
  drawCtx.moveTo(drawing.x, drawing.y);
  drawCtx.lineTo(x + 0.01, y);
  drawCtx.stroke();
  drawing = { x, y };
}

drawCanvas.addEventListener("dragover", (e) => {
  e.preventDefault();
  drawCanvas.classList.add("dragover");
});
drawCanvas.addEventListener("dragleave", () => drawCanvas.classList.remove("dragover"));
drawCanvas.addEventListener("drop", (e) => {
  e.preventDefault();
  drawCanvas.classList.remove("dragover");
  const file = e.dataTransfer?.files?.[0];
  if (!file) return;
  const task = file.name.endsWith(".onnx")
    ? file.arrayBuffer().then((b) => loadModelBytes(new Uint8Array(b), file.name))
    : loadImageFile(file);
  task.catch(fail);
});

// ---- preprocessing and prediction ------------------------------------------

/**
 * Resizes the input to the model's H×W (center square crop first), takes
 * grayscale (ITU-R 601 luma, as PIL's "L") for 1-channel models, scales
 * pixels to [0, 1] and normalizes per channel: NCHW float32.
 */
function preprocess(info) {
  const [c, h, w] = info.inputShape;
  const canvas = document.createElement("canvas");
  canvas.width = w;
  canvas.height = h;
  const ctx = canvas.getContext("2d", { willReadFrequently: true });
  ctx.imageSmoothingEnabled = true;
  ctx.imageSmoothingQuality = "high";
  const source = imageSource ?? drawCanvas;
  ctx.drawImage(source, ...centerSquare(source.width, source.height), 0, 0, w, h);
  const px = ctx.getImageData(0, 0, w, h).data;
  const out = new Float32Array(c * h * w);
  const preview = new ImageData(w, h);
  for (let i = 0; i < h * w; i++) {
    const [r, g, b] = [px[4 * i], px[4 * i + 1], px[4 * i + 2]];
    if (c === 1) {
      const v = (r * 299 + g * 587 + b * 114) / 1000;
      out[i] = (v / 255 - info.mean[0]) / info.std[0];
      preview.data.set([v, v, v, 255], 4 * i);
    } else {
      const rgb = [r, g, b];
      for (let k = 0; k < c; k++) {
        out[k * h * w + i] = (rgb[k % 3] / 255 - info.mean[k]) / info.std[k];
      }
      preview.data.set([r, g, b, 255], 4 * i);
    }
  }
  showPreview(preview);
  return out;
}

function showPreview(image) {
  const small = document.createElement("canvas");
  small.width = image.width;
  small.height = image.height;
  small.getContext("2d").putImageData(image, 0, 0);
  const view = $("preview");
  const ctx = view.getContext("2d");
  ctx.imageSmoothingEnabled = false;
  ctx.clearRect(0, 0, view.width, view.height);
  ctx.drawImage(small, 0, 0, view.width, view.height);
  $("preview-caption").textContent = `model input ${image.width}×${image.height}`;
}

function softmax(logits) {
  const max = Math.max(...logits);
  const e = logits.map((v) => Math.exp(v - max));
  const sum = e.reduce((a, b) => a + b, 0);
  return e.map((v) => v / sum);
}

function showTop5(logits, labels) {
  const probs = softmax(Array.from(logits));
  const order = probs.map((p, i) => [p, i]).sort((a, b) => b[0] - a[0]).slice(0, 5);
  const list = $("top5");
  list.replaceChildren(
    ...order.map(([p, i]) => {
      const li = document.createElement("li");
      li.dataset.index = String(i);
      const label = document.createElement("span");
      label.className = "label";
      label.textContent = labels[i] ?? String(i);
      const bar = document.createElement("span");
      bar.className = "bar";
      bar.style.width = `${(100 * p).toFixed(1)}%`;
      const prob = document.createElement("span");
      prob.className = "prob";
      prob.textContent = `${(100 * p).toFixed(1)}%`;
      li.append(label, bar, prob);
      return li;
    }),
  );
}

/** Runs the model on the current canvas or image and shows the top 5. */
async function predict() {
  if (!session) throw new Error("load a model first");
  const info = demo.info;
  setState("predicting", "Running…");
  const input = preprocess(info);
  const feeds = { [info.inputName]: new ort.Tensor("float32", input, [1, ...info.inputShape]) };
  const t0 = performance.now();
  const out = await session.run(feeds);
  const ms = performance.now() - t0;
  const logits = await out[info.outputName].getData();
  demo.lastInput = input;
  demo.lastLogits = Float32Array.from(logits);
  demo.predictions++;
  showTop5(demo.lastLogits, info.labels);
  setState("predicted", `Predicted in ${ms.toFixed(1)} ms on ${demo.provider}.`);
  return demo.lastLogits;
}

function queuePredict() {
  running = running.then(predict).catch(fail);
  return running;
}

// ---- wiring ------------------------------------------------------------------

$("clear").addEventListener("click", () => {
  clearCanvas();
  $("top5").replaceChildren();
});
$("predict").addEventListener("click", () => queuePredict());
$("image-file").addEventListener("change", (e) => {
  const file = e.target.files?.[0];
  if (file) loadImageFile(file).catch(fail);
});
$("model-file").addEventListener("change", (e) => {
  const file = e.target.files?.[0];
  if (file) {
    file.arrayBuffer().then((b) => loadModelBytes(new Uint8Array(b), file.name)).catch(fail);
  }
});
$("model-list").addEventListener("change", (e) => {
  if (e.target.value) loadModelUrl(`/models/${e.target.value}`).catch(fail);
});

async function start() {
  clearCanvas();
  try {
    const r = await fetch("/models/index.json");
    if (r.ok) {
      const names = await r.json();
      if (names.length) {
        const select = $("model-list");
        select.replaceChildren(
          new Option("served models…", ""),
          ...names.map((n) => new Option(n, n)),
        );
        select.hidden = false;
      }
    }
  } catch {
    // no model folder served
  }
  const url = new URLSearchParams(location.search).get("model");
  if (url) await loadModelUrl(url);
  else setState("no-model", "Choose an exported .onnx model.");
}

start().catch(fail);
