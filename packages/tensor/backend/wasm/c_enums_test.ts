// The named codes declared in TypeScript against the C sources they describe
// (no build needed): every enum of a family's wasm.ts equals its C `enum`,
// enumerator by enumerator, as uniforms_test.ts checks the WGSL.
import assert from "node:assert/strict";
import { CONV_C } from "../../ops/conv/wasm.ts";
import { ELEMENTWISE_C } from "../../ops/elementwise/wasm.ts";
import { POOL_C } from "../../ops/pool/wasm.ts";
import { type CDeclarations, cEnumerators } from "./kernel.ts";

const FAMILIES: readonly CDeclarations[] = [CONV_C, ELEMENTWISE_C, POOL_C];

/** Every `enum tag { NAME = code, … }` of a C source: tag → enumerator → code. */
function cEnums(source: string): Map<string, Map<string, number>> {
  const text = source.replace(/\/\/[^\n]*/g, "").replace(/\/\*[\s\S]*?\*\//g, "");
  const enums = new Map<string, Map<string, number>>();
  for (const [, tag, body] of text.matchAll(/\benum\s+(\w+)\s*\{([^}]*)\}/g)) {
    const values = new Map<string, number>();
    for (const item of body.split(",").map((s) => s.trim()).filter(Boolean)) {
      const m = item.match(/^(\w+)\s*=\s*(\d+)$/);
      assert.ok(m, `enum ${tag}: give every enumerator an explicit code (${item})`);
      values.set(m[1], Number(m[2]));
    }
    enums.set(tag, values);
  }
  return enums;
}

for (const family of FAMILIES) {
  const file = family.file.pathname.split("/").slice(-2).join("/");
  Deno.test(`${file}: every enum equals its TypeScript declaration`, async () => {
    const enums = cEnums(await Deno.readTextFile(family.file));
    for (const e of family.enums) {
      const c = enums.get(e.name);
      assert.ok(c, `${file} declares no enum ${e.name}`);
      const names = cEnumerators(e);
      const expected = new Map(Object.entries(e.codes).map(([k, v]) => [names[k as never], v]));
      assert.deepEqual(c, expected, `enum ${e.name} of ${file}`);
    }
  });
}

Deno.test("cEnums reads explicit codes and rejects implicit ones", () => {
  const enums = cEnums("// x\nenum op { OP_A = 0, /* b */ OP_B = 3, };");
  assert.deepEqual(enums.get("op"), new Map([["OP_A", 0], ["OP_B", 3]]));
  assert.throws(() => cEnums("enum op { OP_A, OP_B };"), /explicit code/);
});
