// Vite config of the test page: the workspace packages resolve to their
// sources (what a web developer does with a monorepo, or with `npx jsr add`
// after which the same specifiers resolve to node_modules). Every entry of
// each package's `exports` map becomes an alias, so subpath imports
// (`@agd/tensor/random`, `@agd/datasets/memory`) resolve as Deno resolves them.
import { readdirSync, readFileSync } from "node:fs";

const packages = new URL("../../packages/", import.meta.url).pathname;

/** `@agd/x` and `@agd/x/sub` → the files their deno.json `exports` name. */
function workspaceAliases(): { find: RegExp; replacement: string }[] {
  const aliases = [];
  for (const dir of readdirSync(packages)) {
    const config = JSON.parse(readFileSync(`${packages}${dir}/deno.json`, "utf8"));
    const exports: Record<string, string> = typeof config.exports === "string"
      ? { ".": config.exports }
      : config.exports;
    for (const [sub, file] of Object.entries(exports)) {
      const specifier = config.name + sub.slice(1);
      aliases.push({
        find: new RegExp(`^${specifier.replaceAll("/", "\\/")}$`),
        replacement: `${packages}${dir}/${file.replace(/^\.\//, "")}`,
      });
    }
  }
  return aliases;
}

export default {
  root: new URL(".", import.meta.url).pathname,
  base: "./",
  logLevel: "warn",
  resolve: { alias: workspaceAliases() },
  // The packages use top-level await and other ES2022+ syntax; every browser with WebGPU has it.
  build: { target: "esnext" },
};
