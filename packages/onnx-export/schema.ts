/**
 * The official ONNX protobuf schema (`onnx.proto`, committed beside this file),
 * parsed by protobufjs at run time, and the encode/decode helpers built on it.
 *
 * @module
 */
import * as protobuf from "protobufjs";

/** The ONNX IR version written (IR 8: ONNX 1.12, the release that added opset 17). */
export const ONNX_IR_VERSION = 8;

let schema: Promise<protobuf.Root> | undefined;

/**
 * The parsed ONNX schema that {@link onnxSchema} returns: a protobufjs `Root`,
 * typed by the part of it this package promises, so that its public API does
 * not change with protobufjs's releases.
 */
export interface OnnxSchema {
  /**
   * The message type at a dotted path such as `onnx.ModelProto`.
   *
   * @throws {Error} when the schema has no such message
   */
  lookupType(path: string): OnnxMessageType;
}

/** One message type of the ONNX schema (a protobufjs `Type`), from {@link OnnxSchema.lookupType}. */
export interface OnnxMessageType {
  /** Field descriptors by their snake_case name: `id` is the field number, `type` its proto type. */
  readonly fields: { readonly [name: string]: { readonly id: number; readonly type: string } };
  /** Builds a message from a plain object (enums by name, int64 as numbers). */
  fromObject(object: Record<string, unknown>): object;
  /** Why `message` (a message or a plain object) does not fit this type, or null when it does. */
  verify(message: object): string | null;
  /** Serializes a message; `finish()` returns the bytes. */
  encode(message: object): { finish(): Uint8Array };
  /** Parses the serialized bytes of one message. */
  decode(bytes: Uint8Array): object;
  /**
   * Converts a message to a plain object; pass `{ longs: Number, enums: String }`
   * for int64 as numbers and enums by name.
   */
  toObject(
    message: object,
    options?: {
      longs?: NumberConstructor | StringConstructor;
      enums?: StringConstructor;
      defaults?: boolean;
      arrays?: boolean;
    },
  ): Record<string, unknown>;
}

/**
 * Loads and parses the committed `onnx.proto` (once per process) with
 * protobufjs, keeping the schema's snake_case field names.
 *
 * @returns the schema holding the `onnx.*` messages
 * @example
 * ```ts
 * import { onnxSchema } from "./schema.ts";
 * const root = await onnxSchema();
 * console.log(root.lookupType("onnx.ModelProto").fields.ir_version.id); // 1
 * ```
 */
export function onnxSchema(): Promise<OnnxSchema> {
  return loadRoot();
}

function loadRoot(): Promise<protobuf.Root> {
  schema ??= (async () => {
    const url = new URL("./onnx.proto", import.meta.url);
    // Deno reads a local copy from disk; a page (or a JSR import) fetches it.
    const deno = (globalThis as { Deno?: typeof Deno }).Deno;
    const text = url.protocol === "file:" && deno
      ? await deno.readTextFile(url)
      : await (await fetch(url)).text();
    return protobuf.parse(text, { keepCase: true }).root;
  })().catch((e: unknown) => {
    schema = undefined;
    throw new Error(`Cannot load the ONNX schema onnx.proto: ${(e as Error).message}`, {
      cause: e,
    });
  });
  return schema;
}

/**
 * Encodes a plain `onnx.ModelProto` object (snake_case fields, enums by name,
 * int64 as numbers, bytes as Uint8Array) after checking it against the schema.
 *
 * @param model the ModelProto as a plain object
 * @returns the serialized model
 */
export async function encodeModelProto(model: Record<string, unknown>): Promise<Uint8Array> {
  const ModelProto = (await loadRoot()).lookupType("onnx.ModelProto");
  const message = ModelProto.fromObject(model);
  const problem = ModelProto.verify(message);
  if (problem) throw new Error(`Cannot encode the ONNX model: ${problem}`);
  return ModelProto.encode(message).finish();
}

/**
 * Decodes a serialized ONNX model into a plain object (int64 as numbers, enums
 * by name, bytes as Uint8Array).
 *
 * @param bytes an .onnx file's contents
 * @returns the ModelProto as a plain object with snake_case fields
 */
export async function decodeModelProto(bytes: Uint8Array): Promise<Record<string, unknown>> {
  const ModelProto = (await loadRoot()).lookupType("onnx.ModelProto");
  return ModelProto.toObject(ModelProto.decode(bytes), {
    longs: Number,
    enums: String,
    defaults: false,
    arrays: true,
  });
}

/** A short description of an ONNX model, from {@link inspectOnnx}. */
export interface OnnxSummary {
  /** `ir_version`. */
  irVersion: number;
  /** Version of the default-domain opset. */
  opset: number;
  /** `producer_name`. */
  producer: string;
  /** `metadata_props` as a record. */
  metadata: Record<string, string>;
  /** Graph inputs with their dims (numbers, or dim_param names). */
  inputs: { name: string; dims: (number | string)[] }[];
  /** Graph outputs with their dims. */
  outputs: { name: string; dims: (number | string)[] }[];
  /** Node count per op type. */
  ops: Record<string, number>;
  /** Initializer names with their dims. */
  initializers: { name: string; dims: number[] }[];
}

type Dim = { dim_value?: number; dim_param?: string };
type ValueInfo = { name: string; type?: { tensor_type?: { shape?: { dim?: Dim[] } } } };

/**
 * Decodes an ONNX model and summarizes it: versions, metadata, inputs and
 * outputs with their dims, op counts and initializers.
 *
 * @param bytes an .onnx file's contents
 * @returns the summary
 * @example
 * ```ts ignore
 * import { inspectOnnx } from "@agd/onnx-export";
 * const info = await inspectOnnx(await Deno.readFile("model.onnx"));
 * console.log(info.metadata.arch, info.inputs[0].dims); // "fcn" ["batch", 1, 28, 28]
 * ```
 */
export async function inspectOnnx(bytes: Uint8Array): Promise<OnnxSummary> {
  const m = await decodeModelProto(bytes) as {
    ir_version?: number;
    producer_name?: string;
    opset_import?: { domain?: string; version?: number }[];
    metadata_props?: { key: string; value: string }[];
    graph?: {
      input?: ValueInfo[];
      output?: ValueInfo[];
      node?: { op_type: string }[];
      initializer?: { name: string; dims?: number[] }[];
    };
  };
  const dims = (v: ValueInfo): (number | string)[] =>
    (v.type?.tensor_type?.shape?.dim ?? []).map((d) => d.dim_param ?? d.dim_value ?? "?");
  const ops: Record<string, number> = {};
  for (const n of m.graph?.node ?? []) ops[n.op_type] = (ops[n.op_type] ?? 0) + 1;
  return {
    irVersion: m.ir_version ?? 0,
    opset: m.opset_import?.find((o) => !o.domain)?.version ?? 0,
    producer: m.producer_name ?? "",
    metadata: Object.fromEntries((m.metadata_props ?? []).map((p) => [p.key, p.value])),
    inputs: (m.graph?.input ?? []).map((v) => ({ name: v.name, dims: dims(v) })),
    outputs: (m.graph?.output ?? []).map((v) => ({ name: v.name, dims: dims(v) })),
    ops,
    initializers: (m.graph?.initializer ?? []).map((t) => ({ name: t.name, dims: t.dims ?? [] })),
  };
}
