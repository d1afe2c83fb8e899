import { assert, assertEquals } from "./_test_util.ts";
import {
  centerCropBox,
  normalize,
  Normalizer,
  padCropFlip,
  randomCropParams,
  randomResizedCropParams,
  type RawImage,
  resizedCrop,
  resizedCropInto,
  resizeShorterSide,
  roundHalfEven,
  toTensor,
} from "./transforms.ts";
import { Random } from "./rng.ts";

// Reference values from torchvision 0.14 (testdata/make_transform_ref.py).
const ref = JSON.parse(
  await Deno.readTextFile(new URL("./testdata/transform_ref.json", import.meta.url)),
);

/** Same synthetic image as the Python script, CHW. */
function chw(c: number, h: number, w: number): Uint8Array {
  const out = new Uint8Array(c * h * w);
  for (let ch = 0; ch < c; ch++) {
    for (let y = 0; y < h; y++) {
      for (let x = 0; x < w; x++) {
        out[(ch * h + y) * w + x] = (x * 7 + y * 13 + ch * 50 + ((x * y) % 17)) % 256;
      }
    }
  }
  return out;
}

/** CHW → interleaved RGBA, like a JPEG decoder's output. */
function rgba(img: Uint8Array, h: number, w: number): RawImage {
  const data = new Uint8Array(h * w * 4);
  for (let i = 0; i < h * w; i++) {
    for (let c = 0; c < 3; c++) data[i * 4 + c] = img[c * h * w + i];
    data[i * 4 + 3] = 255;
  }
  return { data, width: w, height: h, channels: 4 };
}

function maxDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  assertEquals(a.length, b.length);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
}

Deno.test("toTensor and normalize are bit-identical to torchvision", () => {
  const [c, h, w] = ref.normalize.shape;
  const img = chw(c, h, w);
  const t = toTensor(img);
  assertEquals(Array.from(t), ref.normalize.to_tensor.map(Math.fround));
  const n = normalize(t, ref.normalize);
  assertEquals(Array.from(n), ref.normalize.output.map(Math.fround));
  const fused = new Float32Array(img.length + 3);
  new Normalizer(ref.normalize).apply(img, fused, 3);
  assertEquals(Array.from(fused.subarray(3)), Array.from(n));
});

Deno.test("resizedCrop matches torchvision resized_crop (antialias and plain) within 1/255", () => {
  const [, h, w] = ref.image_shape;
  const image = rgba(chw(3, h, w), h, w);
  for (const cs of ref.resized_crop) {
    const [top, left, height, width] = cs.box;
    const box = { top, left, height, width };
    const aa = resizedCrop(image, { box, height: cs.size, width: cs.size });
    assert(maxDiff(aa, cs.antialias) <= 1, `antialias ${cs.box}: ${maxDiff(aa, cs.antialias)}`);
    const plain = resizedCrop(image, { box, height: cs.size, width: cs.size, antialias: false });
    assert(maxDiff(plain, cs.plain) <= 1, `plain ${cs.box}: ${maxDiff(plain, cs.plain)}`);
  }
});

Deno.test("Resize(shorter side) + CenterCrop + flip matches torchvision", () => {
  const [, h, w] = ref.image_shape;
  const image = rgba(chw(3, h, w), h, w);
  const rc = ref.resize_center;
  const size = resizeShorterSide({ height: h, width: w }, rc.resize);
  assertEquals([size.height, size.width], rc.resized_shape.slice(1));
  const window = centerCropBox(size, rc.crop);
  const out = resizedCrop(image, { ...size, window });
  assert(maxDiff(out, rc.output) <= 1);
  const flipped = resizedCrop(image, { ...size, window, flip: true });
  assert(maxDiff(flipped, rc.flipped) <= 1);
  for (const [ih, iw, s, expected] of ref.resize_sizes) {
    const r = resizeShorterSide({ height: ih, width: iw }, s);
    assertEquals([r.height, r.width], expected);
  }
});

Deno.test("randomResizedCropParams falls back to torchvision's center crop", () => {
  const rng = new Random(1);
  for (const [h, w, top, left, ch, cw] of ref.rrc_fallback) {
    const box = randomResizedCropParams(rng, { height: h, width: w, scale: [5, 6] });
    assertEquals(box, { top, left, height: ch, width: cw });
  }
});

Deno.test("randomResizedCropParams stays inside the image and respects scale/ratio", () => {
  const rng = new Random(7);
  for (let k = 0; k < 2000; k++) {
    const box = randomResizedCropParams(rng, { height: 375, width: 500 });
    assert(box.top >= 0 && box.left >= 0);
    assert(box.top + box.height <= 375 && box.left + box.width <= 500);
    const frac = (box.height * box.width) / (375 * 500);
    assert(frac > 0.07 && frac <= 1.01, `area ${frac}`);
  }
});

Deno.test("padCropFlip matches torchvision pad + crop + hflip", () => {
  const img = chw(3, 32, 32);
  for (const cs of ref.cifar_crop) {
    const box = { top: cs.top, left: cs.left, height: 32, width: 32 };
    const out = padCropFlip(img, {
      channels: 3,
      height: 32,
      width: 32,
      padding: 4,
      box,
      flip: cs.flip,
    });
    let sum = 0;
    let checksum = 0;
    for (let i = 0; i < out.length; i++) {
      sum += out[i];
      checksum += out[i] * i;
    }
    assertEquals(sum, cs.sum);
    assertEquals(checksum, cs.checksum);
    assertEquals(Array.from(out.subarray(0, 32)), cs.row0);
    assertEquals(Array.from({ length: 32 }, (_, y) => out[2 * 1024 + y * 32]), cs.col0);
  }
  const rng = new Random(3);
  const seen = new Set<string>();
  for (let k = 0; k < 500; k++) {
    const b = randomCropParams(rng, { height: 32, width: 32, size: 32, padding: 4 });
    assert(b.top >= 0 && b.top <= 8 && b.left >= 0 && b.left <= 8);
    seen.add(`${b.top},${b.left}`);
  }
  assertEquals(seen.size, 81);
});

Deno.test("roundHalfEven rounds ties like Python", () => {
  assertEquals([0.5, 1.5, 2.5, 3.49, -0.5, 254.5].map(roundHalfEven), [0, 2, 2, 3, -0, 254]);
});

Deno.test("resizedCrop reads RGB as RGBA, and resizedCropInto equals resizedCrop then Normalizer", () => {
  const [c, h, w] = ref.image_shape;
  const src = rgba(chw(c, h, w), h, w);
  const rgb: RawImage = {
    data: src.data.filter((_, i) => i % 4 !== 3),
    width: w,
    height: h,
    channels: 3,
  };
  const normalizer = new Normalizer({ mean: [0.485, 0.456, 0.406], std: [0.229, 0.224, 0.225] });
  for (
    const [i, j, bh, bw, size] of ref.resized_crop.map((
      r: { box: number[]; size: number },
    ) => [...r.box, r.size])
  ) {
    for (const flip of [false, true]) {
      for (const antialias of [true, false]) {
        const options = {
          box: { top: i, left: j, height: bh, width: bw },
          height: size,
          width: size,
          flip,
          antialias,
        };
        const u8 = resizedCrop(src, options);
        assertEquals(resizedCrop(rgb, options), u8);
        const expected = new Float32Array(u8.length + 5);
        normalizer.apply(u8, expected, 5);
        const fused = new Float32Array(u8.length + 5);
        resizedCropInto(rgb, options, normalizer, fused, 5);
        assertEquals(fused, expected, `box ${[i, j, bh, bw]} flip ${flip}`);
      }
    }
  }
});
