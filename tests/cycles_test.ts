// The import-cycle check of `deno task check` (.ci/cycles.ts): Tarjan's
// components on small graphs, and a type-only cycle between two files on disk
// found through deno info.
import { deepEqual } from "node:assert/strict";
import {
  findCycles,
  importGraph,
  sourceFiles,
  stronglyConnectedComponents,
} from "../.ci/cycles.ts";

const graph = (edges: Record<string, string[]>) =>
  new Map(Object.entries(edges).map(([from, to]) => [from, new Set(to)]));

Deno.test("stronglyConnectedComponents groups the nodes of each cycle", () => {
  const components = stronglyConnectedComponents(graph({
    a: ["b"],
    b: ["c"],
    c: ["a", "d"],
    d: ["e"],
    e: ["d"],
    f: ["a"],
    g: ["g"],
  }));
  deepEqual(components.map((c) => c.join()).sort(), ["a,b,c", "d,e", "f", "g"]);
});

Deno.test("findCycles reports each cycle once, a self-import too, and no acyclic path", () => {
  const cycles = findCycles(graph({
    "a.ts": ["b.ts"],
    "b.ts": ["a.ts", "c.ts"],
    "c.ts": ["d.ts"],
    "d.ts": ["d.ts"],
    "e.ts": ["a.ts"],
  }));
  deepEqual(cycles, [["a.ts", "b.ts", "a.ts"], ["d.ts", "d.ts"]]);
});

Deno.test("findCycles covers every module of a component", () => {
  // Two cycles through hub.ts: one line each.
  const cycles = findCycles(graph({
    "hub.ts": ["x.ts", "y.ts"],
    "x.ts": ["hub.ts"],
    "y.ts": ["hub.ts"],
  }));
  deepEqual(cycles, [["hub.ts", "x.ts", "hub.ts"], ["y.ts", "hub.ts", "y.ts"]]);
});

Deno.test("importGraph finds a cycle made only of type imports", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const root = new URL(`file://${dir}/`);
    await Deno.mkdir(new URL("lib/", root));
    await Deno.writeTextFile(
      new URL("lib/a.ts", root),
      'import type { B } from "./b.ts";\nexport interface A { b?: B }\n',
    );
    await Deno.writeTextFile(
      new URL("lib/b.ts", root),
      'import type { A } from "./a.ts";\nexport interface B { a?: A }\n',
    );
    await Deno.writeTextFile(new URL("lib/c.ts", root), 'export * from "./a.ts";\n');
    const files = await sourceFiles(root);
    deepEqual(files, ["lib/a.ts", "lib/b.ts", "lib/c.ts"]);
    deepEqual(findCycles(await importGraph(root, files)), [["lib/a.ts", "lib/b.ts", "lib/a.ts"]]);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
