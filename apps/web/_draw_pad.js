// The training page's drawing pad: white strokes on a black canvas drawn with
// the pointer, the drawing turned into a 28×28 dataset image, and its
// classification by the trained model (top-5 probabilities) and by the
// exported .onnx.

/**
 * A canvas showing 8-bit grayscale pixels.
 *
 * @param pixels `size × size` uint8 values, row-major
 * @param size the side in pixels
 * @returns a new `<canvas>` of that size
 */
export function grayCanvas(pixels, size) {
  const c = document.createElement("canvas");
  c.width = c.height = size;
  const img = new ImageData(size, size);
  for (let i = 0; i < size * size; i++) img.data.set([pixels[i], pixels[i], pixels[i], 255], 4 * i);
  c.getContext("2d").putImageData(img, 0, 0);
  return c;
}

/**
 * Makes a canvas a drawing pad: the pointer draws round white strokes on it.
 *
 * @param canvas the `<canvas>` to draw on
 * @param options `penWidth()`: the stroke width now; `onDrawn()`: runs after each stroke
 * @returns `clear()`, which blackens the pad, and `pixels()`, the drawing as a dataset image
 */
export function drawPad(canvas, { penWidth, onDrawn }) {
  const ctx = canvas.getContext("2d", { willReadFrequently: true });
  let drawing = null;

  function stroke(x, y) {
    ctx.strokeStyle = "#fff";
    ctx.lineWidth = penWidth();
    ctx.lineCap = "round";
    ctx.lineJoin = "round";
    ctx.beginPath();
    ctx.moveTo(drawing.x, drawing.y);
    ctx.lineTo(x + 0.01, y);
    ctx.stroke();
    drawing = { x, y };
  }

  canvas.addEventListener("pointerdown", (e) => {
    canvas.setPointerCapture(e.pointerId);
    drawing = { x: e.offsetX, y: e.offsetY };
    stroke(e.offsetX, e.offsetY);
  });
  canvas.addEventListener("pointermove", (e) => {
    if (drawing) stroke(e.offsetX, e.offsetY);
  });
  const endStroke = () => {
    if (!drawing) return;
    drawing = null;
    onDrawn();
  };
  canvas.addEventListener("pointerup", endStroke);
  canvas.addEventListener("pointercancel", endStroke);

  return {
    clear() {
      ctx.fillStyle = "#000";
      ctx.fillRect(0, 0, canvas.width, canvas.height);
    },
    /** The drawing as the dataset stores an image: 28×28 uint8 grayscale (ITU-R 601 luma). */
    pixels() {
      const small = document.createElement("canvas");
      small.width = small.height = 28;
      const sctx = small.getContext("2d", { willReadFrequently: true });
      sctx.imageSmoothingEnabled = true;
      sctx.imageSmoothingQuality = "high";
      sctx.drawImage(canvas, 0, 0, 28, 28);
      const px = sctx.getImageData(0, 0, 28, 28).data;
      return Uint8Array.from(
        { length: 784 },
        (_, i) => Math.round((px[4 * i] * 299 + px[4 * i + 1] * 587 + px[4 * i + 2] * 114) / 1000),
      );
    },
  };
}

/**
 * Lists the five likeliest classes with their softmax probabilities as bars.
 *
 * @param list the `<ol>` to fill (one `<li data-index>` per class)
 * @param logits the model's logits for one image
 * @param names the class names
 */
export function showTop5(list, logits, names) {
  const max = Math.max(...logits);
  const e = Array.from(logits, (v) => Math.exp(v - max));
  const sum = e.reduce((a, b) => a + b, 0);
  const order = e.map((v, i) => [v / sum, i]).sort((a, b) => b[0] - a[0]).slice(0, 5);
  list.replaceChildren(...order.map(([p, i]) => {
    const li = document.createElement("li");
    li.dataset.index = String(i);
    const label = Object.assign(document.createElement("span"), {
      className: "label",
      textContent: names[i],
    });
    const bar = Object.assign(document.createElement("span"), { className: "bar" });
    bar.style.width = `${(100 * p).toFixed(1)}%`;
    const prob = Object.assign(document.createElement("span"), {
      className: "prob",
      textContent: `${(100 * p).toFixed(1)}%`,
    });
    li.append(label, bar, prob);
    return li;
  }));
}

/**
 * Classifies the pad's drawing with the trained model and the exported .onnx:
 * shows the 28×28 image the model sees, the top 5 classes and the .onnx's verdict.
 *
 * @param pad the drawing pad ({@link drawPad})
 * @param options `model`: normalize(pixels) and predict(input) (trainer.ts's TabTrainer);
 *   `onnxTop(input)`: the .onnx's top class, or -1 without one; `names`: the class names;
 *   `preview`, `top5`, `onnxNote`: the 112×112 preview canvas, the top-5 list, the verdict's element
 * @returns the drawing's pixels, the model input, the model's and the .onnx's top class
 */
export async function classifyDrawing(pad, { model, onnxTop, names, preview, top5, onnxNote }) {
  const pixels = pad.pixels();
  const ctx = preview.getContext("2d");
  ctx.imageSmoothingEnabled = false;
  ctx.drawImage(grayCanvas(pixels, 28), 0, 0, 112, 112);
  const input = await model.normalize(pixels);
  const { logits, top } = await model.predict(input);
  showTop5(top5, logits, names);
  const onnx = await onnxTop(input);
  onnxNote.textContent = onnx < 0
    ? ""
    : `The exported .onnx (onnxruntime-web) says: ${names[onnx]}${
      onnx === top[0] ? ", as the page" : ", unlike the page"
    }.`;
  return { pixels, input, top: top[0], onnxTop: onnx };
}
