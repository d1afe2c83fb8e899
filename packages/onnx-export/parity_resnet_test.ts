// onnxruntime-web (wasm) runs the exported ResNet-18 (CIFAR) and torchvision's
// ResNet-50 (at 64×64) as the project's own evaluation forward does (CPU
// reference backend), and Debian's onnx checker accepts them. The reference
// forwards take seconds an image, so batch 1 is compared with row 0 of the
// batch-3 reference.
import { parityTest } from "./_test_util.ts";

parityTest("resnet18 (cifar10, 32×32)", {
  arch: "resnet18",
  dataset: "cifar10",
  inputShape: [3, 32, 32],
  batch1FromBatch3: true,
});

parityTest("resnet50 (imagenet, 64×64)", {
  arch: "resnet50",
  dataset: "imagenet",
  inputShape: [3, 64, 64],
  batch1FromBatch3: true,
}, false);
