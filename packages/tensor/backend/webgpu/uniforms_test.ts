// The uniform blocks and named codes declared in TypeScript against the WGSL
// they describe (no GPU needed): every `var<uniform>` struct of every family's
// .wgsl equals its declaration field by field, and every MODE_/OP const
// equals its table entry.
import assert from "node:assert/strict";
import { CONV_WGSL } from "../../ops/conv/gpu.ts";
import { ELEMENTWISE_WGSL } from "../../ops/elementwise/gpu.ts";
import { LOSS_WGSL } from "../../ops/loss/gpu.ts";
import { MATMUL_WGSL } from "../../ops/matmul/gpu.ts";
import { MISC_WGSL } from "../../ops/misc/gpu.ts";
import { NORM_WGSL } from "../../ops/norm/gpu.ts";
import { OPTIM_WGSL } from "../../ops/optim/gpu.ts";
import { POOL_WGSL } from "../../ops/pool/gpu.ts";
import { REDUCE_WGSL } from "../../ops/reduce/gpu.ts";
import { readWgslFamilies } from "../../tools/gen_wgsl.ts";
import {
  encodeUniforms,
  type UniformFields,
  type UniformLayout,
  uniformLayout,
  wgslConstNames,
  type WgslDeclarations,
  wgslTypeName,
} from "./uniforms.ts";

const FAMILIES: readonly WgslDeclarations[] = [
  CONV_WGSL,
  ELEMENTWISE_WGSL,
  LOSS_WGSL,
  MATMUL_WGSL,
  MISC_WGSL,
  NORM_WGSL,
  OPTIM_WGSL,
  POOL_WGSL,
  REDUCE_WGSL,
];

/** WGSL without its `//` comments. */
function stripComments(source: string): string {
  return source.replace(/\/\/[^\n]*/g, "");
}

/** Splits `text` at commas outside `<...>`. */
function splitTopLevel(text: string): string[] {
  const parts: string[] = [];
  let depth = 0;
  let start = 0;
  for (let i = 0; i < text.length; i++) {
    if (text[i] === "<") depth++;
    else if (text[i] === ">") depth--;
    else if (text[i] === "," && depth === 0) {
      parts.push(text.slice(start, i));
      start = i + 1;
    }
  }
  parts.push(text.slice(start));
  return parts.map((p) => p.trim()).filter((p) => p.length > 0);
}

/** Every `struct` of a WGSL source: name → [field, type] in order. */
function parseStructs(source: string): Map<string, [string, string][]> {
  const structs = new Map<string, [string, string][]>();
  for (const m of stripComments(source).matchAll(/struct\s+(\w+)\s*\{([^}]*)\}/g)) {
    const fields = splitTopLevel(m[2]).map((f): [string, string] => {
      const [name, ...type] = f.split(":");
      return [name.trim(), normalise(type.join(":"))];
    });
    structs.set(m[1], fields);
  }
  return structs;
}

/** The structs a source binds as `var<uniform>`. */
function uniformStructs(source: string): Set<string> {
  const names = new Set<string>();
  for (const m of stripComments(source).matchAll(/var<uniform>\s+\w+\s*:\s*(\w+)/g)) {
    names.add(m[1]);
  }
  return names;
}

/** `const NAME = <n>u;` declarations of a source. */
function parseConsts(source: string): Map<string, number> {
  const consts = new Map<string, number>();
  for (const m of stripComments(source).matchAll(/\bconst\s+(\w+)\s*=\s*(\d+)u\s*;/g)) {
    consts.set(m[1], Number(m[2]));
  }
  return consts;
}

/** A layout and the element layouts of its struct arrays. */
function withNested(
  layout: UniformLayout<UniformFields>,
): UniformLayout<UniformFields>[] {
  const nested = Object.values(layout.fields).flatMap((t) =>
    typeof t === "string" ? [] : withNested(t.struct)
  );
  return [layout, ...nested];
}

/** The normalised WGSL spelling of a declared type (as parseStructs writes them). */
function normalise(type: string): string {
  return type.trim().replace(/\s+/g, " ").replace(/ ?([<>]) ?/g, "$1");
}

Deno.test("every ops/*/*.wgsl file has its declarations", async () => {
  const files = (await readWgslFamilies()).flatMap((f) => f.files.map((w) => w.name)).sort();
  assert.deepEqual(FAMILIES.map((f) => f.file).sort(), files);
  for (const family of await readWgslFamilies()) {
    for (const w of family.files) {
      const decl = FAMILIES.find((f) => f.file === w.name)!;
      assert.equal(decl.source, w.text, `${w.name}: generated string differs from the file`);
    }
  }
});

