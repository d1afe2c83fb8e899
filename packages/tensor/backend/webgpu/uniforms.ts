/**
 * Uniform blocks and named kernel codes, each declared once in TypeScript.
 *
 * A kernel's uniform block is a {@link UniformLayout}: the WGSL struct's name
 * and its fields (names and WGSL types, in order, pads included). Offsets
 * follow WGSL's layout rules for the uniform address space (WGSL §14.4:
 * scalars align to 4, `vec4` and arrays of `vec4` to 16, structs inside a
 * uniform array to a multiple of 16), and {@link encodeUniforms} fills the
 * bytes by field name. `uniforms_test.ts` parses every `struct` bound as
 * `var<uniform>` in the `.wgsl` files and proves it equals its declaration
 * field by field, so the WGSL and the encoder cannot drift apart.
 *
 * Kernel modes and op selectors that WGSL branches on are a
 * {@link WgslEnum}: a table keyed by name whose WGSL twins are
 * `const PREFIX_NAME = <code>u;` declarations, checked by the same test.
 * TypeScript passes the names; the numbers appear only in the table.
 *
 * @module
 */

/** A field type the uniform blocks use (one 32-bit scalar, a vec4, or an array of vec4). */
export type WgslPlainType =
  | "u32"
  | "i32"
  | "f32"
  | "vec4<u32>"
  | "vec4<i32>"
  | "vec4<f32>"
  | `array<vec4<${"u32" | "i32" | "f32"}>, ${number}>`;

/** A fixed-size array of another declared struct (`array<Span, 4>`). */
export interface WgslStructArray {
  /** The element struct. */
  readonly struct: UniformLayout<UniformFields>;
  /** The element count. */
  readonly count: number;
}

/** A field's WGSL type. */
export type WgslFieldType = WgslPlainType | WgslStructArray;

/** The fields of a uniform block, in WGSL order: name → WGSL type. */
export type UniformFields = Readonly<Record<string, WgslFieldType>>;

/** The value a field takes: a number, up to 4·N numbers for vec4 arrays, or element records. */
export type UniformValue<T extends WgslFieldType> = T extends WgslStructArray
  ? readonly UniformValues<T["struct"]["fields"]>[]
  : T extends "u32" | "i32" | "f32" ? number
  : readonly number[];

/**
 * Values of a block by field name. A field left out is zero (as are the
 * unfilled tail of an array and explicit pad fields).
 */
export type UniformValues<F extends UniformFields> = {
  readonly [K in keyof F]?: UniformValue<F[K]>;
};

/** A uniform block's declaration and its computed byte layout. */
export interface UniformLayout<F extends UniformFields> {
  /** The WGSL struct's name. */
  readonly name: string;
  /** Field name → WGSL type, in WGSL order. */
  readonly fields: F;
  /** Field name → byte offset. */
  readonly offsets: { readonly [K in keyof F]: number };
  /** The struct's alignment in the uniform address space, in bytes. */
  readonly align: number;
  /** The struct's size (rounded up to its alignment), in bytes. */
  readonly size: number;
}

/** The WGSL spelling of a field type (`array<Span, 4>` for a struct array). */
export function wgslTypeName(t: WgslFieldType): string {
  return typeof t === "string" ? t : `array<${t.struct.name}, ${t.count}>`;
}

/** Element stride of a struct array in the uniform address space (a multiple of 16). */
function structStride(t: WgslStructArray): number {
  return Math.ceil(t.struct.size / 16) * 16;
}

/** Alignment and size of one field, by the uniform-address-space rules. */
function alignSize(t: WgslFieldType): { align: number; size: number } {
  if (typeof t !== "string") {
    return { align: Math.max(16, t.struct.align), size: structStride(t) * t.count };
  }
  if (t === "u32" || t === "i32" || t === "f32") return { align: 4, size: 4 };
  if (t.startsWith("vec4<")) return { align: 16, size: 16 };
  const count = Number(/, (\d+)>$/.exec(t)?.[1]);
  if (!Number.isInteger(count) || count < 1) {
    throw new Error(`Cannot lay out uniform type ${t}: expected array<vec4<T>, N> with N ≥ 1.`);
  }
  return { align: 16, size: 16 * count };
}

/**
 * Declares a uniform block and computes its offsets.
 *
 * @param name the WGSL struct's name
 * @param fields field name → WGSL type, in the struct's order (pads included)
 * @returns the layout, for {@link encodeUniforms}
 * @example
 * ```ts
 * import { encodeUniforms, uniformLayout } from "./uniforms.ts";
 * const MM = uniformLayout("Mm", { m: "u32", n: "u32", k: "u32", alpha: "f32" });
 * const bytes = encodeUniforms(MM, { m: 2, n: 3, k: 4, alpha: 0.5 });
 * console.assert(bytes.byteLength === 16 && MM.offsets.alpha === 12);
 * ```
 */
