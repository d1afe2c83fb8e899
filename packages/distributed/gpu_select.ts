/**
 * One GPU per rank on a multi-GPU machine.
 *
 * Deno's `navigator.gpu.requestAdapter()` cannot name an adapter: it honours
 * only `powerPreference` and the `DENO_WEBGPU_BACKEND` variable (`vulkan`,
 * `gl`, …), then wgpu takes the first adapter of the preferred kind. (The
 * `DENO_WEBGPU_ADAPTER_NAME` variable belongs to wgpu's conformance-test runner,
 * not to Deno, and a name cannot tell identical GPUs apart anyway.) So the
 * choice is made one level down, in Vulkan: Mesa's device-select layer
 * (`VkLayer_MESA_device_select`, an implicit layer shipped by
 * `mesa-vulkan-drivers`) reorders the physical devices of every Vulkan driver,
 * NVIDIA's included. `DRI_PRIME=pci-0000_41_00_0` picks a device by its PCI
 * address, which tells identical GPUs apart, and
 * `MESA_VK_DEVICE_SELECT_FORCE_DEFAULT_DEVICE=1` hides the others. Both are
 * read when the first Vulkan instance is created, so they must be set before
 * the adapter is requested — which {@link selectGpu} does, from the rank's
 * index on its machine (`OMPI_COMM_WORLD_LOCAL_RANK`).
 *
 * @module
 */

/** PCI vendors whose display controllers are compute GPUs (NVIDIA, AMD, Intel). */
const GPU_VENDORS = new Set(["0x10de", "0x1002", "0x8086"]);
const INTEL = "0x8086";
/** The device-select layer's manifest; without it the variables do nothing. */
const LAYER_MANIFESTS = [
  "/usr/share/vulkan/implicit_layer.d/VkLayer_MESA_device_select.json",
  "/etc/vulkan/implicit_layer.d/VkLayer_MESA_device_select.json",
];

/** A GPU found on the PCI bus. */
export interface PciGpu {
  /** Address as `domain:bus:device.function`, e.g. `0000:41:00.0`. */
  address: string;
  /** PCI vendor id, e.g. `0x10de`. */
  vendor: string;
}

/** What {@link selectGpu} decided. */
export interface GpuSelection {
  /** The chosen GPU, or undefined when nothing was set. */
  gpu?: PciGpu;
  /** Variables set in this process's environment. */
  env: Record<string, string>;
  /** A line for the log: what was chosen, or why nothing was. */
  note: string;
}

/** Options of {@link selectGpu}. */
export interface GpuSelectOptions {
  /** Root of sysfs (default `/sys`; tests pass a fake tree). */
  sysfs?: string;
  /** Paths of the device-select layer manifest to look for (tests pass their own). */
  layerManifests?: string[];
  /** Only compute, do not set the environment (default false). */
  dryRun?: boolean;
}

/**
 * The machine's GPUs in PCI address order: display controllers (class 0x0300
 * VGA or 0x0302 3D) of NVIDIA, AMD or Intel — a server's BMC graphics (ASPEED,
 * Matrox) is left out, and so is an Intel integrated GPU beside discrete ones.
 *
 * @param sysfs root of sysfs (default `/sys`)
 * @returns the GPUs, empty when sysfs cannot be read
 */
export function listPciGpus(sysfs = "/sys"): PciGpu[] {
  const dir = `${sysfs}/bus/pci/devices`;
  const found: PciGpu[] = [];
  let entries: Deno.DirEntry[];
  try {
    entries = [...Deno.readDirSync(dir)];
  } catch {
    return [];
  }
  for (const e of entries) {
    try {
      const cls = Deno.readTextFileSync(`${dir}/${e.name}/class`).trim();
      const vendor = Deno.readTextFileSync(`${dir}/${e.name}/vendor`).trim();
      if ((cls.startsWith("0x0300") || cls.startsWith("0x0302")) && GPU_VENDORS.has(vendor)) {
        found.push({ address: e.name, vendor });
      }
    } catch {
      // A device without class/vendor files is not a GPU we can use.
    }
  }
  found.sort((a, b) => a.address.localeCompare(b.address));
  const discrete = found.filter((g) => g.vendor !== INTEL);
  return discrete.length > 0 ? discrete : found;
}

/**
 * The DRI_PRIME tag of a PCI address: `0000:41:00.0` → `pci-0000_41_00_0`.
 *
 * @param address `domain:bus:device.function`
 * @returns the tag the device-select layer matches
 * @example
 * ```ts
 * import { driPrimeTag } from "@agd/distributed";
 * console.log(driPrimeTag("0000:41:00.0")); // pci-0000_41_00_0
 * ```
 */
export function driPrimeTag(address: string): string {
  return `pci-${address.replace(/[:.]/g, "_")}`;
}

/**
 * Steers this process's WebGPU adapter to GPU `localRank` of the machine
 * (round-robin when ranks outnumber GPUs). Call it before the first
 * `requestAdapter`. Does nothing when the machine has fewer than two GPUs,
 * when the user already chose (`DRI_PRIME` or `MESA_VK_DEVICE_SELECT` set), or
 * when the device-select layer is not installed.
 *
 * @param localRank this rank's index among the ranks on its machine
 * @param options fake sysfs, dry run
 * @returns what was chosen and the variables set
 */
export function selectGpu(localRank: number, options: GpuSelectOptions = {}): GpuSelection {
  const env: Record<string, string> = {};
  const user = ["DRI_PRIME", "MESA_VK_DEVICE_SELECT"].find((k) => Deno.env.get(k) !== undefined);
  if (user) return { env, note: `GPU chosen by the user (${user}=${Deno.env.get(user)})` };
  const gpus = listPciGpus(options.sysfs);
  if (gpus.length < 2) {
    return { env, note: `${gpus.length} GPU on the PCI bus: the default adapter is used` };
  }
  const gpu = gpus[localRank % gpus.length];
  const manifests = options.layerManifests ?? LAYER_MANIFESTS;
  const hasLayer = manifests.some((p) => {
    try {
      return Deno.statSync(p).isFile;
    } catch {
      return false;
    }
  });
  if (!hasLayer) {
    return {
      gpu,
      env,
      note: `${gpus.length} GPUs but no Mesa device-select layer: every rank on this machine ` +
        `gets the default adapter (apt-get install -y mesa-vulkan-drivers to pick one per rank)`,
    };
  }
  env.DRI_PRIME = driPrimeTag(gpu.address);
  env.MESA_VK_DEVICE_SELECT_FORCE_DEFAULT_DEVICE = "1";
  if (!options.dryRun) { for (const [k, v] of Object.entries(env)) Deno.env.set(k, v); }
  const shared = localRank >= gpus.length ? ` (shared: ${gpus.length} GPUs on this machine)` : "";
  return { gpu, env, note: `GPU ${gpu.address}${shared}` };
}
