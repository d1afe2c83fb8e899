/**
 * Training curves as an SVG like the AGD paper's figures: η, train loss, and
 * train/test accuracy per epoch, several runs overlaid. Written by hand (a
 * polyline per series) rather than with a charting library: no well-kept one
 * renders SVG in Deno without a DOM, and this needs ~100 lines.
 *
 * @module
 */

/** One epoch's line of metrics.jsonl. */
export interface EpochMetrics {
  /** Epoch, 1-based. */
  epoch: number;
  /** Smallest η of the epoch. */
  eta_min: number;
  /** Mean η of the epoch. */
  eta_mean: number;
  /** Largest η of the epoch. */
  eta_max: number;
  /** Mean training loss. */
  train_loss: number;
  /** Training accuracy in [0, 1]. */
  train_acc: number;
  /** Test loss (eval mode). */
  test_loss: number;
  /** Test accuracy in [0, 1] (eval mode). */
  test_acc: number;
  /** Training throughput. */
  samples_per_s: number;
  /** Wall time of the epoch (training + evaluation). */
  seconds: number;
  /**
   * Mean milliseconds per step the loop waited for its batch: the input
   * pipeline's share of the step (absent in runs recorded before it was).
   */
  data_wait_ms?: number;
}

/** A run to draw: a label and its epochs. */
export interface PlotRun {
  /** Legend text. */
  label: string;
  /** Epoch metrics in order. */
  epochs: EpochMetrics[];
}

/** Reads a run directory's metrics.jsonl. */
export async function readMetrics(runDir: string): Promise<EpochMetrics[]> {
  const path = `${runDir}/metrics.jsonl`;
  let text: string;
  try {
    text = await Deno.readTextFile(path);
  } catch {
    throw new Error(`Cannot read ${path}: is ${runDir} a run directory of deno task train?`);
  }
  return text.split("\n").filter((l) => l.trim()).map((l, i) => {
    try {
      return JSON.parse(l) as EpochMetrics;
    } catch {
      throw new Error(`Cannot parse ${path} line ${i + 1}: not JSON`);
    }
  });
}

const COLORS = [
  "#1f77b4",
  "#d62728",
  "#2ca02c",
  "#ff7f0e",
  "#9467bd",
  "#8c564b",
  "#e377c2",
  "#7f7f7f",
];

interface Panel {
  title: string;
  series: (m: EpochMetrics) => number;
  dashed?: (m: EpochMetrics) => number;
}

const PANELS: Panel[] = [
  { title: "η (mean per epoch)", series: (m) => m.eta_mean },
  { title: "train loss", series: (m) => m.train_loss },
  { title: "train accuracy (%)", series: (m) => 100 * m.train_acc },
  { title: "test accuracy (%)", series: (m) => 100 * m.test_acc },
];

function niceRange(values: number[]): [number, number] {
  const finite = values.filter(Number.isFinite);
  if (!finite.length) return [0, 1];
  let lo = Math.min(...finite);
  let hi = Math.max(...finite);
  if (hi - lo < 1e-9) {
    lo -= 0.5;
    hi += 0.5;
  }
  const pad = (hi - lo) * 0.05;
  return [lo - pad, hi + pad];
}

const esc = (s: string) => s.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;");

/**
 * Renders runs as an SVG document (four panels side by side, shared legend).
 *
 * @example
 * ```ts
 * import { renderSvg } from "./plot.ts";
 * const m = { epoch: 1, eta_min: 0.1, eta_mean: 0.2, eta_max: 0.3, train_loss: 1, train_acc: 0.5,
 *   test_loss: 1, test_acc: 0.5, samples_per_s: 100, seconds: 1 };
 * console.log(renderSvg([{ label: "agd", epochs: [m] }]).startsWith("<svg")); // true
 * ```
 */
