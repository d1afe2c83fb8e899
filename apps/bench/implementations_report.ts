/**
 * What the WebGPU implementations bench (`implementations.ts`) records, and
 * its table: a module of its own so that the bench and the whole run's report
 * (`report.ts`) can both import it.
 *
 * @module
 */
import type { WebGpuImplementation } from "@agd/tensor";
import { num, table } from "./_markdown.ts";

/** One implementation's best measurement of one step. */
export interface ImplementationResult {
  /** What its adapter says it is (each implementation names the same adapter its own way). */
  adapter: string;
  /** Whether that adapter is a software (fallback) one. */
  software: boolean;
  /** Samples per second of wall time (best round). */
  samplesPerSec: number;
  /** Wall milliseconds per step. */
  wallMs: number;
  /** Milliseconds per step the JS thread spent issuing it. */
  encodeMs: number;
  /** Compute dispatches per step. */
  dispatches?: number;
  /** η of step 1 (both implementations run the same step: equal to rounding). */
  eta: number;
}

/** One step on both implementations. */
export interface ImplementationRow {
  /** The step's label, e.g. `fcn d8 w256 mnist`. */
  name: string;
  /** Samples per step. */
  batch: number;
  /** Per implementation: its figures, or why it did not run. */
  results: Partial<Record<WebGpuImplementation, ImplementationResult>>;
  /** Per implementation that failed: the child's last error line. */
  failures: Partial<Record<WebGpuImplementation, string>>;
  /** Dawn's samples/s ÷ Deno's (above 1: Dawn is faster), when both ran. */
  dawnOverDeno?: number;
}

/** What the implementations bench (`benchImplementations`) measured. */
export interface ImplementationsReport {
  /** The Vulkan driver they ran on, in words. */
  driver: string;
  /** Alternating rounds; the best of each implementation is kept. */
  rounds: number;
  /** One row per step. */
  rows: ImplementationRow[];
}

/**
 * The Deno-vs-Dawn table: the same step on both WebGPU implementations.
 *
 * @param r what the implementations bench measured
 * @returns a heading line and a Markdown table
 */
export function implementationsMarkdown(r: ImplementationsReport): string {
  const cell = (row: ImplementationsReport["rows"][number], i: "deno" | "dawn") => {
    const x = row.results[i];
    return x
      ? `${num(x.samplesPerSec, x.samplesPerSec < 100 ? 2 : 0)}`
      : `failed: ${row.failures[i] ?? "–"}`;
  };
  return `**WebGPU implementations** (the same step on each, on ${r.driver}; ` +
    `a process per measurement, ${r.rounds} alternating round(s), best kept)\n\n` +
    table(
      [
        "step",
        "batch",
        "Deno (wgpu) samples/s",
        "Dawn samples/s",
        "Dawn ÷ Deno (speed)",
        "η step 1 Deno / Dawn",
      ],
      r.rows.map((row) => [
        row.name,
        String(row.batch),
        cell(row, "deno"),
        cell(row, "dawn"),
        row.dawnOverDeno === undefined ? "–" : `${num(row.dawnOverDeno, 2)}×`,
        [row.results.deno?.eta, row.results.dawn?.eta].map((
          e,
        ) => (e === undefined ? "–" : num(e, 6)))
          .join(" / "),
      ]),
    );
}
