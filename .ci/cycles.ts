/**
 * Finds import cycles among the repository's own modules, type imports
 * included, and prints one per line as `a.ts -> b.ts -> a.ts` (paths relative
 * to the repository root), exiting 1 if there is any.
 *
 * Every source file of the repository (not only those reachable from an
 * entry point) is a root of one `deno info --json` graph, passed as a single
 * `data:` module that imports them all (one `deno info` call per 400 files). An
 * edge is any import or re-export, whether of values (`code` in deno info's
 * output) or of types only (`type`), static or dynamic. A cycle is a
 * strongly connected component of that graph (Tarjan, 1972); each is printed
 * as the shortest cycles that together pass through all of its modules.
 *
 * ```sh
 * deno run --allow-read --allow-run=deno .ci/cycles.ts
 * ```
 *
 * @module
 */

/** A module graph: each module's path to the paths it imports. */
export type Graph = Map<string, Set<string>>;

const SOURCE = /\.(ts|tsx|mts|js|jsx|mjs)$/;
const SKIPPED_DIRS = new Set(["node_modules", "results"]);
const FILES_PER_CALL = 400;

interface Dependency {
  code?: { specifier?: string };
  type?: { specifier?: string };
}

interface DenoInfo {
  modules: { specifier: string; dependencies?: Dependency[] }[];
}

/**
 * Lists the source files under `root` that belong to the repository: not in a
 * hidden folder (other than `.ci`), `node_modules`, `results/` or a path the
 * root deno.json excludes.
 *
 * @param root the repository root (a directory URL ending in `/`)
 * @returns paths relative to `root`, sorted
 */
export async function sourceFiles(root: URL): Promise<string[]> {
  const excluded = await configExcludes(root);
  const files: string[] = [];
  const walk = async (dir: string): Promise<void> => {
    for await (const entry of Deno.readDir(new URL(dir || ".", root))) {
      const path = dir + entry.name;
      if (excluded.some((e) => path === e || path.startsWith(`${e}/`))) continue;
      if (entry.isDirectory) {
        const hidden = entry.name.startsWith(".") && entry.name !== ".ci";
        if (!hidden && !SKIPPED_DIRS.has(entry.name)) await walk(`${path}/`);
      } else if (entry.isFile && SOURCE.test(entry.name)) {
        files.push(path);
      }
    }
  };
  await walk("");
  return files.sort();
}

async function configExcludes(root: URL): Promise<string[]> {
  try {
    const config = JSON.parse(await Deno.readTextFile(new URL("deno.json", root)));
    return ((config.exclude ?? []) as string[]).map((e) =>
      e.replace(/^\.\//, "").replace(/\/$/, "")
    );
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) return [];
    throw e;
  }
}

/**
 * Builds the import graph of `files` and everything they import, kept
 * to the modules under `root`; both value and type imports are edges.
 *
 * @param root the directory the graph is kept to, and `deno info` runs in
 *   (so its deno.json resolves bare specifiers)
 * @param files the graph's roots, relative to `root`
 * @returns each module's path relative to `root` mapped to the paths it imports
 */
export async function importGraph(root: URL, files: readonly string[]): Promise<Graph> {
  const graph: Graph = new Map();
  // A few hundred roots per call keep the data: URL, one command-line argument,
  // well under Linux's 128 KiB limit on one.
  for (let i = 0; i < files.length; i += FILES_PER_CALL) {
    const imports = files.slice(i, i + FILES_PER_CALL)
      .map((f) => `import ${JSON.stringify(new URL(f, root).href)};\n`);
    for (const [from, edges] of await denoInfoGraph(root, imports.join(""))) {
      graph.set(from, edges);
    }
  }
  return graph;
}

async function denoInfoGraph(root: URL, source: string): Promise<Graph> {
  const url = `data:application/typescript,${encodeURIComponent(source)}`;
  const { code, stdout, stderr } = await new Deno.Command("deno", {
    args: ["info", "--json", "--no-npm", "--no-remote", url],
    cwd: root,
    stdout: "piped",
    stderr: "piped",
  }).output();
  if (code !== 0) {
    throw new Error(
      `Cannot build the import graph: deno info exited with ${code}: ${
        new TextDecoder().decode(stderr).trim()
      }`,
    );
  }
  const info = JSON.parse(new TextDecoder().decode(stdout)) as DenoInfo;
  const relative = (specifier: string | undefined) =>
    specifier?.startsWith(root.href) ? decodeURIComponent(specifier.slice(root.href.length)) : null;
  const graph: Graph = new Map();
  for (const module of info.modules) {
    const from = relative(module.specifier);
    if (from === null) continue;
    const edges = new Set<string>();
    for (const dep of module.dependencies ?? []) {
      for (const target of [dep.code?.specifier, dep.type?.specifier]) {
        const to = relative(target);
        if (to !== null) edges.add(to);
      }
    }
    graph.set(from, edges);
  }
  return graph;
}

