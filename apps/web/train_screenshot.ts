/**
 * The README's picture of the training page: serves apps/web, trains one epoch
 * of Fashion-MNIST in headless chromium (WebGPU on SwiftShader), draws a pair
 * of trousers, and captures the whole page with DevTools'
 * `Page.captureScreenshot`.
 *
 * ```sh
 * deno run -A apps/web/train_screenshot.ts [--out docs/train_page.png] [--train-limit N]
 * ```
 *
 * @module
 */
import { parseArgs } from "node:util";
import { draw, openTrainPage, pageHeight, trainInPage, TROUSERS } from "./_train_driver.ts";
import { startServer } from "./serve.ts";

const { values } = parseArgs({
  args: Deno.args,
  options: {
    out: { type: "string", default: "docs/train_page.png" },
    "train-limit": { type: "string" },
  },
});
const server = await startServer();
const session = await openTrainPage(`${server.url}train`);
try {
  const limit = values["train-limit"] ? Number(values["train-limit"]) : undefined;
  const state = await trainInPage(
    session,
    { depth: 4, width: 128, seed: 0, epochs: 1, trainLimit: limit },
    1_800_000,
  );
  await draw(session.page, TROUSERS);
  const cdp = await session.page.context().newCDPSession(session.page);
  const { data } = await cdp.send("Page.captureScreenshot", {
    format: "png",
    captureBeyondViewport: true,
    clip: {
      x: 0,
      y: 0,
      width: 1060,
      height: await pageHeight(session.page),
      scale: 1,
    },
  });
  await Deno.writeFile(values.out, Uint8Array.from(atob(data), (c) => c.charCodeAt(0)));
  const r = state.records[0];
  console.log(
    `${values.out}: test accuracy ${(100 * r.test_acc).toFixed(2)}%, ${
      r.samples_per_s.toFixed(0)
    } samples/s, ${state.seconds.toFixed(1)} s`,
  );
} finally {
  await session.close();
  await server.close();
}
