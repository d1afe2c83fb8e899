// The fused AGD step (agd_terms → agd_eta → agd_update) against the unfused
// composite of Algorithm 1 written with elementwise ops and reductions, on
// the CPU reference and on WebGPU: same η, same G, same new weights.
import {
  add,
  affine,
  type Backend,
  cpu,
  div,
  hasWebGPU,
  log,
  mul,
  nanToNum,
  noGrad,
  Rng,
  sliceNorms,
  sqrt,
  sub,
  sum,
  type Tensor,
  tensor,
  tidy,
  webgpu,
} from "@agd/tensor";
import { assertClose } from "../tensor/testing/assert.ts";
import { Agd } from "./optimizer.ts";
import { agdScale, type LayerShape, type ParamRef } from "./param.ts";

/** Algorithm 1 as the composite of elementwise ops the fused ops replace. */
function compositeStep(
  params: ParamRef[],
  gain: number,
): { G: Tensor; eta: Tensor; next: Tensor[] } {
  return tidy(() =>
    noGrad(() => {
      const depth = params.length;
      const norms = params.map((p) => sliceNorms(p.value.grad!));
      const G = norms
        .map((n, k) => affine(sum(n), { mul: agdScale(params[k].layer!) / depth }))
        .reduce((a, b) => add(a, b));
      const eta = log(affine(sqrt(affine(G, { mul: 4, add: 1 })), { mul: 0.5, add: 0.5 }));
      const next = params.map((p, k) => {
        const coefficient = affine(eta, { mul: (gain * agdScale(p.layer!)) / depth });
        const factor = nanToNum(div(coefficient.reshape([1, 1]), norms[k]));
        return sub(p.value, mul(factor, p.value.grad!));
      });
      return { G, eta, next };
    })
  );
}

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
      const params = makeParams(backend);
      const ref = compositeStep(params, gain);
      const agd = new Agd({ gain });
      const summary = agd.summary(params);
      const tol = { atol: 1e-6, rtol: 1e-5 };
      assertClose(await summary.G.data(), await ref.G.data(), { ...tol, label: "G" });
      assertClose(await summary.eta.data(), await ref.eta.data(), { ...tol, label: "summary η" });
      const resting = await params[2].value.data();
      const eta = agd.step(params);
      assertClose(await eta.data(), await ref.eta.data(), { ...tol, label: "step η" });
      for (const [k, p] of params.entries()) {
        assertClose(await p.value.data(), await ref.next[k].data(), { ...tol, label: p.name });
        if (p.name === "resting") {
          assertClose(await p.value.data(), resting, { atol: 0, rtol: 0, label: "at rest" });
        }
      }
      [summary.G, summary.eta, eta, ref.G, ref.eta, ...ref.next].forEach((t) => t.dispose());
      for (const p of params) p.value.dispose();
    },
  });
}
