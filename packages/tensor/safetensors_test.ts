import assert from "node:assert/strict";
import {
  decodeSafetensors,
  encodeSafetensors,
  readSafetensors,
  type SafeTensor,
  SafetensorsError,
  toFloat32,
  toInt32,
  writeSafetensors,
} from "./safetensors.ts";

const FIXTURES = new URL("../../tests/fixtures/", import.meta.url);

/** Builds a file from a raw header object and data bytes (for corrupt-file tests). */
function rawFile(header: unknown, data: Uint8Array, headerLength?: bigint): Uint8Array {
  const json = new TextEncoder().encode(
    typeof header === "string" ? header : JSON.stringify(header),
  );
  const out = new Uint8Array(8 + json.length + data.length);
  new DataView(out.buffer).setBigUint64(0, headerLength ?? BigInt(json.length), true);
  out.set(json, 8);
  out.set(data, 8 + json.length);
  return out;
}

function headerOf(bytes: Uint8Array): Record<string, unknown> {
  const n = Number(new DataView(bytes.buffer, bytes.byteOffset).getBigUint64(0, true));
  return JSON.parse(new TextDecoder().decode(bytes.subarray(8, 8 + n)));
}

function readError(bytes: Uint8Array, source = "checkpoint.safetensors"): string {
  try {
    decodeSafetensors(bytes, { source });
  } catch (e) {
    assert.ok(e instanceof SafetensorsError, `expected SafetensorsError, got ${e}`);
    return e.message;
  }
  throw new Error("expected decodeSafetensors to throw");
}

const ALL: Record<string, SafeTensor> = {
  f64: { dtype: "F64", shape: [2, 2], data: Float64Array.of(1e-300, -2.5, Math.PI, 1e300) },
  f32: { dtype: "F32", shape: [3], data: Float32Array.of(0.1, -0, 3.5e38) },
  f16: { dtype: "F16", shape: [2, 3], data: Float32Array.of(1, -2, 0.5, 65504, 2 ** -24, -0) },
  bf16: { dtype: "BF16", shape: [4], data: Float32Array.of(1, -3, 256, 2 ** -100) },
  i64: {
    dtype: "I64",
    shape: [3],
    data: BigInt64Array.of(-(2n ** 63n), 42n, 2n ** 63n - 1n),
  },
  i32: { dtype: "I32", shape: [1, 2], data: Int32Array.of(-2147483648, 2147483647) },
  u8: { dtype: "U8", shape: [5], data: Uint8Array.of(0, 1, 127, 128, 255) },
  bool: { dtype: "BOOL", shape: [2], data: Uint8Array.of(1, 0) },
  scalar: { dtype: "F32", shape: [], data: Float32Array.of(7) },
  empty: { dtype: "I32", shape: [0, 4], data: new Int32Array(0) },
};

Deno.test("round trip of every dtype, scalars, empty tensors and metadata", () => {
  const metadata = { format: "pt", note: "ünïcode ✓", empty: "" };
  const bytes = encodeSafetensors(ALL, { metadata });
  const { tensors, metadata: back } = decodeSafetensors(bytes);
  assert.deepEqual(back, metadata);
  assert.deepEqual([...tensors.keys()].sort(), Object.keys(ALL).sort());
  for (const [name, t] of Object.entries(ALL)) {
    const got = tensors.get(name)!;
    assert.equal(got.dtype, t.dtype, name);
    assert.deepEqual(got.shape, t.shape, name);
    assert.equal(got.data.constructor, t.data.constructor, name);
    assert.deepEqual([...got.data], [...t.data], name);
  }
  // Map input gives the same bytes as a record.
  assert.deepEqual(encodeSafetensors(new Map(Object.entries(ALL)), { metadata }), bytes);
});

