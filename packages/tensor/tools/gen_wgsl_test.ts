import assert from "node:assert/strict";
import { checkGenerated, constName, readWgslFamilies, renderWgslModule } from "./gen_wgsl.ts";

Deno.test("the *_wgsl.generated.ts modules are up to date with the .wgsl files (else: deno task gen:wgsl)", async () => {
  const states = await checkGenerated();
  assert.ok(states.length > 0);
  const stale = states.filter((s) => !s.fresh).map((s) => s.family);
  assert.deepEqual(
    stale,
    [],
    `ops/{${stale.join(",")}}/*_wgsl.generated.ts stale: run \`deno task gen:wgsl\`.`,
  );
});

Deno.test("*_wgsl.generated.ts: one constant per .wgsl file of its folder, equal to the file's text", async () => {
  for (const { family, files } of await readWgslFamilies()) {
    const consts = await import(`../ops/${family}/${family}_wgsl.generated.ts`) as Record<
      string,
      string
    >;
    assert.deepEqual(Object.keys(consts).sort(), files.map((f) => constName(f.name)).sort());
    for (const f of files) assert.equal(consts[constName(f.name)], f.text, f.name);
  }
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
