// onnxruntime-web (wasm) runs the exported fcn and VGGs as the project's own
// evaluation forward does (CPU reference backend), at batch 1 and 3, and
// Debian's onnx checker accepts them.
import { parityTest } from "./_test_util.ts";

parityTest("fcn (depth 10, width 256, mnist)", {
  arch: "fcn",
  dataset: "mnist",
  inputShape: [1, 28, 28],
  depth: 10,
  width: 256,
});

parityTest("vgg11 (cifar10, 32×32)", {
  arch: "vgg11",
  dataset: "cifar10",
  inputShape: [3, 32, 32],
  trainForward: true,
});

parityTest("vgg16 (cifar100, 32×32)", {
  arch: "vgg16",
  dataset: "cifar100",
  inputShape: [3, 32, 32],
});
