// The training page (train.html): loads Fashion-MNIST (served by serve.ts, or
// the user's IDX files, gunzipped in the page), trains an fcn with AGD on the
// tab's GPU (or, with ?device=wasm or without WebGPU, on its CPU cores
// through the WebAssembly SIMD backend) through trainer.ts (the same model, init, loader and steps as
// `deno task train`), draws its curves as they come, then classifies drawings
// with the trained model, checks the exported .onnx against it with
// onnxruntime-web (wasm) on test images, and offers the .onnx and a
// .safetensors checkpoint for download. serve.ts bundles this file and what
// it imports (`deno bundle --platform browser`) on request, from the current
// sources. The curves are drawn by _charts.js, the drawing pad and its
// classification by _draw_pad.js.
import { IDX_FILES, idxData, openGpu, openWasm, TabTrainer } from "./trainer.ts";
import { chartRedraw } from "./_charts.js";
import { classifyDrawing, drawPad, grayCanvas } from "./_draw_pad.js";

// onnxruntime-web, served by serve.ts from the npm package (as main.js loads it),
// imported by URL at run time, only once a model exists.
const ORT_URL = "/vendor/ort/ort.webgpu.min.mjs";
/** Test images on which the .onnx and the page's model must agree. */
const CHECK_IMAGES = 16;

const $ = (id) => document.getElementById(id);

/** `?device=wasm` asks for the CPU backend. */
const ON_WASM_ASKED = new URLSearchParams(location.search).get("device") === "wasm";
/** Where the page trains: the CPU backend when asked for or when the browser has no WebGPU. */
const ON_WASM = ON_WASM_ASKED || !navigator.gpu;

/** Page state; also what train_page_test.ts reads. */
const page = {
  /** The GPU adapter's description, or the wasm backend's. */
  adapter: "",
  /** The settings of the last run. */
  settings: null,
  /** Progress points (one per statistics read). */
  points: [],
  /** Test evaluations. */
  tests: [],
  /** Per-epoch records (apps/cli's metrics.jsonl fields). */
  records: [],
  /** Seconds the last training took, evaluations included. */
  seconds: 0,
  /** The .onnx check: { provider, threads, total, same, pageTop, onnxTop, labels, maxDiff }. */
  onnxCheck: null,
  /** The last drawing: its 28×28 pixels, the model input, the page's and the .onnx's top class. */
  lastPixels: null,
  lastInput: null,
  lastTop: -1,
  lastOnnxTop: -1,
  /** Drawings classified. */
  predictions: 0,
  /** File names of the downloads. */
  downloads: { onnx: "", checkpoint: "" },
  /** An error message, if any. */
  error: "",
};
globalThis.agdTrain = page;

let data = null; // { name, train, test } (trainer.ts's IdxData)
let trainer = null;
let session = null; // onnxruntime-web session of the exported model
let ort = null;
let abort = null;
let urls = [];

function setState(state, message) {
  document.body.dataset.state = state;
  if (message !== undefined) $("progress").textContent = message;
}

function fail(e) {
  console.error(e);
  page.error = e?.message ?? String(e);
  setState("error", `Error: ${page.error}`);
  $("train").disabled = data === null;
  $("stop").disabled = true;
}

const fmtInt = (v) => Math.round(v).toLocaleString("en-US");
const pct = (v) => `${(100 * v).toFixed(2)}%`;
function clock(seconds) {
  if (!Number.isFinite(seconds)) return "--:--";
  const s = Math.round(seconds);
  const pad = (n) => String(n).padStart(2, "0");
  const h = Math.floor(s / 3600);
  return h > 0
    ? `${h}:${pad(Math.floor((s % 3600) / 60))}:${pad(s % 60)}`
    : `${pad(Math.floor(s / 60))}:${pad(s % 60)}`;
}

// ---- settings ----------------------------------------------------------------

const FIELDS = ["depth", "width", "gain", "seed", "epochs", "train-limit", "test-every"];

/** URL query parameters prefill the form (?depth=4&width=128&seed=0&epochs=1…). */
function prefill() {
  const q = new URLSearchParams(location.search);
  for (const f of FIELDS) if (q.has(f)) $(f).value = q.get(f);
}

function readSettings() {
  const num = (id) => Number($(id).value);
  const opt = (id) => ($(id).value === "" ? undefined : num(id));
  const settings = {
    depth: num("depth"),
    width: num("width"),
    gain: num("gain"),
    seed: num("seed"),
    epochs: num("epochs"),
    trainLimit: opt("train-limit"),
    testEvery: opt("test-every") || undefined,
  };
  return settings;
}