Deno.test("layout: data 8-byte aligned, space-padded header, larger elements first then by name", () => {
  const bytes = encodeSafetensors({
    b: { dtype: "U8", shape: [3], data: Uint8Array.of(1, 2, 3) },
    a: { dtype: "U8", shape: [1], data: Uint8Array.of(9) },
    z: { dtype: "F64", shape: [1], data: Float64Array.of(1) },
    y: { dtype: "F32", shape: [1], data: Float32Array.of(1) },
  });
  const n = Number(new DataView(bytes.buffer).getBigUint64(0, true));
  assert.equal((8 + n) % 8, 0);
  const text = new TextDecoder().decode(bytes.subarray(8, 8 + n));
  assert.equal(text, text.trimEnd() + " ".repeat(n - text.trimEnd().length));
  const header = headerOf(bytes) as Record<string, { data_offsets: number[] }>;
  assert.equal("__metadata__" in header, false); // omitted when there is none
  assert.deepEqual(Object.keys(header), ["z", "y", "a", "b"]);
  assert.deepEqual(header.z.data_offsets, [0, 8]);
  assert.deepEqual(header.y.data_offsets, [8, 12]);
  assert.deepEqual(header.a.data_offsets, [12, 13]);
  assert.deepEqual(header.b.data_offsets, [13, 16]);
  assert.equal(bytes.length, 8 + n + 16);
  // The empty file.
  const empty = decodeSafetensors(encodeSafetensors({}));
  assert.equal(empty.tensors.size, 0);
  assert.deepEqual(empty.metadata, {});
});

Deno.test("decode copies into aligned arrays from unaligned input", () => {
  const bytes = encodeSafetensors({
    w: { dtype: "F64", shape: [2], data: Float64Array.of(1.5, -2) },
    y: { dtype: "I64", shape: [2], data: BigInt64Array.of(3n, 4n) },
  });
  const shifted = new Uint8Array(bytes.length + 3);
  shifted.set(bytes, 3);
  const input = shifted.subarray(3);
  const { tensors } = decodeSafetensors(input);
  assert.deepEqual([...tensors.get("w")!.data], [1.5, -2]);
  assert.deepEqual([...tensors.get("y")!.data], [3n, 4n]);
  input.fill(0); // the decoded arrays do not alias the input
  assert.deepEqual([...tensors.get("w")!.data], [1.5, -2]);
  assert.equal(tensors.get("w")!.data.byteOffset, 0);
});

Deno.test("F16: every half value survives decode → encode, and rounding matches numpy", () => {
  const all = new Uint16Array(65536).map((_, i) => i);
  const raw = new Uint8Array(all.buffer);
  const file = rawFile({ h: { dtype: "F16", shape: [65536], data_offsets: [0, raw.length] } }, raw);
  const h = decodeSafetensors(file).tensors.get("h")!;
  assert.equal(h.data[0x3c00], 1);
  assert.equal(h.data[0x7bff], 65504);
  assert.equal(h.data[0x0001], 2 ** -24);
  assert.equal(h.data[0xfc00], -Infinity);
  assert.ok(Number.isNaN(h.data[0x7e00] as number));
  const again = encodeSafetensors({ h });
  const bits = new Uint16Array(again.slice(again.length - raw.length).buffer);
  for (let i = 0; i < 65536; i++) {
    const isNaN = (i & 0x7c00) === 0x7c00 && (i & 0x3ff) !== 0;
    if (isNaN) assert.ok((bits[i] & 0x7c00) === 0x7c00 && (bits[i] & 0x3ff) !== 0, `NaN ${i}`);
    else assert.equal(bits[i], i, `half bits 0x${i.toString(16)}`);
  }
  // float32 → float16 / bfloat16 rounding, reference values from numpy / torch.
  const xs = Float32Array.of(
    0.1,
    1 / 3,
    -2.5e-6,
    6.1e-5,
    3e-8,
    65519,
    65520,
    1.0009765625 + 2 ** -11,
    1 + 2 ** -11,
    1 + 3 * 2 ** -11,
    -0,
    1e-7,
    5.96e-8,
    2.98e-8,
    2.9802322387695312e-08,
  );
  const f16 = [
    0x2e66,
    0x3555,
    0x802a,
    0x3ff,
    0x1,
    0x7bff,
    0x7c00,
    0x3c02,
    0x3c00,
    0x3c02,
    0x8000,
    0x2,
    0x1,
    0x0,
    0x0,
  ];
  const bf16 = [
    0x3dcd,
    0x3eab,
    0xb628,
    0x3880,
    0x3301,
    0x4780,
    0x4780,
    0x3f80,
    0x3f80,
    0x3f80,
    0x8000,
    0x33d7,
    0x3380,
    0x3300,
    0x3300,
  ];
  for (const [dtype, expected] of [["F16", f16], ["BF16", bf16]] as const) {
    const out = encodeSafetensors({ x: { dtype, shape: [xs.length], data: xs } });
    const got = new Uint16Array(out.slice(out.length - 2 * xs.length).buffer);
    assert.deepEqual([...got], expected, dtype);
  }
});

