/**
 * `deno task bench`: kernel GFLOP/s, data-loader throughput and ONNX
 * inference latency on this machine, printed and written as JSON.
 *
 * @module
 */
import { parseArgs } from "node:util";
import { benchKernels } from "@agd/tensor/bench";
import { benchDatasets } from "@agd/datasets/bench";
import { benchOnnx } from "@agd/onnx-export/bench";

/** Runs every benchmark section and returns the figures by section. */
export async function runBench(quick: boolean): Promise<Record<string, unknown>> {
  const kernels = await benchKernels({
    matmulSizes: quick ? [256, 1024] : [256, 512, 1024, 2048],
    seconds: quick ? 0.3 : 1,
    skipNaive: quick,
  });
  const data = await benchDatasets({
    images: quick ? 8 : 32,
    samples: quick ? 48 : 192,
    batches: quick ? 30 : 100,
    log: console.log,
  });
  console.table(data);
  const onnx = await benchOnnx({ runs: quick ? 5 : 20 });
  console.table(onnx);
  return { date: new Date().toISOString(), adapter: kernels.adapter, kernels, data, onnx };
}

if (import.meta.main) {
  const { values } = parseArgs({
    args: Deno.args,
    options: { quick: { type: "boolean", default: false }, out: { type: "string" } },
  });
  const report = await runBench(values.quick!);
  const out = values.out ?? new URL("./results/latest.json", import.meta.url).pathname;
  await Deno.mkdir(new URL("./results/", import.meta.url), { recursive: true });
  await Deno.writeTextFile(out, JSON.stringify(report, null, 2) + "\n");
  console.log(`wrote ${out}`);
}
