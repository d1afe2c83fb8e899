// The fused AGD step (agd_terms → agd_eta → agd_update) against the unfused
// one (Algorithm 1 written with elementwise ops and reductions), on the CPU
// reference and on WebGPU: same η, same G, same new weights.
import { type Backend, cpu, hasWebGPU, Rng, tensor, webgpu } from "@agd/tensor";
import { assertClose } from "../tensor/testing/assert.ts";
import { Agd } from "./optimizer.ts";
import type { LayerShape, ParamRef } from "./param.ts";

function makeParams(backend: Backend): ParamRef[] {
  const rng = new Rng(3);
  const layers: [string, number[], LayerShape][] = [
    ["linear", [5, 3], { fanOut: 5, fanIn: 3, kernel: [1, 1] }],
    ["conv", [4, 3, 3, 3], { fanOut: 4, fanIn: 3, kernel: [3, 3] }],
    ["resting", [2, 6], { fanOut: 2, fanIn: 6, kernel: [1, 1] }],
    ["wide", [300, 260], { fanOut: 300, fanIn: 260, kernel: [1, 1] }],
  ];
  return layers.map(([name, shape, layer]) => {
    const n = shape.reduce((a, b) => a * b);
    const value = tensor(rng.normals(n), { shape, backend, requiresGrad: true });
    // "resting" has a zero gradient: nan_to_num must keep it where it is.
    const g = name === "resting" ? new Float32Array(n) : rng.normals(n);
    value.grad = tensor(g, { shape, backend });
    return { name, value, layer };
  });
}

const gpu = await hasWebGPU();
for (
  const [name, getBackend, ignore] of [
    ["cpu", () => Promise.resolve(cpu() as Backend), false],
    ["webgpu", () => webgpu() as Promise<Backend>, !gpu],
  ] as const
) {
  Deno.test({
    name: `fused AGD step matches the unfused composite (${name})`,
    ignore,
    fn: async () => {
      const backend = await getBackend();
      const gain = 2;
      const [params, refParams] = [makeParams(backend), makeParams(backend)];
      const [agd, ref] = [new Agd({ gain }), new Agd({ gain, fused: false })];
      const [summary, refSummary] = [agd.summary(params), ref.summary(refParams)];
      const tol = { atol: 1e-6, rtol: 1e-5 };
      assertClose(await summary.G.data(), await refSummary.G.data(), { ...tol, label: "G" });
      assertClose(await summary.eta.data(), await refSummary.eta.data(), {
        ...tol,
        label: "summary η",
      });
      const resting = await params[2].value.data();
      const [eta, refEta] = [agd.step(params), ref.step(refParams)];
      assertClose(await eta.data(), await refEta.data(), { ...tol, label: "step η" });
      for (const [k, p] of params.entries()) {
        assertClose(await p.value.data(), await refParams[k].value.data(), {
          ...tol,
          label: p.name,
        });
        if (p.name === "resting") {
          assertClose(await p.value.data(), resting, { atol: 0, rtol: 0, label: "at rest" });
        }
      }
      [summary.G, summary.eta, eta, refSummary.G, refSummary.eta, refEta].forEach((t) =>
        t.dispose()
      );
      for (const p of [...params, ...refParams]) p.value.dispose();
    },
  });
}