Deno.test("reads the PyTorch fixtures", async () => {
  const fcn = await readSafetensors(new URL("fcn_agd.safetensors", FIXTURES));
  assert.equal(fcn.metadata.model, "FCN(depth=4,width=32,input=48,output=10)");
  assert.equal(fcn.tensors.size, 46);
  const w = fcn.tensors.get("init.initial.weight")!;
  assert.equal(w.dtype, "F32");
  assert.deepEqual(w.shape, [32, 48]);
  assert.ok(w.data instanceof Float32Array);
  assert.equal(w.data[0], Math.fround(-0.04279999062418938));
  assert.equal(w.data[2], Math.fround(0.03998374566435814));
  assert.equal(w.data[32 * 48 - 1], Math.fround(0.06815781444311142));
  const y = fcn.tensors.get("step0.y")!;
  assert.equal(y.dtype, "I64");
  assert.deepEqual(y.shape, [16]);
  assert.deepEqual([...toInt32(y).subarray(0, 3)], [8, 9, 4]);
  assert.equal(toInt32(y)[15], 7);
  const loss = fcn.tensors.get("step0.loss")!;
  assert.deepEqual(loss.shape, []);
  assert.equal(toFloat32(loss)[0], Math.fround(1.0579791069030762));
  assert.equal(fcn.tensors.get("step0.eta")!.data[0], Math.fround(0.30860722064971924));

  const tiny = await readSafetensors(new URL("tinyres_agd.safetensors", FIXTURES).pathname);
  assert.equal(tiny.metadata.loss, "xent");
  assert.deepEqual(tiny.tensors.get("init.conv1.weight")!.shape, [8, 3, 3, 3]);
  assert.deepEqual([...tiny.tensors.get("init.bn1.num_batches_tracked")!.data], [0n]);
  assert.deepEqual([...tiny.tensors.get("step1.after.bn1.num_batches_tracked")!.data], [2n]);
  const evalOut = tiny.tensors.get("eval.output")!;
  assert.deepEqual(evalOut.shape, [3, 4]);
  assert.equal(evalOut.data[0], Math.fround(-0.8691883683204651));
  assert.equal(evalOut.data[11], Math.fround(0.7749965190887451));

  const ops = await readSafetensors(new URL("ops.safetensors", FIXTURES));
  assert.equal(ops.tensors.size, 69);
  assert.deepEqual(ops.tensors.get("conv3x3_s1_p1.in0")!.shape, [2, 5, 9, 9]);
  const conv = ops.tensors.get("conv3x3_s1_p1.out")!;
  assert.equal(conv.data[0], Math.fround(1.8029217720031738));
  assert.equal(conv.data[conv.data.length - 1], Math.fround(-4.094046592712402));
  assert.deepEqual([...toInt32(ops.tensors.get("xent.in1")!)], [0, 3, 3, 0, 1, 0]);
});

