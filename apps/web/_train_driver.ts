// Drives the training page (train.html) in Debian's headless chromium with
// WebGPU on SwiftShader, for train_page_test.ts and train_screenshot.ts:
// opens /train with the settings in the URL, presses Train, waits until the
// page has trained, exported and checked its .onnx, and reads what it shows.
import { chromium, type Page } from "npm:playwright-core@1.65.1";

/** Debian's chromium. */
export const CHROMIUM = "/usr/bin/chromium";

/** Whether {@link CHROMIUM} is installed. */
export const hasChromium: boolean = (() => {
  try {
    return Deno.statSync(CHROMIUM).isFile;
  } catch {
    return false;
  }
})();

/** As web_test.ts: headless, nothing from the network, WebGPU on SwiftShader's Vulkan. */
export const CHROMIUM_ARGS: readonly string[] = [
  "--headless",
  "--no-sandbox",
  "--disable-background-networking",
  "--disable-component-update",
  "--enable-unsafe-webgpu",
  "--enable-features=Vulkan",
  "--use-vulkan=swiftshader",
  "--use-webgpu-adapter=swiftshader",
  "--disable-vulkan-surface",
];

/** The settings typed into the page's form. */
export interface PageSettings {
  depth: number;
  width: number;
  seed: number;
  epochs: number;
  gain?: number;
  trainLimit?: number;
  testEvery?: number;
}

/** The little of the page's DOM the callbacks below read (Deno's libraries have no `document`). */
interface PageGlobals {
  document: {
    body: { dataset: Record<string, string | undefined> };
    documentElement: { scrollHeight: number };
  };
}

/** An epoch record as the page shows it (apps/cli's metrics.jsonl fields). */
export interface PageRecord {
  epoch: number;
  eta_min: number;
  eta_mean: number;
  eta_max: number;
  train_loss: number;
  train_acc: number;
  test_loss: number;
  test_acc: number;
  samples_per_s: number;
  seconds: number;
}

/** What train_page.js exposes as globalThis.agdTrain (the serialisable part). */
export interface PageState {
  adapter: string;
  records: PageRecord[];
  points: { globalStep: number; loss: number; acc: number; eta: number }[];
  tests: { globalStep: number; loss: number; acc: number }[];
  seconds: number;
  onnxCheck: {
    provider: string;
    threads: number;
    total: number;
    same: number;
    pageTop: number[];
    onnxTop: number[];
    labels: number[];
    maxDiff: number;
  };
  downloads: { onnx: string; checkpoint: string };
  predictions: number;
  lastTop: number;
  lastOnnxTop: number;
  error: string;
}

/** A page under test and what it logged. */
export interface TrainSession {
  page: Page;
  /** Uncaught errors and failed requests. */
  problems: string[];
  /** Console messages. */
  log: string[];
  /** Closes the browser. */
  close(): Promise<void>;
}

/** Opens `url` (serve.ts's /train) in a fresh headless chromium. */
export async function openTrainPage(url: string): Promise<TrainSession> {
  const browser = await chromium.launch({ executablePath: CHROMIUM, args: [...CHROMIUM_ARGS] });
  const page = await browser.newPage({ viewport: { width: 1060, height: 900 } });
  const problems: string[] = [];
  const log: string[] = [];
  page.on("pageerror", (e) => problems.push(`page error: ${e.message}`));
  page.on("requestfailed", (r) => problems.push(`${r.url()}: ${r.failure()?.errorText}`));
  page.on("response", (r) => {
    if (r.status() >= 400) problems.push(`${r.url()}: HTTP ${r.status()}`);
  });
  page.on("console", (m) => log.push(`${m.type()}: ${m.text()}`));
  await page.goto(url);
  return { page, problems, log, close: () => browser.close() };
}

