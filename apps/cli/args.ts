/**
 * The training command's flags: the AGD reference trainer's names and
 * defaults (`--train_bs`, `--test_bs`, …), plus what users expect on top.
 * Bad input is one line naming the flag and value, followed by the usage.
 *
 * @module
 */
import { parseArgs, type ParseArgsOptionsConfig } from "node:util";

/** Everything a training run is configured by (saved as config.json). */
export interface TrainConfig {
  /** fcn | vgg | vgg11 | vgg13 | vgg16 | vgg19 | resnet18 | resnet50. */
  arch: string;
  /** mnist | fashion-mnist | cifar10 | cifar100 | imagenet. */
  dataset: string;
  /** mse (the paper's square loss) or xent. */
  loss: "mse" | "xent";
  /** Training batch size. */
  train_bs: number;
  /** Test batch size. */
  test_bs: number;
  /** Number of epochs. */
  epochs: number;
  /** FCN depth. */
  depth: number;
  /** FCN width. */
  width: number;
  /** Data-parallel training over MPI ranks. */
  distribute: boolean;
  /**
   * Where to run: `auto` (WebGPU on a hardware adapter, else whichever of
   * WebGPU and wasm a startup measurement finds faster), `webgpu`, `wasm`
   * (WebAssembly SIMD on every core) or `cpu` (the reference loops).
   */
  device: "auto" | "webgpu" | "wasm" | "cpu";
  /** The CPU reference backend (`--cpu`, the same as `--device cpu`). */
  cpu: boolean;
  /** The WebGPU implementation: Deno's own (wgpu) or Chrome's (Dawn, from npm `webgpu`). */
  webgpu: "deno" | "dawn";
  /** AGD gain. */
  gain: number;
  /** agd | sgd | adam. */
  optimizer: "agd" | "sgd" | "adam";
  /** Learning rate of sgd/adam. */
  lr: number;
  /** SGD momentum. */
  momentum: number;
  /** Seed of init, shuffling and augmentation. */
  seed: number;
  /** Data root (else $AGD_DATA, ~/.cache/agd, /usr/share/datasets). */
  data_dir?: string;
  /** Run directory. */
  out: string;
  /** Continue from the run directory's checkpoint. */
  resume: boolean;
  /** Write an ONNX model here at the end. */
  export?: string;
  /** Use only the first N training samples (quick runs, tests). */
  train_limit?: number;
  /** Use only the first N test samples. */
  test_limit?: number;
  /** Do not download missing datasets. */
  no_download: boolean;
  /** ImageNet decode workers (default: cores − 1, at least 1; 0 decodes on the main thread). */
  workers?: number;
  /** ImageNet: crop, resize and flip in libvips instead of torchvision's exact arithmetic. */
  data_fast: boolean;
}

interface FlagSpec {
  type: "string" | "boolean";
  default?: string | boolean;
  help: string;
  choices?: readonly string[];
  kind?: "int" | "number" | "path";
}

const FLAGS: Record<string, FlagSpec> = {
  arch: {
    type: "string",
    default: "fcn",
    help: "network",
    choices: ["fcn", "vgg", "vgg11", "vgg13", "vgg16", "vgg19", "resnet18", "resnet50"],
  },
  dataset: {
    type: "string",
    default: "cifar10",
    help: "dataset",
    choices: ["cifar10", "cifar100", "mnist", "fashion-mnist", "imagenet"],
  },
  loss: {
    type: "string",
    default: "mse",
    help: "loss: square loss with √C one-hot, or cross-entropy",
    choices: ["mse", "xent"],
  },
  train_bs: { type: "string", default: "128", help: "training batch size", kind: "int" },
  test_bs: { type: "string", default: "128", help: "test batch size", kind: "int" },
  epochs: { type: "string", default: "200", help: "epochs", kind: "int" },
  depth: {
    type: "string",
    default: "10",
    help: "fcn depth (number of Linear layers)",
    kind: "int",
  },
  width: { type: "string", default: "256", help: "fcn width", kind: "int" },
  distribute: { type: "boolean", default: false, help: "data-parallel over MPI ranks (mpirun)" },
  device: {
    type: "string",
    default: "auto",
    help:
      "auto (WebGPU on a GPU, else the faster of WebGPU and wasm, measured), webgpu, wasm or cpu",
    choices: ["auto", "webgpu", "wasm", "cpu"],
  },
  cpu: { type: "boolean", default: false, help: "the CPU reference backend (= --device cpu)" },
  webgpu: {
    type: "string",
    default: "deno",
    help: "WebGPU implementation: Deno's own (wgpu) or Chrome's (Dawn)",
    choices: ["deno", "dawn"],
  },
  gain: {
    type: "string",
    default: "1.0",
    help: "AGD gain (10 can speed training)",
    kind: "number",
  },
  optimizer: { type: "string", default: "agd", help: "optimizer", choices: ["agd", "sgd", "adam"] },
  lr: {
    type: "string",
    default: "0.1",
    help: "learning rate of sgd/adam (AGD has none)",
    kind: "number",
  },
  momentum: { type: "string", default: "0", help: "SGD momentum", kind: "number" },
  seed: {
    type: "string",
    default: "0",
    help: "seed of init, shuffling and augmentation",
    kind: "int",
  },
  "data-dir": {
    type: "string",
    help: "data root (default $AGD_DATA, ~/.cache/agd, /usr/share/datasets)",
    kind: "path",
  },
  out: {
    type: "string",
    help: "run directory (default runs/<arch>-<dataset>-<optimizer>-seed<seed>)",
    kind: "path",
  },
  resume: { type: "boolean", default: false, help: "continue from the run directory's checkpoint" },
  export: { type: "string", help: "write the trained model as ONNX to this path", kind: "path" },
  "train-limit": { type: "string", help: "use only the first N training samples", kind: "int" },
  "test-limit": { type: "string", help: "use only the first N test samples", kind: "int" },
  "no-download": { type: "boolean", default: false, help: "never download missing datasets" },
  workers: {
    type: "string",
    help: "ImageNet decode workers (default: cores − 1; 0 = main thread)",
    kind: "int",
  },
  "data-fast": {
    type: "boolean",
    default: false,
    help:
      "ImageNet: crop/resize/flip in libvips, with shrink-on-load for large crops (pixels ~0.2/255 from torchvision's)",
  },
  help: { type: "boolean", default: false, help: "show this help" },
};