/** The `deno task train` command line of the same run. */
function cliCommand(s, dataset) {
  const parts = [
    "deno task train --arch fcn",
    `--dataset ${dataset}`,
    "--data-dir /usr/share/datasets",
    `--depth ${s.depth}`,
    `--width ${s.width}`,
    ...(s.gain !== 1 ? [`--gain ${s.gain}`] : []),
    `--epochs ${s.epochs}`,
    `--seed ${s.seed}`,
    ...(s.trainLimit ? [`--train-limit ${s.trainLimit}`] : []),
    ...(ON_WASM ? ["--device wasm"] : []),
  ];
  return parts.join(" ");
}

function showCli() {
  // One unbreakable span per flag, so that a line never breaks inside "--depth 4".
  const flags = cliCommand(readSettings(), $("dataset").value).split(/ (?=--)/);
  $("cli").replaceChildren(...flags.flatMap((f, i) => [
    ...(i ? [" "] : []),
    Object.assign(document.createElement("span"), { className: "flag", textContent: f }),
  ]));
}

// ---- data --------------------------------------------------------------------

async function fetchBytes(url) {
  const r = await fetch(url);
  if (!r.ok) throw new Error(`Cannot fetch ${url}: HTTP ${r.status}`);
  return new Uint8Array(await r.arrayBuffer());
}

/**
 * The dataset serve.ts serves from its data folder, if it has the four files,
 * normalised and labelled as `name` (default: the folder's dataset).
 */
async function loadServed(name) {
  const index = await (await fetch("/data/index.json")).json();
  const names = IDX_FILES.map((gz) => {
    const raw = gz.replace(/\.gz$/, "");
    return index.files.includes(gz) ? gz : index.files.includes(raw) ? raw : null;
  });
  if (names.includes(null)) {
    $("served-info").textContent = "no dataset (start it with --data DIR)";
    return null;
  }
  $("served-info").textContent = `${index.dataset} (/data/)`;
  $("dataset").value = name ?? index.dataset;
  const files = await Promise.all(
    names.map(async (file) => ({ name: file, bytes: await fetchBytes(`/data/${file}`) })),
  );
  return await idxData(files, $("dataset").value);
}

/** The user's own IDX files, gunzipped and parsed in the page. */
async function loadPicked(fileList) {
  const files = await Promise.all(
    [...fileList].map(async (f) => ({
      name: f.name,
      bytes: new Uint8Array(await f.arrayBuffer()),
    })),
  );
  return await idxData(files, $("dataset").value);
}

function showData() {
  $("data-info").textContent = data
    ? `${fmtInt(data.train.length)} training and ${fmtInt(data.test.length)} test images`
    : "";
}

let loads = 0;
/** Loads a dataset; of overlapping loads (the user changed their mind), the last one wins. */
async function useData(load, what) {
  const mine = ++loads;
  $("train").disabled = true;
  setState("loading", `Loading ${what}…`);
  const loaded = await load();
  if (mine !== loads) return;
  data = loaded;
  showData();
  if (!data) {
    setState("no-data", "Choose the four IDX files of a MNIST-format dataset.");
    return;
  }
  $("train").disabled = false;
  setState("ready", `${what} loaded: press Train.`);
}

// ---- curves ------------------------------------------------------------------

const drawCharts = chartRedraw(
  { loss: $("chart-loss"), acc: $("chart-acc"), eta: $("chart-eta") },
  () => ({ epochs: page.settings?.epochs ?? 1, points: page.points, tests: page.tests }),
);

function addEpochRow(r) {
  const table = $("epochs-table");
  table.hidden = false;
  const tr = document.createElement("tr");
  const cells = [
    r.epoch,
    `${r.eta_min.toFixed(4)} / ${r.eta_mean.toFixed(4)} / ${r.eta_max.toFixed(4)}`,
    r.train_loss.toFixed(4),
    pct(r.train_acc),
    r.test_loss.toFixed(4),
    pct(r.test_acc),
    fmtInt(r.samples_per_s),
    r.seconds.toFixed(1),
  ];
  tr.replaceChildren(...cells.map((c) =>
    Object.assign(document.createElement("td"), {
      textContent: String(c),
    })
  ));
  table.tBodies[0].append(tr);
}

// ---- training ----------------------------------------------------------------

function reset() {
  session?.release();
  session = null;
  trainer?.dispose();
  trainer = null;
  for (const u of urls) URL.revokeObjectURL(u);
  urls = [];
  Object.assign(page, {
    points: [],
    tests: [],
    records: [],
    onnxCheck: null,
    predictions: 0,
    lastTop: -1,
    lastOnnxTop: -1,
    error: "",
  });
  $("epochs-table").tBodies[0].replaceChildren();
  $("epochs-table").hidden = true;
  $("try").hidden = true;
  $("export").hidden = true;
  for (const id of ["download-onnx", "download-checkpoint"]) $(id).removeAttribute("href");
  $("top5").replaceChildren();
}