export function uniformLayout<const F extends UniformFields>(
  name: string,
  fields: F,
): UniformLayout<F> {
  const offsets: Record<string, number> = {};
  let offset = 0;
  let align = 4;
  for (const [field, type] of Object.entries(fields)) {
    const f = alignSize(type);
    offset = Math.ceil(offset / f.align) * f.align;
    offsets[field] = offset;
    offset += f.size;
    align = Math.max(align, f.align);
  }
  const size = Math.ceil(offset / align) * align;
  return { name, fields, offsets: offsets as { [K in keyof F]: number }, align, size };
}

/** Writes `values` of `layout` into `view` at byte `base`. */
function write<F extends UniformFields>(
  view: DataView,
  base: number,
  layout: UniformLayout<F>,
  values: UniformValues<F>,
): void {
  for (const [field, value] of Object.entries(values) as [string, unknown][]) {
    const type = layout.fields[field];
    if (type === undefined) {
      throw new Error(
        `Cannot encode uniform ${layout.name}.${field}: the block has no such field; declare it.`,
      );
    }
    if (value === undefined) continue;
    const at = base + layout.offsets[field];
    if (typeof type !== "string") {
      const elements = value as readonly UniformValues<UniformFields>[];
      if (elements.length > type.count) {
        throw new Error(
          `Cannot encode uniform ${layout.name}.${field}: ${elements.length} elements exceed its ${type.count}.`,
        );
      }
      elements.forEach((e, i) => write(view, at + i * structStride(type), type.struct, e));
      continue;
    }
    const scalar = type.includes("f32") ? "f32" : type.includes("i32") ? "i32" : "u32";
    const words = typeof value === "number" ? [value] : value as readonly number[];
    const capacity = alignSize(type).size / 4;
    if (words.length > capacity) {
      throw new Error(
        `Cannot encode uniform ${layout.name}.${field}: ${words.length} values exceed its ${capacity} (${type}).`,
      );
    }
    words.forEach((v, i) => {
      if (scalar === "f32") view.setFloat32(at + 4 * i, v, true);
      else if (scalar === "i32") view.setInt32(at + 4 * i, v, true);
      else view.setUint32(at + 4 * i, v >>> 0, true);
    });
  }
}

/**
 * The bytes of a uniform block, filled by field name (fields left out are
 * zero), padded to a multiple of 16 bytes.
 *
 * @param layout the block's declaration
 * @param values field name → value
 * @returns the block, ready for {@link Dispatch.uniforms}
 * @example
 * ```ts
 * import { encodeUniforms, uniformLayout } from "./uniforms.ts";
 * const STRIDED = uniformLayout("Strided", { n: "u32", shape: "array<vec4<u32>, 2>" });
 * const bytes = encodeUniforms(STRIDED, { n: 6, shape: [2, 3] });
 * console.assert(new Uint32Array(bytes)[5] === 3);
 * ```
 */
export function encodeUniforms<F extends UniformFields>(
  layout: UniformLayout<F>,
  values: UniformValues<F>,
): ArrayBuffer {
  const buffer = new ArrayBuffer(Math.max(16, Math.ceil(layout.size / 16) * 16));
  write(new DataView(buffer), 0, layout, values);
  return buffer;
}

/**
 * Named u32 codes a shader branches on (an op selector or a kernel mode):
 * TypeScript passes `codes[name]` as an `override` constant or uniform; the
 * WGSL declares `const ${prefix}${NAME} = <code>u;` for each and compares
 * against those names only.
 */
export interface WgslEnum<K extends string> {
  /** Prefix of the WGSL const names (`UNARY_`). */
  readonly prefix: string;
  /** Name → code. */
  readonly codes: Readonly<Record<K, number>>;
}

/**
 * Declares a {@link WgslEnum}.
 *
 * @param prefix prefix of the WGSL const names
 * @param codes name → code (names in snake_case: `nan_to_num` → `UNARY_NAN_TO_NUM`)
 * @returns the enum
 * @example
 * ```ts
 * import { wgslConstNames, wgslEnum } from "./uniforms.ts";
 * const MODE = wgslEnum("MODE_", { forward: 0, backward: 1 });
 * console.assert(wgslConstNames(MODE).backward === "MODE_BACKWARD");
 * ```
 */
export function wgslEnum<const K extends string>(
  prefix: string,
  codes: Readonly<Record<K, number>>,
): WgslEnum<K> {
  return { prefix, codes };
}

/**
 * The WGSL const name of each entry of an enum.
 *
 * @param e the enum
 * @returns name → WGSL const name (`PREFIX_NAME`, upper case)
 */
export function wgslConstNames<K extends string>(e: WgslEnum<K>): Record<K, string> {
  const out = {} as Record<K, string>;
  for (const k of Object.keys(e.codes) as K[]) out[k] = e.prefix + k.toUpperCase();
  return out;
}

/** What one family's WGSL source must agree with: its uniform blocks and enums. */
export interface WgslDeclarations {
  /** The `.wgsl` file's name (for messages). */
  readonly file: string;
  /** Its text. */
  readonly source: string;
  /** Every uniform block its entry points bind (and struct-array elements of them). */
  // deno-lint-ignore no-explicit-any
  readonly uniforms: readonly UniformLayout<any>[];
  /** Every named code table it branches on. */
  readonly enums: readonly WgslEnum<string>[];
}
