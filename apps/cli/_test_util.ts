// Shared by the CLI's end-to-end tests: where the command lives, and the small
// Fashion-MNIST fcn run they all start from.

/** Where Debian's dataset-fashion-mnist puts the files. */
export const FASHION = "/usr/share/datasets/fashion-mnist";
/** Whether the real Fashion-MNIST is installed. */
export const haveFashion: boolean = await Deno.stat(FASHION).then(() => true, () => false);
/** The training command's entry point. */
export const MAIN: string = new URL("./main.ts", import.meta.url).pathname;
/** The workspace root (the command's working directory). */
export const ROOT: string = new URL("../../", import.meta.url).pathname;

/** Flags of a small fcn (depth 3, width 32, batch 100) on the first `trainLimit` Fashion-MNIST samples. */
export function smallFcnArgs(trainLimit: number, testLimit: number): string[] {
  return [
    "--cpu",
    "--dataset",
    "fashion-mnist",
    "--data-dir",
    "/usr/share/datasets",
    "--no-download",
    "--depth",
    "3",
    "--width",
    "32",
    "--train_bs",
    "100",
    "--train-limit",
    String(trainLimit),
    "--test-limit",
    String(testLimit),
  ];
}
