// onnxruntime-web (wasm) runs the exported pre-activation ResNet-50 (CIFAR,
// 32×32: its 4×4 average pool needs that size) as the project's own
// evaluation forward does, and Debian's onnx checker accepts it. Its
// CPU-reference forward takes ~8 s an image, so batch 1 is compared with row 0
// of the batch-3 reference, and only the default (BN-folded) export is checked
// by onnx.checker (unfolded BatchNormalization is checked on the smaller nets).
import { parityTest } from "./_test_util.ts";

parityTest("resnet50 (cifar10, 32×32)", {
  arch: "resnet50",
  dataset: "cifar10",
  inputShape: [3, 32, 32],
  batch1FromBatch3: true,
}, false);
