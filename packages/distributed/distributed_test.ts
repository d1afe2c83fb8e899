// End-to-end tests under a real `mpirun` (Debian's openmpi-bin): two ranks
// train a tiny fcn and must match one process with the global batch; a rank
// that dies or hangs must end the whole job with a clear message. Ignored
// (by name) when mpirun is not installed.
import { deepStrictEqual, equal, match, ok } from "node:assert/strict";
import { hasWebGPU } from "@agd/tensor";
import { trainSteps } from "./testdata/fcn_steps.ts";

const SCRIPT = new URL("./testdata/fcn_steps.ts", import.meta.url).pathname;
const haveMpirun = await new Deno.Command("mpirun", { args: ["--version"], stdout: "null" })
  .output().then((o) => o.success, () => false);

interface Job {
  code: number;
  output: string;
  seconds: number;
}

/** Runs the script on `ranks` local ranks; mpirun is killed after 120 s. */
async function mpirun(
  ranks: number,
  args: string[],
  env: Record<string, string> = {},
): Promise<Job> {
  const start = performance.now();
  const out = await new Deno.Command("mpirun", {
    args: [
      "--allow-run-as-root",
      "--oversubscribe",
      // One core per rank (mpirun's default for 2 ranks) starves Deno's threads.
      "--bind-to",
      "none",
      "-np",
      String(ranks),
      Deno.execPath(),
      "run",
      "-A",
      SCRIPT,
      "--distribute",
      ...args,
    ],
    // Containers often forbid the cross-memory attach that vader uses for
    // large messages; copying through shared memory works everywhere.
    env: { OMPI_MCA_btl_vader_single_copy_mechanism: "none", NO_COLOR: "1", ...env },
    stdout: "piped",
    stderr: "piped",
    signal: AbortSignal.timeout(120_000),
  }).output();
  const dec = new TextDecoder();
  return {
    code: out.code,
    output: dec.decode(out.stdout) + dec.decode(out.stderr),
    seconds: (performance.now() - start) / 1000,
  };
}

function readWeights(path: string): Float32Array[] {
  return (JSON.parse(Deno.readTextFileSync(path)) as number[][]).map((w) => Float32Array.from(w));
}

function maxError(a: Float32Array[], b: Float32Array[]): number {
  let worst = 0;
  a.forEach((w, i) =>
    w.forEach((v, j) => {
      const r = b[i][j];
      worst = Math.max(worst, Math.abs(v - r) / (1e-5 + 1e-4 * Math.abs(r)));
    })
  );
  return worst;
}

const haveGpu = await hasWebGPU();
// 0.01 MiB buckets split the fcn's gradients in two: reduced in order, the
// last layers' bucket while backward still runs.
const STEPS = ["--steps", "3", "--batch", "16", "--bucket-mib", "0.01"];

Deno.test({
  name:
    "distribute: 2 MPI ranks × batch 8 give the weights of 1 process × batch 16 after 3 AGD steps" +
    (haveMpirun ? "" : " (ignored: mpirun not installed; apt-get install -y openmpi-bin)"),
  ignore: !haveMpirun,
  fn: async () => {
    const dir = await Deno.makeTempDir();
    const job = await mpirun(2, [...STEPS, "--out", `${dir}/w.json`]);
    equal(job.code, 0, job.output);
    const rank0 = readWeights(`${dir}/w.json`);
    const rank1 = readWeights(`${dir}/w.json.rank1`);
    // Same averaged gradients, same AGD arithmetic: bit-identical ranks.
    deepStrictEqual(rank1, rank0);
    const single = await trainSteps({ steps: 3, batch: 16 });
    const initial = await trainSteps({ steps: 0 });
    ok(maxError(rank0, single) <= 1, `differs from one process: ${maxError(rank0, single)}`);
    ok(maxError(initial, single) > 1, "the steps should have moved the weights");
    await Deno.remove(dir, { recursive: true });
  },
});

