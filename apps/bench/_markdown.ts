/**
 * The number and table formatting every Markdown table of the bench shares.
 *
 * @module
 */

/** `x` with `digits` decimals and thousands separators; `–` when missing or not finite. */
export function num(x: number | undefined, digits = 1): string {
  if (x === undefined || !Number.isFinite(x)) return "–";
  return x.toLocaleString("en-US", {
    minimumFractionDigits: digits,
    maximumFractionDigits: digits,
  });
}

/** Bytes as MiB with one decimal; `–` when missing. */
export function mib(bytes: number | undefined): string {
  return bytes === undefined ? "–" : num(bytes / 2 ** 20, 1);
}

/** A Markdown table of `header` and `rows`. */
export function table(header: string[], rows: string[][]): string {
  const line = (cells: string[]) => `| ${cells.join(" | ")} |`;
  return [line(header), line(header.map(() => "---")), ...rows.map(line)].join("\n");
}