/** The page's state (globalThis.agdTrain). */
export function readState(page: Page): Promise<PageState> {
  return page.evaluate(() => {
    const s = (globalThis as unknown as { agdTrain: Record<string, unknown> }).agdTrain;
    const plain = { ...s, lastPixels: undefined, lastInput: undefined };
    return JSON.parse(JSON.stringify(plain));
  });
}

/** Waits for `body[data-state=state]`; an error state (or `ms` passing) fails with the page's message. */
export async function waitForState(
  session: TrainSession,
  state: string,
  ms: number,
): Promise<void> {
  const { page } = session;
  try {
    await page.waitForFunction(
      (s) =>
        ["error", s].includes(
          (globalThis as unknown as PageGlobals).document.body.dataset.state ?? "",
        ),
      state,
      { timeout: ms, polling: 500 },
    );
  } catch (e) {
    const shown = await page.textContent("#progress").catch(() => "?");
    throw new Error(
      `The training page did not reach "${state}" within ${ms / 1000} s (it shows "${shown}"; ` +
        `problems: ${session.problems.join("; ") || "none"})`,
      { cause: e },
    );
  }
  const now = await page.evaluate(() =>
    (globalThis as unknown as PageGlobals).document.body.dataset.state
  );
  if (now === "error") {
    throw new Error(
      `The training page failed: ${await page.textContent("#progress")} (problems: ${
        session.problems.join("; ") || "none"
      }; console: ${session.log.slice(-5).join(" | ")})`,
    );
  }
}

/** The page's full height in CSS pixels. */
export function pageHeight(page: Page): Promise<number> {
  return page.evaluate(() =>
    (globalThis as unknown as PageGlobals).document.documentElement.scrollHeight
  );
}

/** Fills the form with `settings`, presses Train and waits until the page has trained and exported. */
export async function trainInPage(
  session: TrainSession,
  settings: PageSettings,
  timeoutMs: number,
): Promise<PageState> {
  const { page } = session;
  await waitForState(session, "ready", 120_000);
  const fields: [string, number | undefined][] = [
    ["#depth", settings.depth],
    ["#width", settings.width],
    ["#gain", settings.gain ?? 1],
    ["#seed", settings.seed],
    ["#epochs", settings.epochs],
    ["#train-limit", settings.trainLimit],
    ["#test-every", settings.testEvery],
  ];
  for (const [selector, value] of fields) {
    if (selector === "#test-every" && value === undefined) continue; // the page's default
    await page.fill(selector, value === undefined ? "" : String(value));
  }
  await page.click("#train");
  await waitForState(session, "trained", timeoutMs);
  return await readState(page);
}

/**
 * Draws strokes (each a path in the 280×280 canvas's coordinates) and waits
 * until the page has classified the drawing after the last one.
 */
export async function draw(page: Page, strokes: [number, number][][]): Promise<void> {
  const count = () =>
    page.evaluate(() =>
      (globalThis as unknown as { agdTrain: { predictions: number } }).agdTrain.predictions
    );
  const target = (await count()) + strokes.length;
  const box = (await page.locator("#draw").boundingBox())!;
  for (const path of strokes) {
    await page.mouse.move(box.x + path[0][0], box.y + path[0][1]);
    await page.mouse.down();
    for (const [x, y] of path.slice(1)) await page.mouse.move(box.x + x, box.y + y, { steps: 8 });
    await page.mouse.up();
  }
  await page.waitForFunction(
    (n) =>
      (globalThis as unknown as { agdTrain: { predictions: number } }).agdTrain.predictions >= n,
    target,
    { timeout: 60_000 },
  );
}

/** A pair of trousers, in strokes (pen 26 px): a waistband, the crotch, two legs with a gap. */
export const TROUSERS: [number, number][][] = [
  [[88, 28], [192, 28]],
  [[95, 30], [88, 262]],
  [[115, 40], [114, 262]],
  [[185, 30], [192, 262]],
  [[165, 40], [166, 262]],
  [[120, 40], [140, 90], [160, 40]],
];