async function train() {
  if (!data) throw new Error("Cannot train: no dataset loaded; choose the IDX files first");
  reset();
  if (!page.adapter) {
    page.adapter = ON_WASM ? await openWasm() : await openGpu();
    $("gpu").textContent = ON_WASM ? `CPU: ${page.adapter}` : `WebGPU: ${page.adapter}`;
  }
  const settings = readSettings();
  page.settings = settings;
  trainer = new TabTrainer(data, settings);
  const steps = trainer.stepsPerEpoch * settings.epochs;
  $("bar").max = steps;
  $("bar").value = 0;
  abort = new AbortController();
  $("train").disabled = true;
  $("stop").disabled = false;
  setState("training", `Training ${trainer.model.parameters().length}-layer fcn…`);
  drawCharts();
  const t0 = performance.now();
  await trainer.run({
    signal: abort.signal,
    onProgress(p) {
      page.points.push(p);
      $("bar").value = p.globalStep;
      $("progress").textContent = `epoch ${
        p.epoch + 1
      }/${settings.epochs} · step ${p.step}/${p.stepsPerEpoch} · ${
        fmtInt(p.samplesPerSecond)
      } samples/s · ETA ${clock(p.etaSeconds)} · loss ${p.epochLoss.toFixed(4)} · train acc ${
        pct(p.epochAcc)
      } · η ${p.eta.toFixed(4)}`;
      drawCharts();
    },
    onTest(t) {
      page.tests.push(t);
      drawCharts();
    },
    onEpoch(r) {
      page.records.push(r);
      addEpochRow(r);
    },
  });
  page.seconds = (performance.now() - t0) / 1000;
  $("stop").disabled = true;
  const last = page.records[page.records.length - 1];
  const stopped = abort.signal.aborted ? `Stopped at step ${trainer.globalStep}. ` : "";
  setState(
    "exporting",
    `${stopped}Trained ${trainer.epochsDone} epoch${trainer.epochsDone === 1 ? "" : "s"} in ${
      page.seconds.toFixed(1)
    } s` + (last ? `: test accuracy ${pct(last.test_acc)}.` : ".") + " Exporting…",
  );
  $("bar").value = trainer.globalStep;
  await exportModel();
  $("try").hidden = false;
  pad.clear();
  $("train").disabled = false;
  setState(
    "trained",
    `${stopped}Trained ${trainer.epochsDone} epoch${trainer.epochsDone === 1 ? "" : "s"} ` +
      `(${fmtInt(trainer.globalStep)} steps of ${trainer.settings.trainBs}) in ${
        page.seconds.toFixed(1)
      } s` +
      (last
        ? ` · ${fmtInt(last.samples_per_s)} samples/s · test accuracy ${pct(last.test_acc)}`
        : "") +
      ` · ${page.adapter}. Draw an item below.`,
  );
}

// ---- export and the .onnx check ------------------------------------------------

async function loadOrt() {
  if (ort) return ort;
  ort = await import(ORT_URL);
  // As main.js: an absolute URL, so ort starts its pthread workers from it.
  ort.env.wasm.wasmPaths = new URL("/vendor/ort/", location.href).href;
  ort.env.wasm.numThreads = globalThis.crossOriginIsolated
    ? Math.min(4, Math.max(2, navigator.hardwareConcurrency || 2))
    : 1;
  return ort;
}

function offer(id, bytes, name, type) {
  const url = URL.createObjectURL(new Blob([bytes], { type }));
  urls.push(url);
  const a = $(id);
  a.href = url;
  a.download = name;
}

/** Exports the model, checks the .onnx against the page on test images, offers both files. */
async function exportModel() {
  const s = page.settings;
  const base = `fcn-d${s.depth}-w${s.width}-${data.name}-agd-seed${s.seed}`;
  const [onnxBytes, checkpointBytes] = [await trainer.onnx(), await trainer.checkpoint()];
  offer("download-onnx", onnxBytes, `${base}.onnx`, "application/octet-stream");
  offer("download-checkpoint", checkpointBytes, `${base}.safetensors`, "application/octet-stream");
  page.downloads = { onnx: `${base}.onnx`, checkpoint: `${base}.safetensors` };

  const o = await loadOrt();
  session = await o.InferenceSession.create(onnxBytes, { executionProviders: ["wasm"] });
  const n = Math.min(CHECK_IMAGES, data.test.length);
  const plane = 28 * 28;
  const pixels = data.test.data.images.subarray(0, n * plane);
  const input = await trainer.normalize(pixels);
  const mine = await trainer.predict(input);
  const theirs = await runOnnx(input, n);
  let maxDiff = 0;
  for (let i = 0; i < mine.logits.length; i++) {
    maxDiff = Math.max(maxDiff, Math.abs(mine.logits[i] - theirs.logits[i]));
  }
  const labels = Array.from(data.test.data.labels.subarray(0, n));
  const same = mine.top.filter((t, i) => t === theirs.top[i]).length;
  page.onnxCheck = {
    provider: "wasm",
    threads: o.env.wasm.numThreads,
    total: n,
    same,
    pageTop: mine.top,
    onnxTop: theirs.top,
    labels,
    maxDiff,
  };
  const right = mine.top.filter((t, i) => t === labels[i]).length;
  $("onnx-check").textContent =
    `The exported .onnx, run by onnxruntime-web (wasm, ${o.env.wasm.numThreads} threads), gives the ` +
    `page's top class on ${same} of the first ${n} test images (largest logit difference ` +
    `${maxDiff.toExponential(1)}); ${right} of ${n} are right (the wrong ones in red):`;
  showSamples(pixels, mine.top, theirs.top, labels);
  $("export").hidden = false;
}