/**
 * The strongly connected components of a graph (Tarjan's algorithm, iterative
 * so that a deep import chain cannot overflow the stack).
 *
 * @example
 * ```ts
 * import { stronglyConnectedComponents } from "./cycles.ts";
 * const graph = new Map([["a", new Set(["b"])], ["b", new Set(["a"])], ["c", new Set(["a"])]]);
 * console.log(stronglyConnectedComponents(graph)); // [["a", "b"], ["c"]]
 * ```
 *
 * @param graph each node mapped to its successors (a successor with no entry has none)
 * @returns every component, each sorted, in topological order of the condensation
 *   reversed (a component comes after those it reaches)
 */
export function stronglyConnectedComponents(graph: Graph): string[][] {
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const onStack = new Set<string>();
  const stack: string[] = [];
  const components: string[][] = [];
  const successors = (node: string) => [...(graph.get(node) ?? [])];
  for (const start of graph.keys()) {
    if (index.has(start)) continue;
    // Each frame is a node and the successors it has yet to visit.
    const frames: { node: string; next: string[] }[] = [];
    const visit = (node: string) => {
      index.set(node, index.size);
      low.set(node, index.get(node)!);
      stack.push(node);
      onStack.add(node);
      frames.push({ node, next: successors(node).reverse() });
    };
    visit(start);
    while (frames.length > 0) {
      const frame = frames[frames.length - 1];
      const next = frame.next.pop();
      if (next !== undefined) {
        if (!index.has(next)) visit(next);
        else if (onStack.has(next)) {
          low.set(frame.node, Math.min(low.get(frame.node)!, index.get(next)!));
        }
        continue;
      }
      frames.pop();
      const parent = frames[frames.length - 1];
      if (parent) low.set(parent.node, Math.min(low.get(parent.node)!, low.get(frame.node)!));
      if (low.get(frame.node) === index.get(frame.node)) {
        const component: string[] = [];
        let member: string;
        do {
          member = stack.pop()!;
          onStack.delete(member);
          component.push(member);
        } while (member !== frame.node);
        components.push(component.sort());
      }
    }
  }
  return components;
}

/**
 * The import cycles of a graph: for each strongly connected component with
 * more than one node (or a node importing itself), the shortest cycles that
 * together pass through every node of it, each from the alphabetically first
 * node that no earlier cycle passes through, back to it.
 *
 * @example
 * ```ts
 * import { findCycles } from "./cycles.ts";
 * const graph = new Map([["a.ts", new Set(["b.ts"])], ["b.ts", new Set(["a.ts"])]]);
 * console.log(findCycles(graph)); // [["a.ts", "b.ts", "a.ts"]]
 * ```
 *
 * @param graph each node mapped to its successors
 * @returns each cycle as its path, the first node repeated at the end
 */
export function findCycles(graph: Graph): string[][] {
  const cycles: string[][] = [];
  for (const component of stronglyConnectedComponents(graph)) {
    const members = new Set(component);
    const [only] = component;
    if (component.length === 1 && !graph.get(only)?.has(only)) continue;
    const uncovered = new Set(component);
    for (const start of component) {
      if (!uncovered.has(start)) continue;
      const cycle = shortestCycle(graph, start, members);
      for (const node of cycle) uncovered.delete(node);
      cycles.push(cycle);
    }
  }
  return cycles.sort((a, b) => a.join().localeCompare(b.join()));
}

/** Breadth-first search from `start` back to it, staying within `members`. */
function shortestCycle(graph: Graph, start: string, members: Set<string>): string[] {
  const parent = new Map<string, string>();
  const queue = [start];
  for (let i = 0; i < queue.length; i++) {
    const node = queue[i];
    for (const next of [...(graph.get(node) ?? [])].sort()) {
      if (next === start) {
        const path = [start];
        for (let n = node; n !== start; n = parent.get(n)!) path.push(n);
        return [start, ...path.slice(1).reverse(), start];
      }
      if (!members.has(next) || parent.has(next)) continue;
      parent.set(next, node);
      queue.push(next);
    }
  }
  throw new Error(`Cannot find a cycle through ${start}: it is not in a cycle of its component`);
}

if (import.meta.main) {
  const root = new URL("../", import.meta.url);
  const graph = await importGraph(root, await sourceFiles(root));
  const cycles = findCycles(graph);
  for (const cycle of cycles) console.log(cycle.join(" -> "));
  if (cycles.length > 0) Deno.exit(1);
  console.log(`No import cycles among ${graph.size} modules.`);
}
