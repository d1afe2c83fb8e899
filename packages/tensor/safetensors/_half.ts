/**
 * Half-precision conversions: IEEE 754 binary16 (`F16`) and bfloat16 (`BF16`)
 * bit patterns to and from JavaScript numbers, rounding to nearest even.
 *
 * @module
 */

const f32Scratch = new Float32Array(1);
const u32Scratch = new Uint32Array(f32Scratch.buffer);

/**
 * The value of a binary16 bit pattern (subnormals, infinities and NaN included).
 *
 * @param h the 16 bits
 * @returns the number they encode
 */
export function halfToFloat(h: number): number {
  const sign = h & 0x8000 ? -1 : 1;
  const exp = (h >> 10) & 0x1f;
  const frac = h & 0x3ff;
  if (exp === 0) return sign * frac * 2 ** -24;
  if (exp === 31) return frac ? NaN : sign * Infinity;
  return sign * (1 + frac / 1024) * 2 ** (exp - 15);
}

/**
 * The binary16 bit pattern nearest `x` after rounding it to float32 (ties to
 * even; overflow gives infinity, underflow a signed zero).
 *
 * @param x the number
 * @returns the 16 bits
 */
export function floatToHalf(x: number): number {
  f32Scratch[0] = x;
  const bits = u32Scratch[0];
  const sign = (bits >>> 16) & 0x8000;
  const exp = (bits >>> 23) & 0xff;
  let frac = bits & 0x7fffff;
  if (exp === 0xff) return sign | 0x7c00 | (frac ? 0x200 : 0); // inf / NaN
  const e = exp - 127 + 15;
  if (e >= 31) return sign | 0x7c00; // overflow → inf
  if (e <= 0) {
    if (e < -10) return sign; // underflow → ±0
    frac |= 0x800000; // implicit leading 1
    const shift = 14 - e;
    const half = 1 << (shift - 1);
    let m = frac >>> shift;
    const rest = frac & ((1 << shift) - 1);
    if (rest > half || (rest === half && (m & 1))) m++;
    return sign | m; // a carry into bit 10 correctly yields the smallest normal
  }
  const m = frac >>> 13;
  const rest = frac & 0x1fff;
  const out = sign | (e << 10) | m;
  // Round to nearest even; a carry out of the mantissa correctly bumps the exponent (up to inf).
  return rest > 0x1000 || (rest === 0x1000 && (m & 1)) ? out + 1 : out;
}

/**
 * The value of a bfloat16 bit pattern: the top half of a float32.
 *
 * @param h the 16 bits
 * @returns the number they encode
 */
export function bf16ToFloat(h: number): number {
  u32Scratch[0] = h << 16;
  return f32Scratch[0];
}

/**
 * The bfloat16 bit pattern nearest `x` after rounding it to float32 (ties to
 * even; NaN stays a quiet NaN).
 *
 * @param x the number
 * @returns the 16 bits
 */
export function floatToBf16(x: number): number {
  f32Scratch[0] = x;
  const bits = u32Scratch[0];
  if ((bits & 0x7f800000) === 0x7f800000 && (bits & 0x7fffff)) return (bits >>> 16) | 0x40; // quiet NaN
  const rounded = bits + 0x7fff + ((bits >>> 16) & 1);
  return (rounded >>> 16) & 0xffff;
}
