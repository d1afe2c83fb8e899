// The training page's curves: small SVG line charts (train loss and accuracy
// per statistics read, test evaluations as dots, AGD's η), redrawn at most
// once per animation frame however often the trainer reports.

/** The series colours: train, test and η. */
export const COLORS = { train: "#2a7", test: "#c50", eta: "#36c" };

/**
 * Draws a line chart into an `<svg viewBox="0 0 300 190">`: x in epochs,
 * series of [x, y] points (`dots`: test evaluations, dashed with a dot each).
 *
 * @param svg the element whose contents are replaced
 * @param options the title, the series, the x range (0…xMax), the y range
 *   (default: the data's, with 5% margins) and the y labels' format
 */
export function drawChart(svg, { title, series, xMax, yMin, yMax, format }) {
  const [W, H, L, R, T, B] = [300, 190, 42, 8, 22, 30];
  const ys = series.flatMap((s) => s.points.map((p) => p[1])).filter(Number.isFinite);
  let lo = yMin ?? (ys.length ? Math.min(...ys) : 0);
  let hi = yMax ?? (ys.length ? Math.max(...ys) : 1);
  if (yMin === undefined && ys.length) lo -= 0.05 * (hi - lo);
  if (yMax === undefined && ys.length) hi += 0.05 * (hi - lo);
  if (!(hi > lo)) [lo, hi] = [lo - 0.5, lo + 0.5];
  const sx = (x) => L + ((W - L - R) * x) / xMax;
  const sy = (y) => T + (H - T - B) * (1 - (y - lo) / (hi - lo));
  const parts = [
    `<text x="${L}" y="14" font-weight="600" font-size="11">${title}</text>`,
  ];
  for (let i = 0; i <= 4; i++) {
    const y = lo + ((hi - lo) * i) / 4;
    parts.push(
      `<line x1="${L}" x2="${W - R}" y1="${sy(y)}" y2="${sy(y)}" stroke="#eee"/>`,
      `<text x="${L - 4}" y="${sy(y) + 3}" text-anchor="end" fill="#666">${format(y)}</text>`,
    );
  }
  const xTicks = xMax <= 1 ? [0, 0.25, 0.5, 0.75, 1] : Array.from(
    { length: Math.min(xMax, 10) + 1 },
    (_, i) => (i * xMax) / Math.min(xMax, 10),
  );
  for (const x of xTicks) {
    parts.push(
      `<text x="${sx(x)}" y="${H - 17}" text-anchor="middle" fill="#666">${+x.toFixed(2)}</text>`,
    );
  }
  parts.push(
    `<text x="${(L + W - R) / 2}" y="${H - 4}" text-anchor="middle" fill="#666">epochs</text>`,
    `<rect x="${L}" y="${T}" width="${W - L - R}" height="${
      H - T - B
    }" fill="none" stroke="#ccc"/>`,
  );
  let legendX = W - R;
  for (const s of [...series].reverse()) {
    const pts = s.points.filter((p) => Number.isFinite(p[1]));
    if (pts.length > 1 && !s.dots) {
      const d = pts.map((p) => `${sx(p[0]).toFixed(1)},${sy(p[1]).toFixed(1)}`).join(" ");
      parts.push(
        `<polyline points="${d}" fill="none" stroke="${s.color}" stroke-width="1.4"/>`,
      );
    }
    if (s.dots) {
      const d = pts.map((p) => `${sx(p[0]).toFixed(1)},${sy(p[1]).toFixed(1)}`).join(" ");
      if (pts.length > 1) {
        parts.push(
          `<polyline points="${d}" fill="none" stroke="${s.color}" stroke-width="1.2" stroke-dasharray="3 2"/>`,
        );
      }
      for (const p of pts) {
        parts.push(`<circle cx="${sx(p[0])}" cy="${sy(p[1])}" r="2.6" fill="${s.color}"/>`);
      }
    }
    const label = `${s.name}${pts.length ? ` ${format(pts[pts.length - 1][1])}` : ""}`;
    parts.push(
      `<text x="${legendX}" y="14" text-anchor="end" fill="${s.color}">${label}</text>`,
    );
    legendX -= 7 + 5.2 * label.length;
  }
  svg.innerHTML = parts.join("");
}

/**
 * Draws the three training charts (loss, accuracy, η) of a run's progress.
 *
 * @param svgs the loss, accuracy and η charts' `<svg>` elements
 * @param run the run's epochs (the x range), progress points and test evaluations
 */
export function drawTrainingCharts({ loss, acc, eta }, { epochs, points, tests }) {
  const xMax = epochs;
  const at = (p) => p.globalStep / p.stepsPerEpoch;
  const f4 = (v) => v.toFixed(v < 1 ? 3 : 2);
  drawChart(loss, {
    title: "loss (mse)",
    xMax,
    yMin: 0,
    format: f4,
    series: [
      { name: "train", color: COLORS.train, points: points.map((p) => [at(p), p.loss]) },
      {
        name: "test",
        color: COLORS.test,
        dots: true,
        points: tests.map((t) => [at(t), t.loss]),
      },
    ],
  });
  drawChart(acc, {
    title: "accuracy",
    xMax,
    yMax: 1,
    format: (v) => `${(100 * v).toFixed(0)}%`,
    series: [
      { name: "train", color: COLORS.train, points: points.map((p) => [at(p), p.acc]) },
      {
        name: "test",
        color: COLORS.test,
        dots: true,
        points: tests.map((t) => [at(t), t.acc]),
      },
    ],
  });
  drawChart(eta, {
    title: "η (AGD's step size)",
    xMax,
    format: (v) => v.toFixed(3),
    series: [{ name: "η", color: COLORS.eta, points: points.map((p) => [at(p), p.eta]) }],
  });
}

/**
 * A redraw of the training charts that runs at the next animation frame,
 * once however many times it is asked for before: a trainer reports far more
 * often than a screen refreshes.
 *
 * @param svgs the loss, accuracy and η charts' `<svg>` elements
 * @param state what to draw, read when the frame comes: `{ epochs, points, tests }`
 * @returns the function that asks for a redraw
 */
export function chartRedraw(svgs, state) {
  let queued = false;
  return () => {
    if (queued) return;
    queued = true;
    requestAnimationFrame(() => {
      queued = false;
      drawTrainingCharts(svgs, state());
    });
  };
}
