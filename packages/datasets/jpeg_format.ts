/**
 * What the bytes of a JPEG say without decoding them (its frame header),
 * PIL's CMYK → RGB conversion, and the type every decoder has.
 *
 * @module
 */

import type { RawImage } from "./transforms.ts";

/** A function decoding JPEG bytes to an RGB(A) image; it rejects on undecodable data. */
export type JpegDecoder = (bytes: Uint8Array) => Promise<RawImage>;

/**
 * CMYK to RGB exactly as PIL's `convert("RGB")` (Convert.c `cmyk2rgb`):
 * `R = (255 − K) − MULDIV255(C, 255 − K)`, with no colour profile. libvips
 * would convert through an ICC profile instead, giving different colours.
 *
 * @param cmyk Interleaved CMYK bytes (4 per pixel, not inverted).
 * @param pixels Pixel count.
 * @returns Interleaved RGB bytes.
 */
export function cmykToRgb(cmyk: Uint8Array, pixels: number): Uint8Array {
  const out = new Uint8Array(pixels * 3);
  for (let i = 0; i < pixels; i++) {
    const nk = 255 - cmyk[4 * i + 3];
    for (let c = 0; c < 3; c++) {
      const t = cmyk[4 * i + c] * nk + 128;
      out[3 * i + c] = nk - (((t >> 8) + t) >> 8);
    }
  }
  return out;
}

/** What a JPEG's frame header says. */
export interface JpegHeader {
  /** Colour components: 1 gray, 3 YCbCr/RGB, 4 CMYK/YCCK. */
  components: number;
  /** Width in pixels. */
  width: number;
  /** Height in pixels. */
  height: number;
}

/**
 * Reads a JPEG's frame header (SOFn) by walking the markers: no decoding,
 * no native call.
 *
 * @param bytes The file.
 * @returns The header, or undefined when the bytes are not a JPEG or it is not found.
 */
export function jpegHeader(bytes: Uint8Array): JpegHeader | undefined {
  if (bytes.length < 4 || bytes[0] !== 0xff || bytes[1] !== 0xd8) return undefined;
  let p = 2;
  while (p + 9 < bytes.length) {
    if (bytes[p] !== 0xff) return undefined;
    const m = bytes[p + 1];
    if (m === 0xff) {
      p++;
      continue;
    }
    // SOF0..SOF15 except DHT (C4), JPG (C8) and DAC (CC).
    if (m >= 0xc0 && m <= 0xcf && m !== 0xc4 && m !== 0xc8 && m !== 0xcc) {
      return {
        height: (bytes[p + 5] << 8) | bytes[p + 6],
        width: (bytes[p + 7] << 8) | bytes[p + 8],
        components: bytes[p + 9],
      };
    }
    if (m === 0xd8 || (m >= 0xd0 && m <= 0xd7) || m === 0x01) {
      p += 2;
      continue;
    }
    p += 2 + ((bytes[p + 2] << 8) | bytes[p + 3]);
  }
  return undefined;
}

/**
 * Number of colour components in a JPEG's frame header (4 for CMYK/YCCK).
 *
 * @param bytes The file.
 * @returns The count, or 0 when the bytes are not a JPEG or the header is not found.
 */
export function jpegComponents(bytes: Uint8Array): number {
  return jpegHeader(bytes)?.components ?? 0;
}