Deno.test("fixtures re-encode to files that decode to the same tensors", async () => {
  for (const name of ["fcn_agd", "tinyres_agd", "ops"]) {
    const original = await readSafetensors(new URL(`${name}.safetensors`, FIXTURES));
    const again = decodeSafetensors(
      encodeSafetensors(original.tensors, { metadata: original.metadata }),
    );
    assert.deepEqual(again.metadata, original.metadata);
    assert.equal(again.tensors.size, original.tensors.size);
    for (const [key, t] of original.tensors) assert.deepEqual(again.tensors.get(key), t, key);
  }
});

Deno.test("corrupt files give one clear sentence naming the file and tensor", () => {
  const good = encodeSafetensors({
    "fc.weight": { dtype: "F32", shape: [2, 3], data: new Float32Array(6) },
  });
  // Too short for the length prefix.
  assert.equal(
    readError(good.subarray(0, 5)),
    "Cannot read checkpoint.safetensors: it is 5 bytes long, too short for the 8-byte header length",
  );
  // Truncated inside the data.
  assert.equal(
    readError(good.subarray(0, good.length - 4)),
    'Cannot read checkpoint.safetensors: tensor "fc.weight" has data_offsets [0, 24] past the end of the 20-byte data section',
  );
  // Truncated inside the header.
  assert.match(
    readError(good.subarray(0, 20)),
    /header length is \d+ bytes but only 12 bytes follow it/,
  );
  // A huge header length (e.g. a file that is not safetensors at all).
  const huge = good.slice();
  new DataView(huge.buffer).setBigUint64(0, 0xffffffffffffffffn, true);
  assert.equal(
    readError(huge),
    `Cannot read checkpoint.safetensors: the header length is 18446744073709551615 bytes but only ${
      good.length - 8
    } bytes follow it (truncated file or not a safetensors file)`,
  );
  // Bad JSON and a non-object header.
  assert.match(readError(rawFile("{not json", new Uint8Array())), /header is not valid UTF-8 JSON/);
  assert.match(readError(rawFile("[1, 2]", new Uint8Array())), /the header is not a JSON object$/);
  // Shape × dtype size does not match the offsets.
  assert.equal(
    readError(
      rawFile(
        { "fc.weight": { dtype: "F32", shape: [10, 512], data_offsets: [0, 20476] } },
        new Uint8Array(20480),
      ),
    ),
    'Cannot read checkpoint.safetensors: tensor "fc.weight" has shape [10, 512] (20480 bytes) but data_offsets span 20476 bytes',
  );
  // Overlap.
  assert.equal(
    readError(
      rawFile({
        a: { dtype: "F32", shape: [2], data_offsets: [0, 8] },
        b: { dtype: "F32", shape: [2], data_offsets: [4, 12] },
      }, new Uint8Array(12)),
    ),
    'Cannot read checkpoint.safetensors: tensor "b" (data_offsets [4, 12]) overlaps tensor "a" (data_offsets [0, 8])',
  );
  // Offsets that are malformed or reversed, bad dtype, bad shape, bad metadata.
  const one = (entry: unknown) => readError(rawFile({ t: entry }, new Uint8Array(8)));
  assert.match(
    one({ dtype: "F32", shape: [1], data_offsets: [0] }),
    /tensor "t" has data_offsets \[0\], not two/,
  );
  assert.match(
    one({ dtype: "F32", shape: [1], data_offsets: [-4, 0] }),
    /not two non-negative integers/,
  );
  assert.match(one({ dtype: "F32", shape: [0], data_offsets: [8, 4] }), /end before they begin/);
  assert.match(
    one({ dtype: "C64", shape: [1], data_offsets: [0, 8] }),
    /tensor "t" has dtype "C64", which is not supported/,
  );
  assert.match(
    one({ dtype: "F32", shape: [1.5], data_offsets: [0, 4] }),
    /tensor "t" has shape \[1.5\]/,
  );
  assert.match(one({ dtype: "F32", shape: "2", data_offsets: [0, 8] }), /not a list of sizes/);
  assert.match(one([1, 2]), /tensor "t" has a header entry that is not a JSON object/);
  assert.equal(
    readError(rawFile({ __metadata__: { epoch: 3 } }, new Uint8Array())),
    'Cannot read checkpoint.safetensors: __metadata__ entry "epoch" is 3, not a string',
  );
  // Without a source the message still says what was read.
  assert.throws(
    () => decodeSafetensors(good.subarray(0, 5)),
    /^SafetensorsError: Cannot read safetensors data: /,
  );
});

