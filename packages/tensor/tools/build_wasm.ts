/**
 * Builds the wasm backend's kernels: compiles every op family's C source
 * (`ops/<family>/*.c`, sharing `backend/wasm/kernel.h`) with clang
 * (`--target=wasm32 -msimd128 -mrelaxed-simd`, Debian's `clang lld`) into one
 * module and writes it, base64-encoded, into
 * `backend/wasm/kernels_wasm.generated.ts`, so that it reaches every consumer
 * (Deno, JSR, `deno bundle`, Vite) as a plain string, as the WGSL does. The C
 * files are the source of truth; `--check` rebuilds them and fails when the
 * shipped module differs, so `deno task check` proves the binary is its
 * sources'.
 *
 * ```sh
 * deno task build:wasm                                                   # rebuild
 * deno run --allow-read --allow-run packages/tensor/tools/build_wasm.ts --check # exit 1 when stale
 * ```
 *
 * @module
 */

/** The folder of the op families, each of which may hold C sources. */
const OPS_DIR = new URL("../ops/", import.meta.url);

/**
 * The C sources: every `ops/<family>/*.c`, in a fixed order.
 *
 * @returns their paths
 */
export function sources(): string[] {
  const paths: string[] = [];
  for (const family of Deno.readDirSync(OPS_DIR)) {
    if (!family.isDirectory) continue;
    for (const file of Deno.readDirSync(new URL(`${family.name}/`, OPS_DIR))) {
      if (file.isFile && file.name.endsWith(".c")) {
        paths.push(new URL(`${family.name}/${file.name}`, OPS_DIR).pathname);
      }
    }
  }
  return paths.sort();
}

/** The generated module. */
export const GENERATED: URL = new URL("../backend/wasm/kernels_wasm.generated.ts", import.meta.url);

/** clang's flags: no libc, every export named in the source. */
const FLAGS = [
  "--target=wasm32",
  "-O3",
  "-msimd128",
  "-mrelaxed-simd",
  "-mbulk-memory",
  "-nostdlib",
  "-Wl,--no-entry",
  "-Wl,--export=__heap_base",
];

/**
 * The two builds of the same source: one thread with its own growable
 * memory (works everywhere), and threads sharing an imported memory (needs
 * SharedArrayBuffer: Deno, or a cross-origin-isolated page).
 */
export const VARIANTS = {
  single: ["-Wl,--initial-memory=4194304"],
  threads: [
    "-matomics",
    "-Wl,--import-memory",
    "-Wl,--shared-memory",
    "-Wl,--initial-memory=4194304",
    "-Wl,--max-memory=2147483648",
  ],
} as const;

/** A build of {@link VARIANTS}. */
export type Variant = keyof typeof VARIANTS;

/** clang 14's prototype `f32x4.fma`, and relaxed SIMD's `f32x4.relaxed_madd` (same operands). */
const PROTOTYPE_FMA = [0xfd, 0xaf, 0x01];
const RELAXED_MADD = [0xfd, 0x85, 0x02];

/** An unsigned LEB128 at `i`: its value and the index after it. */
function leb128(bytes: Uint8Array, i: number): [number, number] {
  let value = 0;
  for (let shift = 0;; shift += 7) {
    const b = bytes[i++];
    value += (b & 0x7f) * 2 ** shift;
    if (b < 0x80) return [value, i];
  }
}

/**
 * Replaces every prototype-FMA opcode in the module's code section by
 * relaxed_madd's. Both are three bytes, so no offset or size in the module
 * changes; only the code section is rewritten, so bytes of other sections
 * that happen to match are left alone. A module without any means the source
 * lost its fused multiply-adds, which is an error.
 *
 * @param wasm the module clang wrote
 * @returns the module with relaxed_madd
 */
export function toRelaxedMadd(wasm: Uint8Array): Uint8Array {
  const out = wasm.slice();
  let count = 0;
  // Sections after the 8-byte header: id byte, LEB128 size, payload.
  for (let at = 8; at < out.length;) {
    const id = out[at];
    const [size, start] = leb128(out, at + 1);
    const end = start + size;
    if (id === 10) {
      for (let i = start; i + 2 < end; i++) {
        if (PROTOTYPE_FMA.every((b, j) => out[i + j] === b)) {
          out.set(RELAXED_MADD, i);
          count++;
          i += 2;
        }
      }
    }
    at = end;
  }
  if (count === 0) throw new Error("Cannot build the wasm kernels: clang emitted no f32x4.fma");
  return out;
}

/**
 * Compiles the source and returns the finished module.
 *
 * @param variant which build
 * @returns the module's bytes
 */
export async function compile(variant: Variant): Promise<Uint8Array> {
  const dir = await Deno.makeTempDir();
  const out = `${dir}/kernels.wasm`;
  try {
    const { success, stderr } = await new Deno.Command("clang", {
      args: [...FLAGS, ...VARIANTS[variant], "-o", out, ...sources()],
      stderr: "piped",
    }).output().catch((e: unknown) => {
      throw new Error(
        `Cannot build the wasm kernels: clang did not start (${
          (e as Error).message
        }); install it: apt-get install clang lld`,
      );
    });
    if (!success) {
      throw new Error(
        `Cannot build the wasm kernels: clang failed:\n${new TextDecoder().decode(stderr)}`,
      );
    }
    return toRelaxedMadd(await Deno.readFile(out));
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

/** Base64 of bytes, in 76-character lines (so the generated file stays readable by tools). */
function base64Lines(bytes: Uint8Array): string[] {
  let binary = "";
  for (const b of bytes) binary += String.fromCharCode(b);
  return btoa(binary).match(/.{1,76}/g) ?? [];
}

/**
 * The generated module's text for the compiled builds.
 *
 * @param builds each variant's module
 * @returns TypeScript source exporting each as base64
 */
export function render(builds: Record<Variant, Uint8Array>): string {
  const constant = (name: string, what: string, wasm: Uint8Array) => [
    `/** ${what} (${wasm.length} bytes), base64. */`,
    `export const ${name}: string = [`,
    ...base64Lines(wasm).map((l) => `  "${l}",`),
    '].join("");',
    "",
  ];
  return [
    "// Generated by packages/tensor/tools/build_wasm.ts from ops/<family>/*.c; do not edit.",
    "// Rebuild: deno task build:wasm (needs clang and lld).",
    "",
    ...constant("KERNELS_WASM_BASE64", "The kernels, one thread, own memory", builds.single),
    ...constant(
      "KERNELS_WASM_THREADS_BASE64",
      "The kernels for threads: imported shared memory",
      builds.threads,
    ),
  ].join("\n");
}

if (import.meta.main) {
  const text = render({ single: await compile("single"), threads: await compile("threads") });
  if (Deno.args.includes("--check")) {
    const shipped = await Deno.readTextFile(GENERATED);
    if (shipped !== text) {
      console.error(
        `${GENERATED.pathname} is not what ops/<family>/*.c compile to: run deno task build:wasm`,
      );
      Deno.exit(1);
    }
  } else {
    await Deno.writeTextFile(GENERATED, text);
    console.log(`Wrote ${GENERATED.pathname}.`);
  }
}
