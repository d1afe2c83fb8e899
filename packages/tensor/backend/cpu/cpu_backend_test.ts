import { deepStrictEqual as assertEquals, ok as assert } from "node:assert/strict";
import { CpuBackend } from "./cpu_backend.ts";
import { OPS } from "../../ops/registry.ts";

Deno.test("CpuBackend upload copies and read returns a copy of the first size elements", async () => {
  const cpu = new CpuBackend();
  assertEquals(cpu.name, "cpu");
  const src = new Float32Array([1, 2, 3]);
  const s = cpu.upload(src);
  src[0] = 99;
  const r = await cpu.read(s, "float32", 2);
  assert(r instanceof Float32Array);
  assertEquals([...r], [1, 2]);
  r[0] = -5;
  assertEquals([...(await cpu.read(s, "float32", 3))], [1, 2, 3]);
  const labels = cpu.upload(new Int32Array([4, 5]));
  const l = await cpu.read(labels, "int32", 2);
  assert(l instanceof Int32Array);
  assertEquals([...l], [4, 5]);
});

Deno.test("CpuBackend.run allocates by out dtype and runs the kernel", async () => {
  const cpu = new CpuBackend();
  const x = cpu.upload(new Float32Array([1, 9, 3, 4, 2, 8]));
  const idx = cpu.run(OPS.argmax, [{ storage: x, shape: [2, 3], dtype: "float32" }], {}, {
    shape: [2],
    dtype: "int32",
  });
  assert(idx instanceof Int32Array);
  assertEquals([...(await cpu.read(idx, "int32", 2))], [1, 2]);
  const oh = cpu.run(OPS.one_hot, [{ storage: idx, shape: [2], dtype: "int32" }], {
    classes: 3,
    value: 1,
  }, { shape: [2, 3], dtype: "float32" });
  assert(oh instanceof Float32Array);
  assertEquals([...(await cpu.read(oh, "float32", 6))], [0, 1, 0, 0, 0, 1]);
});

Deno.test("CpuBackend.run reads only sizeOf(shape) elements of a longer storage", async () => {
  const cpu = new CpuBackend();
  const x = cpu.upload(new Float32Array([1, 2, 3, 4]));
  const s = cpu.run(OPS.sum, [{ storage: x, shape: [2], dtype: "float32" }], { axes: [0] }, {
    shape: [1],
    dtype: "float32",
  });
  assertEquals([...(await cpu.read(s, "float32", 1))], [3]);
});

Deno.test("CpuBackend.memory tracks live bytes and allocations", () => {
  const cpu = new CpuBackend();
  assertEquals(cpu.memory(), { bytesInUse: 0, bytesPooled: 0, allocations: 0 });
  const a = cpu.upload(new Float32Array(4));
  const b = cpu.run(OPS.neg, [{ storage: a, shape: [4], dtype: "float32" }], {}, {
    shape: [4],
    dtype: "float32",
  });
  assertEquals(cpu.memory(), { bytesInUse: 32, bytesPooled: 0, allocations: 2 });
  cpu.release(a);
  cpu.release(a); // a second release is ignored
  assertEquals(cpu.memory().bytesInUse, 16);
  cpu.release(b);
  cpu.flush();
  assertEquals(cpu.memory(), { bytesInUse: 0, bytesPooled: 0, allocations: 2 });
});
