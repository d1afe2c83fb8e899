/**
 * AGD's initialisation (SPEC "Init"): every [d_out, d_in] slice of a weight
 * is drawn semi-orthogonal, then the weight is scaled by s = √(d_out/d_in)/√(kh·kw).
 *
 * @module
 */
import { keep, Rng, tensor } from "@agd/tensor";
import { orthogonal } from "./orthogonal.ts";
import { agdScale, type ParamRef, requireLayer } from "./param.ts";

/** Options of {@link agdInit}. */
export interface AgdInitOptions {
  /** Seed of the orthogonal sampling (same seed, same weights). Default 0. */
  seed?: number;
  /** A generator to draw from instead of a fresh one seeded with `seed`. */
  rng?: Rng;
}

/**
 * Replaces each parameter's value with AGD's scaled orthogonal init.
 *
 * @example
 * ```ts
 * import { zeros } from "@agd/tensor";
 * import { agdInit } from "./init.ts";
 * const p = { name: "w", value: zeros([4, 2]), layer: { fanOut: 4, fanIn: 2, kernel: [1, 1] as const } };
 * agdInit([p], { seed: 0 });
 * console.log(p.value.shape); // [4, 2]
 * ```
 */
export function agdInit(params: ParamRef[], options: AgdInitOptions = {}): void {
  const rng = options.rng ?? new Rng(options.seed ?? 0);
  for (const p of params) {
    const layer = requireLayer(p);
    const { fanOut, fanIn } = layer;
    const [kh, kw] = p.value.shape.length === 4 ? layer.kernel : [1, 1];
    const scale = agdScale(layer);
    const data = new Float32Array(fanOut * fanIn * kh * kw);
    for (let i = 0; i < kh; i++) {
      for (let j = 0; j < kw; j++) {
        const slice = orthogonal(fanOut, fanIn, rng);
        for (let o = 0; o < fanOut; o++) {
          for (let c = 0; c < fanIn; c++) {
            data[((o * fanIn + c) * kh + i) * kw + j] = scale * slice[o * fanIn + c];
          }
        }
      }
    }
    const next = tensor(data, {
      shape: p.value.shape,
      backend: p.value.backend,
      requiresGrad: true,
    });
    p.value.grad?.dispose();
    p.value.dispose();
    p.value = keep(next);
  }
}
