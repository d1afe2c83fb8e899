// `--distribute` end to end: `mpirun -np 2 deno task train --distribute` on a
// slice of Fashion-MNIST must write the metrics and checkpoint of one process
// with the same global batch. Ignored when mpirun or the data is missing.
import { equal, ok } from "node:assert/strict";
import { readSafetensors, toFloat32 } from "@agd/tensor";
import { readMetrics } from "./plot.ts";
import { haveFashion, MAIN, ROOT, smallFcnArgs } from "./_test_util.ts";

const haveMpirun = await new Deno.Command("mpirun", { args: ["--version"], stdout: "null" })
  .output().then((o) => o.success, () => false);

const args = [...smallFcnArgs(600, 200), "--epochs", "1"];

async function run(cmd: string, argv: string[]): Promise<{ code: number; output: string }> {
  const out = await new Deno.Command(cmd, {
    args: argv,
    cwd: ROOT,
    env: { NO_COLOR: "1", OMPI_MCA_btl_vader_single_copy_mechanism: "none" },
    stdout: "piped",
    stderr: "piped",
    signal: AbortSignal.timeout(120_000),
  }).output();
  const dec = new TextDecoder();
  return { code: out.code, output: dec.decode(out.stdout) + dec.decode(out.stderr) };
}

function close(a: number, b: number, what: string): void {
  ok(Math.abs(a - b) <= 1e-5 + 1e-4 * Math.abs(b), `${what}: ${a} vs ${b}`);
}

Deno.test({
  name:
    "train --distribute: 2 ranks write the metrics and weights of 1 process with the global batch" +
    (haveMpirun && haveFashion ? "" : " (ignored: needs mpirun and Fashion-MNIST)"),
  ignore: !haveMpirun || !haveFashion,
  fn: async () => {
    const [multi, single] = [await Deno.makeTempDir(), await Deno.makeTempDir()];
    const job = await run("mpirun", [
      "--allow-run-as-root",
      "--oversubscribe",
      // One core per rank (mpirun's default for 2 ranks) starves Deno's threads.
      "--bind-to",
      "none",
      "-np",
      "2",
      Deno.execPath(),
      "run",
      "-A",
      MAIN,
      ...args,
      "--distribute",
      "--out",
      multi,
    ]);
    equal(job.code, 0, job.output);
    ok(job.output.includes("Distributed over 2 ranks: 50 samples per rank"), job.output);
    const alone = await run(Deno.execPath(), ["run", "-A", MAIN, ...args, "--out", single]);
    equal(alone.code, 0, alone.output);
    const [a] = await readMetrics(multi);
    const [b] = await readMetrics(single);
    for (const key of ["eta_min", "eta_mean", "eta_max", "train_loss", "test_loss"] as const) {
      close(a[key], b[key], key);
    }
    equal(a.train_acc, b.train_acc);
    const wa = (await readSafetensors(`${multi}/checkpoint.safetensors`)).tensors;
    const wb = (await readSafetensors(`${single}/checkpoint.safetensors`)).tensors;
    equal(wa.size, wb.size);
    for (const [name, t] of wb) {
      const x = toFloat32(wa.get(name)!);
      toFloat32(t).forEach((v, i) => close(x[i], v, name));
    }
    await Deno.remove(multi, { recursive: true });
    await Deno.remove(single, { recursive: true });
  },
});
