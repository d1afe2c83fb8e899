// Web Worker decoding images and applying the ImageNet transform (private).

import type { DecoderName } from "./jpeg.ts";
import {
  type ImageProcessor,
  imageProcessor,
  type ImageTransformConfig,
  processItems,
  type WorkItem,
} from "./_pipeline.ts";

/** A unit of work: some samples of one batch. */
export interface WorkRequest {
  id: number;
  decoder?: DecoderName;
  config: ImageTransformConfig;
  items: WorkItem[];
}

/** The answer: normalized CHW floats for the samples that decoded. */
export interface WorkResponse {
  id: number;
  images: Float32Array;
  ok: Uint8Array;
  errors: string[];
  fatal?: string;
}

const processors = new Map<string, Promise<ImageProcessor>>();
let chain: Promise<void> = Promise.resolve();

async function handle(req: WorkRequest): Promise<WorkResponse> {
  const key = JSON.stringify([req.config, req.decoder]);
  let p = processors.get(key);
  if (!p) {
    p = imageProcessor(req.config, req.decoder);
    p.catch(() => processors.delete(key));
    processors.set(key, p);
  }
  const plane = 3 * req.config.cropSize * req.config.cropSize;
  return { id: req.id, ...await processItems(await p, plane, req.items) };
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
    // The pixels move to the main thread without a copy.
    scope.postMessage(res, [res.images.buffer as ArrayBuffer]);
  });
};
