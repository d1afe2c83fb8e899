// The packages in a web page, as a web developer would use them.
// 1. Every browser entry point bundles for the browser with no `node:` import
//    and no unguarded `Deno.` (onnx-export included, which the page below does
//    not use).
// 2. The small training program of browser_app/training.ts (a tiny fcn, AGD
//    on WebGPU) is bundled by `deno bundle --platform browser`, and
// 3. built by a Vite 7 production build; each page, run in headless chromium
//    with WebGPU on SwiftShader, must report the η that the same program (same
//    seed, same batch) gives in this Deno process on Deno's WebGPU, to 1e-5.
// The builds fail on what a page cannot load (text imports of .wgsl, native
// npm packages), the pages on a `node:` import or a `Deno.` reached at run
// time. 2 and 3 are ignored, saying why, without chromium or without a WebGPU
// adapter in Deno.
import assert from "node:assert/strict";
import { hasWebGPU } from "@agd/tensor";
import { CHROMIUM, hasChromium, runPage, serveDir } from "./_chromium.ts";
import {
  type PageResult,
  runTinyTraining,
  TINY,
  type TinyTrainingResult,
} from "./browser_app/training.ts";

/** |η_page − η_Deno| allowed at every step. */
const TOLERANCE = 1e-5;
const ROOT = new URL("../", import.meta.url).pathname;
const APP = "tests/browser_app/";

const denoWebGPU = await hasWebGPU();
const skipReason = !hasChromium
  ? `${CHROMIUM} is missing (apt-get install -y chromium)`
  : !denoWebGPU
  ? "Deno has no WebGPU adapter for the reference run (apt-get install -y mesa-vulkan-drivers)"
  : undefined;
if (skipReason) console.warn(`tests/browser_test.ts: the page tests are ignored: ${skipReason}.`);

let reference: Promise<TinyTrainingResult> | undefined;
/** The program's result in this Deno process (computed once for both pages). */
const denoRun = (): Promise<TinyTrainingResult> => (reference ??= runTinyTraining());

/** Runs `deno <args>` in the repository root; throws with its output when it fails. */
async function deno(args: string[]): Promise<string> {
  const out = await new Deno.Command(Deno.execPath(), {
    args,
    cwd: ROOT,
    stdout: "piped",
    stderr: "piped",
    env: { NO_COLOR: "1" },
  }).output();
  const text = new TextDecoder().decode(out.stdout) + new TextDecoder().decode(out.stderr);
  if (!out.success) throw new Error(`deno ${args.join(" ")} failed (${out.code}):\n${text}`);
  return text;
}

/** Serves `dir`, runs its page in chromium and checks η against the Deno run. */
async function checkPage(dir: string, what: string): Promise<void> {
  const server = serveDir(dir);
  try {
    const [{ value, log }, expected] = await Promise.all([
      runPage<PageResult>(server.url, "agdResult"),
      denoRun(),
    ]);
    if (!value.ok) {
      assert.fail(`The ${what} page failed: ${value.error}\npage log:\n${log.join("\n")}`);
    }
    const page = value.result;
    assert.equal(page.etas.length, TINY.steps);
    const dEta = page.etas.map((e, i) => Math.abs(e - expected.etas[i]));
    const dLoss = page.losses.map((l, i) => Math.abs(l - expected.losses[i]));
    console.log(
      `${what}: page on ${page.adapter}, Deno on ${expected.adapter}\n` +
        `  η page ${page.etas.join(", ")}\n  η Deno ${expected.etas.join(", ")}\n` +
        `  max |Δη| ${Math.max(...dEta)}, max |Δloss| ${Math.max(...dLoss)}`,
    );
    for (const e of page.etas) assert.ok(Number.isFinite(e) && e > 0, `η = ${e} on the page`);
    dEta.forEach((d, i) =>
      assert.ok(
        d <= TOLERANCE,
        `η of step ${i + 1} differs by ${d} (page ${page.etas[i]}, Deno ${
          expected.etas[i]
        }): more than ${TOLERANCE}`,
      )
    );
  } finally {
    await server.close();
  }
}

/** What a web page imports: each must bundle for the browser without Node.js or Deno. */
const BROWSER_ENTRIES = [
  "packages/tensor/mod.ts",
  "packages/agd/mod.ts",
  "packages/models/mod.ts",
  "packages/onnx-export/mod.ts",
  "packages/datasets/memory.ts",
];

Deno.test("browser entry points bundle with no node: import and no unguarded Deno", async () => {
  const dir = await Deno.makeTempDir({ prefix: "agd_entries_" });
  try {
    for (const entry of BROWSER_ENTRIES) {
      const out = `${dir}/${entry.replaceAll("/", "_")}.js`;
      await deno(["bundle", "--platform", "browser", "-o", out, entry]);
      const code = await Deno.readTextFile(out);
      // Comments are stripped by the bundler; `globalThis.Deno` is the guarded form.
      const found = [
        ...code.matchAll(/["']node:[\w/]+["']|(?<![.\w$])Deno\.\w+/g),
      ].map((m) => m[0]);
      assert.deepEqual(
        [...new Set(found)],
        [],
        `${entry} reaches ${[...new Set(found)].join(", ")}, which a web page cannot load`,
      );
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test({
  name: "deno bundle --platform browser: the page's η equals Deno's to 1e-5 (chromium, WebGPU)",
  ignore: skipReason !== undefined,
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    const dir = await Deno.makeTempDir({ prefix: "agd_bundle_" });
    try {
      await deno(["bundle", "--platform", "browser", "-o", `${dir}/main.js`, `${APP}main.ts`]);
      const html = await Deno.readTextFile(`${ROOT}${APP}index.html`);
      assert.match(html, /src="\.\/main\.ts"/);
      await Deno.writeTextFile(
        `${dir}/index.html`,
        html.replace('src="./main.ts"', 'src="./main.js"'),
      );
      await checkPage(dir, "deno bundle");
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});

Deno.test({
  name: "vite 7 production build: the page's η equals Deno's to 1e-5 (chromium, WebGPU)",
  ignore: skipReason !== undefined,
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    const dir = await Deno.makeTempDir({ prefix: "agd_vite_" });
    try {
      // npm:vite@7 installs itself into Deno's cache on first use: no npm step.
      await deno([
        "run",
        "-A",
        "npm:vite@7",
        "build",
        "--config",
        `${APP}vite.config.ts`,
        "--outDir",
        dir,
        "--emptyOutDir",
      ]);
      await checkPage(dir, "vite build");
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});