export function renderSvg(runs: PlotRun[]): string {
  const pw = 300;
  const ph = 220;
  const margin = { left: 52, right: 16, top: 28, bottom: 36 };
  const width = PANELS.length * pw;
  const height = ph + 24 * Math.ceil(runs.length / 3) + 12;
  const out: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" font-family="sans-serif" font-size="11">`,
    `<rect width="100%" height="100%" fill="white"/>`,
  ];
  const maxEpoch = Math.max(1, ...runs.flatMap((r) => r.epochs.map((m) => m.epoch)));
  PANELS.forEach((panel, p) => {
    const x0 = p * pw + margin.left;
    const y0 = margin.top;
    const w = pw - margin.left - margin.right;
    const h = ph - margin.top - margin.bottom;
    const [lo, hi] = niceRange(runs.flatMap((r) => r.epochs.map(panel.series)));
    const sx = (e: number) => x0 + (maxEpoch === 1 ? w / 2 : ((e - 1) / (maxEpoch - 1)) * w);
    const sy = (v: number) => y0 + h - ((v - lo) / (hi - lo)) * h;
    out.push(
      `<text x="${x0 + w / 2}" y="16" text-anchor="middle" font-weight="bold">${
        esc(panel.title)
      }</text>`,
    );
    out.push(`<rect x="${x0}" y="${y0}" width="${w}" height="${h}" fill="none" stroke="#999"/>`);
    for (let i = 0; i <= 4; i++) {
      const v = lo + ((hi - lo) * i) / 4;
      const y = sy(v);
      out.push(`<line x1="${x0}" x2="${x0 + w}" y1="${y}" y2="${y}" stroke="#eee"/>`);
      out.push(
        `<text x="${x0 - 4}" y="${y + 4}" text-anchor="end">${Number(v.toPrecision(3))}</text>`,
      );
    }
    out.push(`<text x="${x0 + w / 2}" y="${y0 + h + 28}" text-anchor="middle">epoch</text>`);
    for (const e of [1, maxEpoch]) {
      out.push(`<text x="${sx(e)}" y="${y0 + h + 14}" text-anchor="middle">${e}</text>`);
    }
    runs.forEach((run, r) => {
      const pts = run.epochs.filter((m) => Number.isFinite(panel.series(m)))
        .map((m) => `${sx(m.epoch).toFixed(1)},${sy(panel.series(m)).toFixed(1)}`);
      const color = COLORS[r % COLORS.length];
      if (pts.length > 1) {
        out.push(
          `<polyline fill="none" stroke="${color}" stroke-width="2" points="${pts.join(" ")}"/>`,
        );
      }
      for (const pt of pts) {
        const [cx, cy] = pt.split(",");
        out.push(`<circle cx="${cx}" cy="${cy}" r="2.5" fill="${color}"/>`);
      }
    });
  });
  runs.forEach((run, r) => {
    const x = margin.left + (r % 3) * 380;
    const y = ph + 8 + 24 * Math.floor(r / 3);
    out.push(`<rect x="${x}" y="${y}" width="14" height="4" fill="${COLORS[r % COLORS.length]}"/>`);
    out.push(`<text x="${x + 20}" y="${y + 6}">${esc(run.label)}</text>`);
  });
  out.push("</svg>");
  return out.join("\n");
}

/** Draws the runs in `runDirs` into `outPath` (SVG). */
export async function plotRuns(runDirs: string[], outPath: string): Promise<void> {
  const runs: PlotRun[] = [];
  for (const dir of runDirs) {
    let label = dir.replace(/\/+$/, "").split("/").pop() ?? dir;
    try {
      const config = JSON.parse(await Deno.readTextFile(`${dir}/config.json`));
      const arch = config.arch === "fcn" ? `fcn d${config.depth} w${config.width}` : config.arch;
      const optimizer = config.optimizer === "agd" ? "agd" : `${config.optimizer} lr ${config.lr}`;
      label = `${arch} ${optimizer} (${config.dataset}, seed ${config.seed})`;
    } catch { /* no config: keep the directory name */ }
    runs.push({ label, epochs: await readMetrics(dir) });
  }
  await Deno.writeTextFile(outPath, renderSvg(runs));
}