/** The usage text listing every flag and its default. */
export function usage(): string {
  const lines = [
    "Usage: deno task train [flags]          train a network with AGD (or a baseline)",
    "       deno task train plot RUN... [--out curves.svg]   draw training curves",
    "",
    "Flags:",
  ];
  for (const [name, spec] of Object.entries(FLAGS)) {
    const value = spec.type === "string"
      ? ` <${spec.choices ? spec.choices.join("|") : spec.kind ?? "value"}>`
      : "";
    const def = spec.default !== undefined && spec.type === "string"
      ? ` (default ${spec.default})`
      : "";
    const left = `  --${name}${value}`;
    // A long choice list gets the help on its own line rather than running into it.
    lines.push(
      left.length < 43
        ? left.padEnd(44) + spec.help + def
        : `${left}\n${"".padEnd(44)}${spec.help}${def}`,
    );
  }
  return lines.join("\n");
}

/** A bad command line: the message names the flag and value. */
export class UsageError extends Error {
  override name = "UsageError";
}

function parseNumber(flag: string, text: string, kind: "int" | "number"): number {
  const v = Number(text);
  const ok = kind === "int" ? Number.isInteger(v) && v >= 0 : Number.isFinite(v) && v >= 0;
  if (text.trim() === "" || !ok) {
    throw new UsageError(
      `Invalid value "${text}" for --${flag}: expected a ${
        kind === "int" ? "non-negative integer" : "non-negative number"
      }`,
    );
  }
  return v;
}

/** The config key of a flag: `--data-dir` is `data_dir`. */
function keyOf(flag: string): keyof TrainConfig {
  return flag.replaceAll("-", "_") as keyof TrainConfig;
}

/** The parsed command line. */
export interface ParsedArgs {
  /** The configuration: given flags over the defaults. */
  config: TrainConfig;
  /** True for --help. */
  help: boolean;
  /** The config keys whose flags were given on the command line. */
  given: ReadonlySet<keyof TrainConfig>;
}