async function runOnnx(input, n) {
  const feeds = { input: new ort.Tensor("float32", input, [n, 1, 28, 28]) };
  const out = await session.run(feeds);
  const logits = Float32Array.from(await out.logits.getData());
  const classes = logits.length / n;
  const top = Array.from({ length: n }, (_, i) => {
    let best = 0;
    for (let j = 1; j < classes; j++) {
      if (logits[i * classes + j] > logits[i * classes + best]) best = j;
    }
    return best;
  });
  return { logits, top };
}

function labelNames() {
  return data.name === "mnist" ? Array.from({ length: 10 }, (_, i) => String(i)) : [
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
}

function showSamples(pixels, pageTop, onnxTop, labels) {
  const names = labelNames();
  $("samples").replaceChildren(...labels.map((label, i) => {
    const fig = document.createElement("figure");
    const cap = document.createElement("figcaption");
    cap.textContent = names[pageTop[i]];
    cap.title = `label ${names[label]}; .onnx: ${names[onnxTop[i]]}`;
    if (pageTop[i] !== label) cap.className = "wrong";
    fig.append(grayCanvas(pixels.subarray(i * 784, (i + 1) * 784), 28), cap);
    return fig;
  }));
}

// ---- drawing -------------------------------------------------------------------

const pad = drawPad($("draw"), {
  penWidth: () => Number($("pen-width").value),
  onDrawn: queueClassify,
});

/** Classifies the drawing with the trained model (and the exported .onnx). */
async function classify() {
  if (!trainer) return;
  const { pixels, input, top, onnxTop } = await classifyDrawing(pad, {
    model: trainer,
    onnxTop: async (input) => session ? (await runOnnx(input, 1)).top[0] : -1,
    names: labelNames(),
    preview: $("preview"),
    top5: $("top5"),
    onnxNote: $("onnx-drawing"),
  });
  Object.assign(page, { lastPixels: pixels, lastInput: input, lastTop: top, lastOnnxTop: onnxTop });
  page.predictions++;
  document.body.dataset.classified = String(page.predictions);
}

let classifying = Promise.resolve();
function queueClassify() {
  classifying = classifying.then(classify).catch(fail);
  return classifying;
}

// ---- wiring ----------------------------------------------------------------------

$("settings").addEventListener("submit", (e) => {
  e.preventDefault();
  train().catch(fail);
});
$("stop").addEventListener("click", () => {
  abort?.abort();
  $("stop").disabled = true;
});
$("clear").addEventListener("click", () => {
  pad.clear();
  $("top5").replaceChildren();
  $("onnx-drawing").textContent = "";
});
for (const f of FIELDS) $(f).addEventListener("input", showCli);
/** Loads the chosen source: the served files, or the picked ones (none picked: no data). */
function loadSource() {
  const source = document.querySelector('input[name="source"]:checked').value;
  const picked = $("idx-files").files;
  if (source === "served") {
    useData(() => loadServed($("dataset").value), "the served dataset").catch(fail);
  } else if (picked?.length) {
    useData(() => loadPicked(picked), "your files").catch(fail);
  } else {
    useData(() => Promise.resolve(null), "your files").catch(fail);
  }
}

$("dataset").addEventListener("change", () => {
  showCli();
  loadSource();
});
$("idx-files").addEventListener("change", () => {
  document.querySelector('input[name="source"][value="files"]').checked = true;
  loadSource();
});
for (const radio of document.querySelectorAll('input[name="source"]')) {
  radio.addEventListener("change", () => {
    if (radio.checked) loadSource();
  });
}

prefill();
showCli();
if (!navigator.gpu && !ON_WASM_ASKED) {
  $("gpu").textContent = "No WebGPU in this browser: training on the CPU (WebAssembly SIMD)";
}
useData(() => loadServed(), "the served dataset").then(showCli).catch(fail);