Deno.test("readSafetensors names the file path in errors", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const path = `${dir}/broken.safetensors`;
    const good = encodeSafetensors({ w: { dtype: "F32", shape: [4], data: new Float32Array(4) } });
    await Deno.writeFile(path, good.subarray(0, good.length - 1));
    await assert.rejects(readSafetensors(path), {
      name: "SafetensorsError",
      message:
        `Cannot read ${path}: tensor "w" has data_offsets [0, 16] past the end of the 15-byte data section`,
    });
    await assert.rejects(readSafetensors(`${dir}/missing.safetensors`), Deno.errors.NotFound);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("encode rejects tensors whose data does not match dtype or shape", () => {
  const err = (tensors: Record<string, SafeTensor>, pattern: RegExp) =>
    assert.throws(() => encodeSafetensors(tensors), (e: unknown) => {
      assert.ok(e instanceof SafetensorsError);
      assert.match(e.message, pattern);
      return true;
    });
  err(
    { w: { dtype: "I64", shape: [2], data: Int32Array.of(1, 2) } },
    /^Cannot write safetensors data: tensor "w" has dtype I64, which needs a BigInt64Array, but its data is Int32Array$/,
  );
  err(
    { w: { dtype: "F32", shape: [2, 3], data: new Float32Array(5) } },
    /tensor "w" has shape \[2, 3\] \(6 elements\) but 5 elements of data/,
  );
  err({ w: { dtype: "Q4" as "F32", shape: [1], data: new Float32Array(1) } }, /dtype "Q4"/);
  err({ w: { dtype: "F32", shape: [-1], data: new Float32Array(1) } }, /non-negative integer/);
  err({ __metadata__: { dtype: "F32", shape: [], data: new Float32Array(1) } }, /cannot be named/);
  assert.throws(
    () => encodeSafetensors({}, { metadata: { epoch: 3 as unknown as string } }),
    /__metadata__ entry "epoch" is number, not a string/,
  );
});

async function listDir(dir: string): Promise<string[]> {
  const names: string[] = [];
  for await (const e of Deno.readDir(dir)) names.push(e.name);
  return names.sort();
}

Deno.test("writeSafetensors writes atomically and leaves no temp file", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const path = `${dir}/model.safetensors`;
    await writeSafetensors(path, ALL, { metadata: { epoch: "1" } });
    assert.deepEqual(await listDir(dir), ["model.safetensors"]);
    assert.deepEqual(
      await Deno.readFile(path),
      encodeSafetensors(ALL, { metadata: { epoch: "1" } }),
    );
    // Overwrite through a file URL.
    const url = new URL(`file://${path}`);
    await writeSafetensors(url, { x: { dtype: "I32", shape: [1], data: Int32Array.of(5) } });
    const back = await readSafetensors(url);
    assert.deepEqual([...back.tensors.keys()], ["x"]);
    assert.deepEqual(back.metadata, {});
    assert.deepEqual(await listDir(dir), ["model.safetensors"]);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("a failed write keeps the existing file intact and removes the temp file", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const path = `${dir}/model.safetensors`;
    await writeSafetensors(path, ALL);
    const before = await Deno.readFile(path);

    // The data encoder throws half-way through writing (after the header and a first tensor).
    const bad = new Float32Array(4);
    Object.defineProperty(bad, "buffer", {
      get() {
        throw new Error("disk on fire");
      },
    });
    await assert.rejects(
      writeSafetensors(path, {
        a: { dtype: "F64", shape: [1], data: Float64Array.of(1) },
        b: { dtype: "F32", shape: [4], data: bad },
      }),
      /disk on fire/,
    );
    assert.deepEqual(await listDir(dir), ["model.safetensors"]);
    assert.deepEqual(await Deno.readFile(path), before);

    // Validation errors happen before any file is created.
    await assert.rejects(
      writeSafetensors(path, { w: { dtype: "F32", shape: [3], data: new Float32Array(2) } }),
      { name: "SafetensorsError", message: new RegExp(`^Cannot write ${path}: tensor "w"`) },
    );
    assert.deepEqual(await Deno.readFile(path), before);

    // The final rename fails (the target is a non-empty directory): the temp file is removed.
    await Deno.mkdir(`${dir}/taken.safetensors`);
    await Deno.writeTextFile(`${dir}/taken.safetensors/keep`, "x");
    await assert.rejects(writeSafetensors(`${dir}/taken.safetensors`, ALL));
    assert.deepEqual(await listDir(dir), ["model.safetensors", "taken.safetensors"]);
    assert.deepEqual(await listDir(`${dir}/taken.safetensors`), ["keep"]);

    // A missing directory fails cleanly too.
    await assert.rejects(
      writeSafetensors(`${dir}/nope/model.safetensors`, ALL),
      Deno.errors.NotFound,
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("toFloat32 and toInt32", () => {
  const f = Float32Array.of(1, 2);
  assert.equal(toFloat32({ dtype: "F32", shape: [2], data: f }), f); // no copy
  assert.deepEqual(
    toFloat32({ dtype: "F64", shape: [1], data: Float64Array.of(0.1) }),
    Float32Array.of(0.1),
  );
  assert.deepEqual(
    toFloat32({ dtype: "I64", shape: [2], data: BigInt64Array.of(-3n, 4n) }),
    Float32Array.of(-3, 4),
  );
  assert.deepEqual(
    toFloat32({ dtype: "I32", shape: [1], data: Int32Array.of(-7) }),
    Float32Array.of(-7),
  );
  assert.deepEqual(
    toFloat32({ dtype: "BOOL", shape: [2], data: Uint8Array.of(1, 0) }),
    Float32Array.of(1, 0),
  );

  const i = Int32Array.of(3);
  assert.equal(toInt32({ dtype: "I32", shape: [1], data: i }), i); // no copy
  assert.deepEqual(
    toInt32({ dtype: "I64", shape: [2], data: BigInt64Array.of(-2147483648n, 2147483647n) }),
    Int32Array.of(-2147483648, 2147483647),
  );
  assert.deepEqual(
    toInt32({ dtype: "U8", shape: [1], data: Uint8Array.of(255) }),
    Int32Array.of(255),
  );
  assert.throws(
    () =>
      toInt32({ dtype: "I64", shape: [2], data: BigInt64Array.of(0n, 3000000000n) }, { name: "y" }),
    {
      name: "RangeError",
      message:
        'Cannot convert tensor "y" to int32: element 1 is 3000000000, outside the int32 range',
    },
  );
  assert.throws(
    () => toInt32({ dtype: "I64", shape: [1], data: BigInt64Array.of(-2147483649n) }),
    /Cannot convert an I64 tensor to int32: element 0 is -2147483649/,
  );
  assert.throws(
    () => toInt32({ dtype: "F32", shape: [1], data: Float32Array.of(1) }),
    {
      name: "TypeError",
      message: "Cannot convert an F32 tensor to int32: its dtype F32 is not an integer type",
    },
  );
});
