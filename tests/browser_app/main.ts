// The page's entry point, for `deno bundle --platform browser` and for Vite:
// runs the tiny training and publishes the result (or the error) on
// `globalThis.agdResult` and in the page, for tests/browser_test.ts to read.
import { type PageResult, runTinyTraining } from "./training.ts";

// The little of the DOM used here, typed locally: the repository is
// type-checked with Deno's libraries, which have no `document`.
interface PageDocument {
  body: { dataset: Record<string, string | undefined>; textContent: string | null };
  querySelector(selector: string): { textContent: string | null } | null;
}
const doc = (globalThis as unknown as { document: PageDocument }).document;

const publish = (r: PageResult): void => {
  (globalThis as { agdResult?: PageResult }).agdResult = r;
  const out = doc.querySelector("#result") ?? doc.body;
  out.textContent = r.ok ? `η = ${r.result.etas.join(", ")}` : `error: ${r.error}`;
  doc.body.dataset.state = r.ok ? "done" : "failed";
};
runTinyTraining().then(
  (result) => publish({ ok: true, result }),
  (e: unknown) =>
    publish({ ok: false, error: e instanceof Error ? e.stack ?? e.message : String(e) }),
);
