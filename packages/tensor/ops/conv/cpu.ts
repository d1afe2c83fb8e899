/**
 * Reference 2-D convolution (NCHW input, OIHW weight, groups 1, zero padding,
 * cross-correlation exactly like torch.nn.functional.conv2d) and its two
 * gradients, each written as a direct gather: every output element is one
 * float64 sum over the elements that feed it.
 *
 * Index map shared by all three: output cell (oy, ox) and kernel tap (ky, kx)
 * read input row `iy = oy·sh − ph + ky` and column `ix = ox·sw − pw + kx`;
 * taps outside [0, H) × [0, W) read zero.
 *
 * @module
 */
import type { CpuInput, CpuKernel, CpuOutput } from "../../backend/cpu/kernel.ts";
import type { ConvOpAttrs } from "./primitives.ts";

/** conv2d: x [N,C,H,W], w [O,C,kh,kw] → [N,O,OH,OW]. */
export function conv2d([x, w]: CpuInput[], attrs: ConvOpAttrs["conv2d"], out: CpuOutput): void {
  const [n, c, h, wd] = x.shape;
  const [o, , kh, kw] = w.shape;
  const [, , oh, ow] = out.shape;
  const [sh, sw] = attrs.stride;
  const [ph, pw] = attrs.padding;
  for (let b = 0; b < n; b++) {
    for (let oc = 0; oc < o; oc++) {
      for (let oy = 0; oy < oh; oy++) {
        for (let ox = 0; ox < ow; ox++) {
          let acc = 0;
          for (let ic = 0; ic < c; ic++) {
            for (let ky = 0; ky < kh; ky++) {
              const iy = oy * sh - ph + ky;
              if (iy < 0 || iy >= h) continue;
              for (let kx = 0; kx < kw; kx++) {
                const ix = ox * sw - pw + kx;
                if (ix < 0 || ix >= wd) continue;
                acc += x.data[((b * c + ic) * h + iy) * wd + ix] *
                  w.data[((oc * c + ic) * kh + ky) * kw + kx];
              }
            }
          }
          out.data[((b * o + oc) * oh + oy) * ow + ox] = acc;
        }
      }
    }
  }
}

/**
 * ∂/∂x of sum(conv2d(x, w)·dy): dy [N,O,OH,OW], w [O,C,kh,kw] → dx [N,C,H,W]
 * with H, W from `attrs.inputHW` (a transposed convolution). Each dx cell sums
 * dy·w over the (oy, ky) pairs with oy·sh − ph + ky = iy (and likewise for x).
 */
export function conv2dGradInput(
  [dy, w]: CpuInput[],
  attrs: ConvOpAttrs["conv2d_grad_input"],
  out: CpuOutput,
): void {
  const [n, o, oh, ow] = dy.shape;
  const [, c, kh, kw] = w.shape;
  const [h, wd] = attrs.inputHW;
  const [sh, sw] = attrs.stride;
  const [ph, pw] = attrs.padding;
  for (let b = 0; b < n; b++) {
    for (let ic = 0; ic < c; ic++) {
      for (let iy = 0; iy < h; iy++) {
        for (let ix = 0; ix < wd; ix++) {
          let acc = 0;
          for (let oc = 0; oc < o; oc++) {
            for (let ky = 0; ky < kh; ky++) {
              const ty = iy + ph - ky; // = oy·sh
              if (ty < 0 || ty % sh !== 0 || ty / sh >= oh) continue;
              const oy = ty / sh;
              for (let kx = 0; kx < kw; kx++) {
                const tx = ix + pw - kx; // = ox·sw
                if (tx < 0 || tx % sw !== 0 || tx / sw >= ow) continue;
                const ox = tx / sw;
                acc += dy.data[((b * o + oc) * oh + oy) * ow + ox] *
                  w.data[((oc * c + ic) * kh + ky) * kw + kx];
              }
            }
          }
          out.data[((b * c + ic) * h + iy) * wd + ix] = acc;
        }
      }
    }
  }
}

/**
 * ∂/∂w of sum(conv2d(x, w)·dy): x [N,C,H,W], dy [N,O,OH,OW] → dw [O,C,kh,kw]
 * with kh, kw from `attrs.kernel`. Each dw tap sums dy·x over batch and output
 * cells.
 */
export function conv2dGradWeight(
  [x, dy]: CpuInput[],
  attrs: ConvOpAttrs["conv2d_grad_weight"],
  out: CpuOutput,
): void {
  const [n, c, h, wd] = x.shape;
  const [, o, oh, ow] = dy.shape;
  const [kh, kw] = attrs.kernel;
  const [sh, sw] = attrs.stride;
  const [ph, pw] = attrs.padding;
  for (let oc = 0; oc < o; oc++) {
    for (let ic = 0; ic < c; ic++) {
      for (let ky = 0; ky < kh; ky++) {
        for (let kx = 0; kx < kw; kx++) {
          let acc = 0;
          for (let b = 0; b < n; b++) {
            for (let oy = 0; oy < oh; oy++) {
              const iy = oy * sh - ph + ky;
              if (iy < 0 || iy >= h) continue;
              for (let ox = 0; ox < ow; ox++) {
                const ix = ox * sw - pw + kx;
                if (ix < 0 || ix >= wd) continue;
                acc += dy.data[((b * o + oc) * oh + oy) * ow + ox] *
                  x.data[((b * c + ic) * h + iy) * wd + ix];
              }
            }
          }
          out.data[((oc * c + ic) * kh + ky) * kw + kx] = acc;
        }
      }
    }
  }
}

/** The CPU reference of each convolution primitive. */
export const CONV_CPU: { [P in keyof ConvOpAttrs]: CpuKernel<ConvOpAttrs[P]> } = {
  conv2d,
  conv2d_grad_input: conv2dGradInput,
  conv2d_grad_weight: conv2dGradWeight,
};
