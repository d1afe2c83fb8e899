import { deepStrictEqual, equal, match } from "node:assert/strict";
import { driPrimeTag, listPciGpus, selectGpu } from "./gpu_select.ts";

/** A fake /sys with the given PCI devices (address → [class, vendor]). */
async function fakeSysfs(devices: Record<string, [string, string]>): Promise<string> {
  const root = await Deno.makeTempDir();
  for (const [address, [cls, vendor]] of Object.entries(devices)) {
    const dir = `${root}/bus/pci/devices/${address}`;
    await Deno.mkdir(dir, { recursive: true });
    await Deno.writeTextFile(`${dir}/class`, `${cls}\n`);
    await Deno.writeTextFile(`${dir}/vendor`, `${vendor}\n`);
  }
  return root;
}

const SERVER = {
  "0000:02:00.0": ["0x030000", "0x1a03"], // ASPEED BMC graphics
  "0000:c1:00.0": ["0x030200", "0x10de"],
  "0000:41:00.0": ["0x030200", "0x10de"],
  "0000:00:1f.3": ["0x040300", "0x8086"], // audio
} as Record<string, [string, string]>;

Deno.test("listPciGpus: compute GPUs in address order, no BMC, no audio", async () => {
  const sys = await fakeSysfs(SERVER);
  deepStrictEqual(listPciGpus(sys).map((g) => g.address), ["0000:41:00.0", "0000:c1:00.0"]);
  await Deno.remove(sys, { recursive: true });
});

Deno.test("listPciGpus: an Intel iGPU is dropped beside a discrete GPU, kept alone", async () => {
  const mixed = await fakeSysfs({
    "0000:00:02.0": ["0x030000", "0x8086"],
    "0000:01:00.0": ["0x030000", "0x1002"],
  });
  deepStrictEqual(listPciGpus(mixed).map((g) => g.vendor), ["0x1002"]);
  const laptop = await fakeSysfs({ "0000:00:02.0": ["0x030000", "0x8086"] });
  equal(listPciGpus(laptop).length, 1);
  await Deno.remove(mixed, { recursive: true });
  await Deno.remove(laptop, { recursive: true });
});

Deno.test("selectGpu: local rank r gets GPU r % n through Mesa's device-select variables", async () => {
  const sys = await fakeSysfs(SERVER);
  const layer = await Deno.makeTempFile();
  const pick = (r: number) => selectGpu(r, { sysfs: sys, layerManifests: [layer], dryRun: true });
  deepStrictEqual(pick(1).env, {
    DRI_PRIME: "pci-0000_c1_00_0",
    MESA_VK_DEVICE_SELECT_FORCE_DEFAULT_DEVICE: "1",
  });
  equal(pick(2).env.DRI_PRIME, "pci-0000_41_00_0");
  match(pick(2).note, /shared/);
  const noLayer = selectGpu(1, { sysfs: sys, layerManifests: [], dryRun: true });
  deepStrictEqual(noLayer.env, {});
  match(noLayer.note, /mesa-vulkan-drivers/);
  deepStrictEqual(selectGpu(0, { sysfs: `${sys}/missing`, dryRun: true }).env, {});
  await Deno.remove(sys, { recursive: true });
  await Deno.remove(layer);
});

Deno.test("driPrimeTag: the udev ID_PATH_TAG form", () => {
  equal(driPrimeTag("0000:41:00.0"), "pci-0000_41_00_0");
});
