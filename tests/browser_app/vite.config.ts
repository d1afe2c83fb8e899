// Vite config of the test page: the workspace packages resolve to their
// sources (what a web developer does with a monorepo, or with `npx jsr add`
// after which the same specifiers resolve to node_modules).
const packages = new URL("../../packages/", import.meta.url).pathname;

export default {
  root: new URL(".", import.meta.url).pathname,
  base: "./",
  logLevel: "warn",
  resolve: {
    alias: [
      { find: /^@agd\/tensor$/, replacement: `${packages}tensor/mod.ts` },
      { find: /^@agd\/agd$/, replacement: `${packages}agd/mod.ts` },
      { find: /^@agd\/models$/, replacement: `${packages}models/mod.ts` },
      { find: /^@agd\/datasets\/memory$/, replacement: `${packages}datasets/memory.ts` },
    ],
  },
  // The packages use top-level await and other ES2022+ syntax; every browser with WebGPU has it.
  build: { target: "esnext" },
};
