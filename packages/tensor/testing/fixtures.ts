/**
 * Access to the PyTorch golden files (`tests/fixtures/*.safetensors`, copied
 * from the project's shared fixtures so a clean clone is self-contained).
 *
 * @module
 */
import { readSafetensors, type SafeTensor, toFloat32, toInt32 } from "../safetensors.ts";

/** Directory of the golden files. */
export const FIXTURES_DIR: URL = new URL("../../../tests/fixtures/", import.meta.url);

/** A loaded golden file with typed accessors that name missing keys. */
export class Fixture {
  readonly #tensors: Map<string, SafeTensor>;
  readonly #name: string;

  /**
   * @param name file name, for error messages
   * @param tensors the file's tensors
   */
  constructor(name: string, tensors: Map<string, SafeTensor>) {
    this.#name = name;
    this.#tensors = tensors;
  }

  /** Names of all tensors. */
  keys(): string[] {
    return [...this.#tensors.keys()];
  }

  /** Whether `key` exists. */
  has(key: string): boolean {
    return this.#tensors.has(key);
  }

  #get(key: string): SafeTensor {
    const t = this.#tensors.get(key);
    if (!t) throw new Error(`Fixture ${this.#name} has no tensor "${key}"`);
    return t;
  }

  /** Shape of `key`. */
  shape(key: string): number[] {
    return [...this.#get(key).shape];
  }

  /** `key` as float32. */
  f32(key: string): Float32Array {
    return toFloat32(this.#get(key));
  }

  /** `key` as int32 (int64 labels are narrowed). */
  i32(key: string): Int32Array {
    return toInt32(this.#get(key));
  }
}

/** Loads `tests/fixtures/<name>`. */
export async function loadFixture(name: string): Promise<Fixture> {
  const { tensors } = await readSafetensors(new URL(name, FIXTURES_DIR));
  return new Fixture(name, tensors);
}
