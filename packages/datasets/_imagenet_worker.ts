// Web Worker decoding JPEGs and applying the ImageNet transform (private).

import { type DecoderName, type JpegDecoder, loadDecoder } from "./jpeg.ts";
import { imagenetTransform, type ImageTransformConfig } from "./_pipeline.ts";
import { Normalizer } from "./transforms.ts";
import { readAt } from "./_tar.ts";

/** A unit of work: some samples of one batch. */
export interface WorkRequest {
  id: number;
  decoder?: DecoderName;
  config: ImageTransformConfig;
  items: { path: string; offset: number; size: number; seed: number }[];
}

/** The answer: normalized CHW floats for the samples that decoded. */
export interface WorkResponse {
  id: number;
  images: Float32Array;
  ok: Uint8Array;
  errors: string[];
  fatal?: string;
}

let decoderP: Promise<JpegDecoder> | undefined;
let normalizer: Normalizer | undefined;
let chain: Promise<void> = Promise.resolve();

async function handle(req: WorkRequest): Promise<WorkResponse> {
  const cfg = req.config;
  decoderP ??= loadDecoder(req.decoder);
  const decode = await decoderP;
  normalizer ??= new Normalizer(
    cfg.normalize ? cfg : { mean: [0, 0, 0], std: [1, 1, 1] },
  );
  const plane = 3 * cfg.cropSize * cfg.cropSize;
  const images = new Float32Array(req.items.length * plane);
  const ok = new Uint8Array(req.items.length);
  const errors: string[] = [];
  for (let k = 0; k < req.items.length; k++) {
    const it = req.items[k];
    const where = it.offset >= 0 ? `${it.path} at byte ${it.offset}` : it.path;
    let bytes: Uint8Array;
    try {
      bytes = it.offset >= 0
        ? await readAt(it.path, it.offset, it.size)
        : await Deno.readFile(it.path);
    } catch (e) {
      errors.push(`${where}: cannot read (${(e as Error).message})`);
      continue;
    }
    try {
      const img = await decode(bytes);
      normalizer.apply(imagenetTransform(img, cfg, it.seed), images, k * plane);
      ok[k] = 1;
    } catch (e) {
      errors.push(`${where}: not a decodable JPEG (${(e as Error).message})`);
    }
  }
  return { id: req.id, images, ok, errors };
}

/** The worker global scope, typed without triple-slash lib directives (banned on JSR). */
const scope = self as unknown as {
  onmessage: ((e: MessageEvent<WorkRequest>) => void) | null;
  postMessage(message: unknown, transfer: Transferable[]): void;
};

scope.onmessage = (e: MessageEvent<WorkRequest>) => {
  chain = chain.then(async () => {
    let res: WorkResponse;
    try {
      res = await handle(e.data);
    } catch (err) {
      res = {
        id: e.data.id,
        images: new Float32Array(0),
        ok: new Uint8Array(0),
        errors: [],
        fatal: (err as Error).message,
      };
    }
    scope.postMessage(res, [res.images.buffer as ArrayBuffer]);
  });
};
