// --device: the backend that ends up in use is the one the first line names.
import { equal, ok } from "node:assert/strict";
import { getBackend, hasWebGPU } from "@agd/tensor";
import { parseTrainArgs } from "./args.ts";
import { chooseDevice } from "./device.ts";

const small = ["--dataset", "mnist", "--depth", "3", "--width", "32", "--train_bs", "16"];

Deno.test({
  name: "--device auto: the backend in use is the one the Device line names",
  sanitizeOps: false,
  sanitizeResources: false,
  fn: async () => {
    const { config } = parseTrainArgs(small);
    const line = await chooseDevice(config);
    const name = getBackend().name;
    ok(line.startsWith(`Device: ${name} (`), `${line} — but the backend in use is ${name}`);
    if (!(await hasWebGPU())) equal(name, "wasm");
  },
});

Deno.test({
  name: "--device wasm and --device cpu put those backends in use",
  sanitizeOps: false,
  sanitizeResources: false,
  fn: async () => {
    for (const device of ["wasm", "cpu"]) {
      const { config } = parseTrainArgs([...small, "--device", device]);
      const line = await chooseDevice(config);
      equal(getBackend().name, device);
      ok(line.startsWith(`Device: ${device} (`), line);
    }
  },
});
