/**
 * The same training step on each WebGPU implementation — Deno's own (wgpu)
 * and Dawn (Chrome's) — on the same Vulkan driver, as a ratio. Each
 * measurement runs in a process of its own, alternating implementations
 * round by round, so the driver can be chosen per process: where the two
 * would pick different drivers (here Deno takes lavapipe, which Dawn
 * refuses), both run on SwiftShader through `VK_ICD_FILENAMES`.
 *
 * ```sh
 * deno run -A apps/bench/implementations.ts [--quick] [--out FILE]
 * ```
 *
 * @module
 */
import { parseArgs } from "node:util";
import {
  swiftShaderDriver,
  useWebGPU,
  VULKAN_DRIVER_VARS,
  WEBGPU_IMPLEMENTATIONS,
  type WebGpuImplementation,
} from "@agd/tensor";
import { chooseImplementation } from "./backend.ts";
import { plan, type PlannedStep } from "./plan.ts";
import {
  type ImplementationRow,
  implementationsMarkdown,
  type ImplementationsReport,
} from "./implementations_report.ts";
import { adapterName } from "./report.ts";
import { benchTrainStep, type TrainResult } from "./training.ts";

/** Options of {@link benchImplementations}. */
export interface ImplementationsOptions {
  /** The steps to time (each with its timing). */
  cases: PlannedStep[];
  /** Alternating rounds (default 2). */
  rounds?: number;
  /** Progress lines (default none). */
  log?: (message: string) => void;
}

/** A child's answer: its adapter and, unless probing, the measurement. */
interface ChildAnswer {
  adapter: string;
  /** Whether the adapter is a software (fallback) one. */
  software: boolean;
  result?: TrainResult;
}

/** Runs this module as a child process and returns what it printed last. */
async function child(
  implementation: WebGpuImplementation,
  env: Record<string, string>,
  step?: PlannedStep,
): Promise<ChildAnswer> {
  const args = ["run", "-A", import.meta.filename ?? new URL(import.meta.url).pathname];
  args.push("--child", implementation);
  if (step) args.push("--step", JSON.stringify(step));
  const out = await new Deno.Command(Deno.execPath(), {
    args,
    env,
    stdout: "piped",
    stderr: "piped",
  })
    .output();
  const stdout = new TextDecoder().decode(out.stdout).trim().split("\n");
  if (out.success) return JSON.parse(stdout[stdout.length - 1]);
  const stderr = new TextDecoder().decode(out.stderr).trim().split("\n");
  const error = stderr.findLast((l) => l.startsWith("error:")) ?? stderr[stderr.length - 1];
  throw new Error(
    error?.replace(/^error: (Uncaught \(in promise\) )?(Error: )?/, "") ?? `exit ${out.code}`,
  );
}

/**
 * The environment both implementations run in, and the driver in words: as
 * the user set it; else each one's default when both find a hardware
 * adapter; else (a software adapter on either side, such as lavapipe, which
 * Dawn refuses) SwiftShader for both, where it is installed.
 */
async function sameDriver(): Promise<{ env: Record<string, string>; driver: string }> {
  const set = VULKAN_DRIVER_VARS.filter((v) => Deno.env.get(v) !== undefined);
  if (set.length) {
    return { env: {}, driver: set.map((v) => `${v}=${Deno.env.get(v)}`).join(" ") };
  }
  const found = await Promise.all(
    WEBGPU_IMPLEMENTATIONS.map((i) => child(i, {}).catch(() => undefined)),
  );
  const names = found.map((a) => a?.adapter ?? "none").join(" / ");
  if (found.every((a) => a && !a.software)) {
    return { env: {}, driver: `the default GPU (${names})` };
  }
  const swiftShader = swiftShaderDriver();
  if (!swiftShader) return { env: {}, driver: `each one's default driver (${names})` };
  return {
    env: { VK_ICD_FILENAMES: swiftShader },
    driver: `SwiftShader (VK_ICD_FILENAMES=${swiftShader})`,
  };
}

/**
 * Times each step on each implementation, alternating, in separate processes.
 *
 * @param options steps, rounds, log
 * @returns the driver and, per step, both figures and their ratio
 * @example
 * ```ts ignore
 * import { benchImplementations } from "./implementations.ts";
 * const r = await benchImplementations({
 *   cases: [{ name: "fcn", arch: "fcn", dataset: "mnist", batch: 32, depth: 3, width: 64, timing: { count: 3 } }],
 * });
 * console.log(r.rows[0].dawnOverDeno);
 * ```
 */
export async function benchImplementations(
  options: ImplementationsOptions,
): Promise<ImplementationsReport> {
  const rounds = options.rounds ?? 2;
  const log = options.log ?? (() => {});
  const { env, driver } = await sameDriver();
  log(`implementations: on ${driver}`);
  const rows: ImplementationRow[] = options.cases.map((c) => ({
    name: c.name,
    batch: c.batch,
    results: {},
    failures: {},
  }));
  for (let round = 1; round <= rounds; round++) {
    for (const [i, c] of options.cases.entries()) {
      const row = rows[i];
      for (const implementation of WEBGPU_IMPLEMENTATIONS) {
        if (row.failures[implementation]) continue;
        log(`implementations round ${round}/${rounds}: ${c.name} on ${implementation}`);
        try {
          const { adapter, software, result } = await child(implementation, env, c);
          const best = row.results[implementation];
          if (result && (!best || result.samplesPerSec > best.samplesPerSec)) {
            const { samplesPerSec, wallMs, encodeMs, dispatches, eta } = result;
            row.results[implementation] = {
              adapter,
              software,
              samplesPerSec,
              wallMs,
              encodeMs,
              dispatches,
              eta,
            };
          }
        } catch (e) {
          row.failures[implementation] = e instanceof Error ? e.message : String(e);
        }
      }
    }
  }
  for (const row of rows) {
    const { deno, dawn } = row.results;
    if (deno && dawn) row.dawnOverDeno = dawn.samplesPerSec / deno.samplesPerSec;
  }
  return { driver, rounds, rows };
}

/** The child: one measurement (or, without `--step`, the adapter only), as JSON on stdout. */
async function runChild(implementation: WebGpuImplementation, step?: string): Promise<void> {
  chooseImplementation(implementation);
  const backend = await useWebGPU({ implementation });
  const info = backend.adapterInfo as GPUAdapterInfo & { isFallbackAdapter?: boolean };
  const answer: ChildAnswer = {
    adapter: adapterName(info),
    software: info.isFallbackAdapter ?? false,
  };
  if (step) {
    const c: PlannedStep = JSON.parse(step);
    answer.result = await benchTrainStep(c, c.timing);
  }
  console.log(JSON.stringify(answer));
}

if (import.meta.main) {
  const { values } = parseArgs({
    args: Deno.args,
    options: {
      child: { type: "string" },
      step: { type: "string" },
      quick: { type: "boolean", default: false },
      out: { type: "string" },
    },
  });
  if (values.child) {
    const implementation = values.child as WebGpuImplementation;
    await runChild(implementation, values.step);
    Deno.exit(0); // Dawn keeps handles open
  }
  const p = plan(values.quick).implementations;
  const report = await benchImplementations({ ...p, log: console.log });
  console.log("\n" + implementationsMarkdown(report));
  if (values.out) await Deno.writeTextFile(values.out, JSON.stringify(report, null, 2) + "\n");
}