/** Parses the training flags, or throws a {@link UsageError}; `help` is true for --help. */
export function parseTrainArgs(argv: string[]): ParsedArgs {
  // Parsed without defaults first, to know which flags were given (for --resume).
  const options: ParseArgsOptionsConfig = Object.fromEntries(
    Object.entries(FLAGS).map(([k, s]) => [k, { type: s.type }]),
  ) as ParseArgsOptionsConfig;
  let values: Record<string, string | boolean | undefined>;
  try {
    ({ values } = parseArgs({ args: argv, options, strict: true, allowPositionals: false }) as {
      values: Record<string, string | boolean | undefined>;
    });
  } catch (e) {
    throw new UsageError((e as Error).message.split("\n")[0].replace(/^TypeError.*?: /, ""));
  }
  const given = new Set(
    Object.keys(values).filter((k) => k !== "help" && values[k] !== undefined).map(keyOf),
  );
  for (const [name, spec] of Object.entries(FLAGS)) {
    values[name] ??= spec.default;
  }
  for (const [name, spec] of Object.entries(FLAGS)) {
    const v = values[name];
    if (spec.choices && typeof v === "string" && !spec.choices.includes(v)) {
      throw new UsageError(
        `Invalid value "${v}" for --${name}: choose one of ${spec.choices.join(", ")}`,
      );
    }
  }
  const num = (flag: string, kind: "int" | "number" = "int") =>
    parseNumber(flag, values[flag] as string, kind);
  const optional = (flag: string) => (values[flag] === undefined ? undefined : num(flag));
  const positive = (flag: string, v: number) => {
    if (v <= 0) throw new UsageError(`Invalid value "${v}" for --${flag}: it must be positive`);
    return v;
  };
  const config: TrainConfig = {
    arch: values.arch as string,
    dataset: values.dataset as string,
    loss: values.loss as TrainConfig["loss"],
    train_bs: positive("train_bs", num("train_bs")),
    test_bs: positive("test_bs", num("test_bs")),
    epochs: num("epochs"),
    depth: num("depth"),
    width: positive("width", num("width")),
    distribute: values.distribute as boolean,
    device: deviceFlag(values.device as TrainConfig["device"], values.cpu as boolean),
    cpu: values.cpu as boolean || values.device === "cpu",
    webgpu: values.webgpu as TrainConfig["webgpu"],
    gain: positive("gain", num("gain", "number")),
    optimizer: values.optimizer as TrainConfig["optimizer"],
    lr: positive("lr", num("lr", "number")),
    momentum: num("momentum", "number"),
    seed: num("seed"),
    data_dir: values["data-dir"] as string | undefined,
    out: "",
    resume: values.resume as boolean,
    export: values.export as string | undefined,
    train_limit: optional("train-limit"),
    test_limit: optional("test-limit"),
    no_download: values["no-download"] as boolean,
    workers: optional("workers"),
    data_fast: values["data-fast"] as boolean,
  };
  if (config.arch === "fcn" && config.depth < 2) {
    throw new UsageError(
      `Invalid value "${config.depth}" for --depth: fcn needs at least 2 layers`,
    );
  }
  config.out = (values.out as string | undefined) ??
    `runs/${config.arch}-${config.dataset}-${config.optimizer}-seed${config.seed}`;
  return { config, help: values.help as boolean, given };
}

/**
 * What `--resume` may change: how long to train, what to evaluate and export,
 * where the data is and how the run is executed (CPU or GPU, one process or
 * several ranks with the same global batch). Everything else defines the run.
 */
export const RESUMABLE: ReadonlySet<keyof TrainConfig> = new Set<keyof TrainConfig>([
  "epochs",
  "test_bs",
  "test_limit",
  "export",
  "data_dir",
  "no_download",
  "workers",
  "device",
  "cpu",
  "webgpu",
  "distribute",
  "out",
  "resume",
]);

/**
 * The configuration of a resumed run, as PyTorch Lightning resumes one: the
 * run's saved `config.json`, with the given flags that may change
 * ({@link RESUMABLE}) taken from the command line. A given flag that
 * contradicts the run is an error naming it and both values.
 *
 * @param saved the run's config.json, parsed
 * @param parsed the command line
 * @param source the config file's path, for messages
 * @returns the configuration to continue with
 */
export function resumeConfig(saved: unknown, parsed: ParsedArgs, source: string): TrainConfig {
  if (typeof saved !== "object" || saved === null || Array.isArray(saved)) {
    throw new Error(`Cannot --resume: ${source} does not hold a JSON object`);
  }
  // Keys missing from an older config.json take today's defaults.
  const defaults = parseTrainArgs([]).config;
  const run = { ...defaults, ...saved } as TrainConfig;
  const config = { ...run };
  for (const key of parsed.given) {
    const wanted = parsed.config[key];
    if (RESUMABLE.has(key)) {
      (config as unknown as Record<string, unknown>)[key] = wanted;
    } else if (wanted !== run[key]) {
      const flag = Object.keys(FLAGS).find((f) => keyOf(f) === key) ?? key;
      throw new Error(
        `Cannot --resume with --${flag} ${wanted}: the run in ${source} has ${flag} ${
          run[key]
        }; start a new run with another --out to change it`,
      );
    }
  }
  config.resume = true;
  config.out = parsed.config.out;
  return config;
}

/** `--device`, with `--cpu` as its older spelling; both naming different devices is an error. */
function deviceFlag(device: TrainConfig["device"], cpu: boolean): TrainConfig["device"] {
  if (!cpu) return device;
  if (device !== "auto" && device !== "cpu") {
    throw new UsageError(
      `Cannot use --cpu with --device ${device}: --cpu means --device cpu; give one`,
    );
  }
  return "cpu";
}
