import { assertEquals } from "./_test_util.ts";
import { cacheDir, dataRoot, dataRoots, findDatasetDir, SYSTEM_DATA_DIR } from "./paths.ts";

function withEnv(vars: Record<string, string | undefined>, fn: () => Promise<void> | void) {
  return async () => {
    const old: Record<string, string | undefined> = {};
    for (const [k, v] of Object.entries(vars)) {
      old[k] = Deno.env.get(k);
      if (v === undefined) Deno.env.delete(k);
      else Deno.env.set(k, v);
    }
    try {
      await fn();
    } finally {
      for (const [k, v] of Object.entries(old)) {
        if (v === undefined) Deno.env.delete(k);
        else Deno.env.set(k, v);
      }
    }
  };
}

Deno.test(
  "paths: dataDir beats AGD_DATA beats the XDG/home cache; system folder searched last",
  withEnv({
    AGD_DATA: undefined,
    XDG_CACHE_HOME: "/xdg",
    HOME: "/home/u",
    IMAGENET_PATH: undefined,
  }, async () => {
    assertEquals(cacheDir(), "/xdg/agd");
    assertEquals(dataRoot(), "/xdg/agd");
    Deno.env.delete("XDG_CACHE_HOME");
    assertEquals(cacheDir(), "/home/u/.cache/agd");
    Deno.env.set("AGD_DATA", "/data");
    assertEquals(dataRoots(), ["/data", SYSTEM_DATA_DIR]);
    assertEquals(dataRoots({ dataDir: "/d", searchSystem: false }), ["/d"]);
    assertEquals(dataRoots({ dataDir: SYSTEM_DATA_DIR }), [SYSTEM_DATA_DIR]);
    const tmp = await Deno.makeTempDir();
    try {
      await Deno.mkdir(`${tmp}/cifar-100-binary`);
      await Deno.mkdir(`${tmp}/inet/train`, { recursive: true });
      assertEquals(await findDatasetDir("cifar100", { dataDir: tmp }), `${tmp}/cifar-100-binary`);
      assertEquals(
        await findDatasetDir("cifar10", { dataDir: tmp, searchSystem: false }),
        undefined,
      );
      Deno.env.set("IMAGENET_PATH", `${tmp}/inet`);
      assertEquals(await findDatasetDir("imagenet"), `${tmp}/inet`);
    } finally {
      await Deno.remove(tmp, { recursive: true });
    }
  }),
);