for (const family of FAMILIES) {
  Deno.test(`${family.file}: each uniform struct equals its declaration (names, types, order, pads)`, () => {
    const structs = parseStructs(family.source);
    const declared = family.uniforms.flatMap(withNested);
    const names = new Set(declared.map((l) => l.name));
    for (const bound of uniformStructs(family.source)) {
      assert.ok(names.has(bound), `${family.file}: var<uniform> of ${bound} has no declaration`);
    }
    for (const layout of declared) {
      const wgsl = structs.get(layout.name);
      assert.ok(wgsl, `${family.file}: declared struct ${layout.name} is not in the WGSL`);
      const ts = Object.entries(layout.fields).map(([n, t]) => [n, normalise(wgslTypeName(t))]);
      assert.deepEqual(
        wgsl,
        ts,
        `${family.file}: struct ${layout.name} differs from its declaration`,
      );
      // Every pad is explicit: fields follow each other with no implicit gap,
      // so the byte offsets read off the WGSL text are the encoder's.
      let end = 0;
      for (const [field, type] of Object.entries(layout.fields)) {
        assert.equal(layout.offsets[field], end, `${layout.name}.${field}: implicit padding`);
        end += typeof type === "string"
          ? (type.startsWith("array")
            ? 16 * Number(/(\d+)>$/.exec(type)![1])
            : type.startsWith("vec4")
            ? 16
            : 4)
          : Math.ceil(type.struct.size / 16) * 16 * type.count;
      }
      assert.equal(
        layout.size % 16,
        0,
        `${layout.name}: size ${layout.size} is not a multiple of 16`,
      );
    }
  });

  Deno.test(`${family.file}: each named code equals its WGSL const`, () => {
    const consts = parseConsts(family.source);
    for (const e of family.enums) {
      const names = wgslConstNames(e);
      for (const [key, code] of Object.entries(e.codes)) {
        const name = names[key as keyof typeof names];
        assert.equal(consts.get(name), code, `${family.file}: const ${name} should be ${code}u`);
      }
      const wgslNames = [...consts.keys()].filter((n) => n.startsWith(e.prefix)).sort();
      assert.deepEqual(
        wgslNames,
        Object.values(names).sort(),
        `${family.file}: ${e.prefix}* consts`,
      );
    }
  });
}

Deno.test("uniformLayout follows WGSL's uniform layout rules", () => {
  const inner = uniformLayout("Inner", { a: "u32", b: "f32" });
  const l = uniformLayout("Outer", {
    n: "u32",
    v: "vec4<f32>",
    x: "i32",
    d: "array<vec4<u32>, 2>",
    s: { struct: inner, count: 3 },
    tail: "f32",
  });
  // vec4 and arrays align to 16; a struct in a uniform array strides 16.
  assert.deepEqual(l.offsets, { n: 0, v: 16, x: 32, d: 48, s: 80, tail: 128 });
  assert.equal(l.size, 144);
  assert.equal(inner.size, 8);
});

Deno.test("encodeUniforms fills by field name; fields left out are zero", () => {
  const span = uniformLayout("Span", { n: "u32", w: "f32", pad0: "u32", pad1: "u32" });
  const l = uniformLayout("Block", {
    count: "u32",
    bias: "i32",
    scale: "f32",
    pad: "u32",
    dims: "array<vec4<u32>, 2>",
    s: { struct: span, count: 2 },
  });
  const bytes = encodeUniforms(l, {
    scale: 0.5,
    bias: -3,
    dims: [7, 8, 9],
    s: [{}, { n: 4, w: 2 }],
  });
  assert.equal(bytes.byteLength, 80);
  const u = new Uint32Array(bytes);
  const i = new Int32Array(bytes);
  const f = new Float32Array(bytes);
  assert.equal(u[0], 0);
  assert.equal(i[1], -3);
  assert.equal(f[2], 0.5);
  assert.deepEqual([...u.slice(4, 12)], [7, 8, 9, 0, 0, 0, 0, 0]);
  assert.deepEqual([u[16], f[17]], [4, 2]);
  assert.equal(encodeUniforms(uniformLayout("One", { n: "u32" }), { n: 1 }).byteLength, 16);
});

Deno.test("encodeUniforms refuses unknown fields and values that do not fit", () => {
  const l = uniformLayout("Block", { n: "u32", d: "array<vec4<u32>, 2>" });
  assert.throws(
    () =>
      encodeUniforms(
        l,
        { m: 1 } as unknown as Parameters<typeof encodeUniforms<typeof l.fields>>[1],
      ),
    /no such field/,
  );
  assert.throws(() => encodeUniforms(l, { d: [1, 2, 3, 4, 5, 6, 7, 8, 9] }), /exceed/);
});
