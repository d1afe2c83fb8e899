import assert from "node:assert/strict";
import { checkGenerated, constName, readWgslFiles, renderWgslModule } from "./gen_wgsl.ts";
import * as generated from "../backend/webgpu/kernels/wgsl.generated.ts";

Deno.test("wgsl.generated.ts is up to date with the .wgsl files (else: deno task gen:wgsl)", async () => {
  const { fresh } = await checkGenerated();
  assert.ok(
    fresh,
    "packages/tensor/backend/webgpu/kernels/wgsl.generated.ts is stale: run `deno task gen:wgsl`.",
  );
});

Deno.test("wgsl.generated.ts: one constant per .wgsl file, equal to the file's text", async () => {
  const files = await readWgslFiles();
  assert.ok(files.length > 0);
  const consts = generated as Record<string, string>;
  assert.deepEqual(Object.keys(consts).sort(), files.map((f) => constName(f.name)).sort());
  for (const f of files) assert.equal(consts[constName(f.name)], f.text, f.name);
});

Deno.test("renderWgslModule: exact round trip of awkward text, independent of input order", async () => {
  const files = [
    { name: "b_two.wgsl", text: "no trailing newline ` \\ ${x} $ {y} \\`" },
    { name: "a.wgsl", text: "\nstarts with a newline\r\nCRLF\ttab \u2028 ü×ᵀ\n" },
    { name: "empty.wgsl", text: "" },
  ];
  const text = renderWgslModule(files);
  assert.equal(renderWgslModule([...files].reverse()), text);
  const url = `data:application/typescript;base64,${
    btoa(String.fromCharCode(...new TextEncoder().encode(text)))
  }`;
  const mod = await import(url) as Record<string, string>;
  assert.deepEqual(Object.keys(mod).sort(), ["aWgsl", "bTwoWgsl", "emptyWgsl"]);
  for (const f of files) assert.equal(mod[constName(f.name)], f.text);
});

Deno.test("constName refuses names that are not snake_case", () => {
  assert.equal(constName("conv_backward.wgsl"), "convBackwardWgsl");
  assert.throws(() => constName("Conv-2d.wgsl"), /snake_case/);
});