Deno.test({
  name: "distribute: on WebGPU too, 2 ranks match 1 process (gradients read back mid-backward)" +
    (haveMpirun && haveGpu ? "" : " (ignored: needs mpirun and a WebGPU adapter)"),
  ignore: !haveMpirun || !haveGpu,
  fn: async () => {
    const dir = await Deno.makeTempDir();
    const job = await mpirun(2, [...STEPS, "--webgpu", "--out", `${dir}/w.json`]);
    equal(job.code, 0, job.output);
    const rank0 = readWeights(`${dir}/w.json`);
    deepStrictEqual(readWeights(`${dir}/w.json.rank1`), rank0);
    // The CPU reference with the global batch; WebGPU differs by float32 rounding only.
    const single = await trainSteps({ steps: 3, batch: 16 });
    ok(maxError(rank0, single) <= 1, `differs from one process: ${maxError(rank0, single)}`);
    await Deno.remove(dir, { recursive: true });
  },
});

// What mpirun prints when a rank fails (help text, "non-zero exit code") is
// not ours and is often lost (show_help's "Out of resource" / "Data unpack
// would read past end of buffer"): these tests assert only on what we
// control — the exit status, our own message, the time taken and the last
// checkpoint.

/** The checkpoint fcn_steps.ts wrote after its last completed step. */
function readCheckpoint(path: string): { step: number; weights: number[][] } {
  return JSON.parse(Deno.readTextFileSync(path));
}

Deno.test({
  name: "distribute: a rank that exits ends the whole job, and the last checkpoint is intact" +
    (haveMpirun ? "" : " (ignored: mpirun not installed)"),
  ignore: !haveMpirun,
  fn: async () => {
    const dir = await Deno.makeTempDir();
    const job = await mpirun(2, [
      "--steps",
      "3",
      "--fail",
      "exit:1",
      "--out",
      `${dir}/w.json`,
      "--checkpoint",
      `${dir}/checkpoint.json`,
    ]);
    ok(job.code !== 0, job.output);
    // Ended by mpirun, well before the test's own 120 s limit would kill it.
    ok(job.seconds < 60, `took ${job.seconds} s`);
    // Rank 1 left after step 1, so rank 0 never finished its 3 steps.
    await assertMissing(`${dir}/w.json`);
    // mpirun may kill rank 0 before or after it saved step 1; either way the
    // file is whole (written to a temporary file, then renamed) or absent.
    if (await Deno.stat(`${dir}/checkpoint.json`).then(() => true, () => false)) {
      const checkpoint = readCheckpoint(`${dir}/checkpoint.json`);
      equal(checkpoint.step, 1);
      equal(checkpoint.weights.length, 3);
    }
    await Deno.remove(dir, { recursive: true });
  },
});

Deno.test({
  name: "distribute: a rank that hangs makes the others abort the job after the timeout" +
    (haveMpirun ? "" : " (ignored: mpirun not installed)"),
  ignore: !haveMpirun,
  fn: async () => {
    const dir = await Deno.makeTempDir();
    const job = await mpirun(2, [
      "--steps",
      "3",
      "--fail",
      "hang:1",
      "--out",
      `${dir}/w.json`,
      "--checkpoint",
      `${dir}/checkpoint.json`,
    ], { AGD_DISTRIBUTE_TIMEOUT: "3" });
    ok(job.code !== 0, job.output);
    match(
      job.output,
      /rank 0: MPI_Allreduce of \d+ values did not complete within 3 s: another rank died or hangs; aborting the job/,
    );
    ok(job.seconds < 60, `took ${job.seconds} s`);
    await assertMissing(`${dir}/w.json`);
    // Rank 0 saved step 1, then waited for rank 1 in step 2's all-reduce.
    const checkpoint = readCheckpoint(`${dir}/checkpoint.json`);
    equal(checkpoint.step, 1);
    equal(checkpoint.weights.length, 3);
    await Deno.remove(dir, { recursive: true });
  },
});

async function assertMissing(path: string): Promise<void> {
  const found = await Deno.stat(path).then(() => true, () => false);
  ok(!found, `${path} should not exist`);
}
