/**
 * Prints the entry point of every export of every workspace member (the
 * `exports` of each deno.json listed in the root's `workspace`), one path per
 * line relative to the repository root, for `deno task check` to doc-lint:
 * a new package's entry points are linted without anyone editing the task.
 *
 * ```sh
 * deno doc --lint $(deno run --allow-read .ci/entry_points.ts)
 * ```
 *
 * @module
 */

interface Config {
  workspace?: string[];
  exports?: string | Record<string, string>;
}

const root = new URL("../", import.meta.url);
const read = (path: string): Config =>
  JSON.parse(Deno.readTextFileSync(new URL(path, root))) as Config;

for (const member of read("deno.json").workspace ?? []) {
  const dir = member.replace(/^\.\//, "").replace(/\/?$/, "/");
  const { exports } = read(`${dir}deno.json`);
  const paths = typeof exports === "string" ? [exports] : Object.values(exports ?? {});
  for (const path of paths) console.log(dir + path.replace(/^\.\//, ""));
}
