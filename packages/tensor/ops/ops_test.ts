import { checkOp } from "../testing/check_op.ts";
import * as t from "../mod.ts";

const labels = (n: number, classes: number) => ({
  shape: [n],
  data: Int32Array.from({ length: n }, (_, i) => (i * 7 + 3) % classes),
  grad: false,
});
const positive = (shape: number[]) => ({
  shape,
  data: Float32Array.from(
    { length: shape.reduce((a, b) => a * b, 1) },
    (_, i) => 0.5 + ((i * 37) % 11) / 7,
  ),
});

// Elementwise
checkOp("neg", t.neg, [[3, 4]]);
checkOp("exp", t.exp, [[3, 4]]);
checkOp("log", t.log, [positive([3, 4])]);
checkOp("sqrt", t.sqrt, [positive([3, 4])]);
checkOp("relu", t.relu, [[3, 4]]);
checkOp("scaledRelu", (x) => t.scaledRelu(x), [[3, 4]]);
checkOp("scaledRelu ×3 (relu_grad)", (x) => t.scaledRelu(x, 3), [[5, 7]]);
checkOp("affine", (x) => t.affine(x, { mul: -1.5, add: 2 }), [[5]]);
checkOp("add broadcast", t.add, [[2, 1, 3], [4, 1]]);
checkOp("sub broadcast", t.sub, [[2, 3], [3]]);
checkOp("mul broadcast", t.mul, [[2, 3, 4], [1, 3, 1]]);
checkOp("div broadcast", t.div, [[2, 3], positive([2, 1])]);
checkOp("nanToNum", t.nanToNum, [[4]]);
// Reductions and shapes
checkOp("sum axes [0,2]", (x) => t.sum(x, { axes: [0, 2] }), [[2, 3, 4]]);
checkOp("sum all", (x) => t.sum(x), [[3, 5]]);
checkOp("mean [0,2,3]", (x) => t.mean(x, { axes: [0, 2, 3], keepDims: true }), [[2, 3, 4, 5]]);
checkOp("max last", (x) => t.max(x, { axes: [-1] }), [[4, 6]]);
checkOp("expand", (x) => t.expand(x, [2, 3, 4]), [[3, 1]]);
checkOp("reshape", (x) => t.mul(t.reshape(x, [6, 2]), t.reshape(x, [6, 2])), [[3, 4]]);
checkOp("argmax", (x) => t.argmax(x), [[5, 7]], { noGrad: true });
checkOp("oneHot", (y) => t.oneHot(y, 4, 2), [labels(6, 5)], { noGrad: true });
// Matmul, every transpose combination
checkOp("matmul", (a, b) => t.matmul(a, b), [[3, 4], [4, 5]]);
checkOp("matmul transA", (a, b) => t.matmul(a, b, { transA: true }), [[4, 3], [4, 5]]);
checkOp("matmul transB", (a, b) => t.matmul(a, b, { transB: true }), [[3, 4], [5, 4]]);
checkOp("matmul transA transB", (a, b) => t.matmul(a, b, { transA: true, transB: true }), [[4, 3], [
  5,
  4,
]]);
// Convolution and pooling
checkOp("conv2d 3x3 s1 p1", (x, w) => t.conv2d(x, w, { padding: 1 }), [[2, 3, 5, 5], [4, 3, 3, 3]]);
checkOp("conv2d 3x3 s2 p1", (x, w) => t.conv2d(x, w, { stride: 2, padding: 1 }), [[1, 2, 6, 6], [
  3,
  2,
  3,
  3,
]]);
checkOp("conv2d 1x1 s2", (x, w) => t.conv2d(x, w, { stride: 2 }), [[2, 3, 5, 5], [2, 3, 1, 1]]);
checkOp("conv2d 7x7 s2 p3", (x, w) => t.conv2d(x, w, { stride: 2, padding: 3 }), [[1, 2, 9, 9], [
  2,
  2,
  7,
  7,
]]);
checkOp("maxPool2d 3 s2 p1", (x) => t.maxPool2d(x, { kernel: 3, stride: 2, padding: 1 }), [[
  2,
  2,
  6,
  6,
]]);
checkOp("maxPool2d 2", (x) => t.maxPool2d(x, { kernel: 2 }), [[1, 3, 4, 4]]);
checkOp("avgPool2d 2 p1", (x) => t.avgPool2d(x, { kernel: 2, padding: 1 }), [[1, 2, 5, 5]]);
checkOp("globalAvgPool2d", (x) => t.globalAvgPool2d(x), [[2, 3, 4, 4]]);
// Composites
checkOp("batchNormTrain", (x) => t.batchNormTrain(x).y, [[4, 3, 2, 2]], {
  eps: 1e-3,
  fd: { atol: 2e-2, rtol: 2e-2 },
});
checkOp("batchNormTrain 2-D", (x) => t.batchNormTrain(x).y, [[6, 3]], {
  eps: 1e-3,
  fd: { atol: 2e-2, rtol: 2e-2 },
});
checkOp("logSumExp", t.logSumExp, [[3, 5]]);
checkOp("mseLoss", (x, y) => t.mseLoss(x, y), [[6, 5], labels(6, 5)]);
checkOp("crossEntropyLoss", (x, y) => t.crossEntropyLoss(x, y), [[6, 5], labels(6, 5)]);
checkOp("countCorrect", (x, y) => t.countCorrect(x, y), [[6, 5], labels(6, 5)], { noGrad: true });
checkOp("sliceNorms", t.sliceNorms, [[3, 4, 2, 2]]);
