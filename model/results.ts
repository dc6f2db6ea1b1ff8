/**
 * A step publishes a named result by printing a line `::result name=value` on stdout.
 * The last value printed for a name wins; only names the task declares in `results` are kept.
 */
const RESULT_LINE = /^::result ([A-Za-z_][A-Za-z0-9_]*)=(.*)$/;
const RESULT_START = /^::result ([A-Za-z_][A-Za-z0-9_]*)=/;

/** The name a result line sets and where its value starts, from the line's beginning alone. */
export function resultLineStart(text: string): { name: string; valueAt: number } | undefined {
  const m = RESULT_START.exec(text);
  return m ? { name: m[1], valueAt: m[0].length } : undefined;
}

export function parseResultLine(line: string): { name: string; value: string } | undefined {
  const m = RESULT_LINE.exec(line.replace(/\r$/, ''));
  return m ? { name: m[1], value: m[2] } : undefined;
}

/** Combines per-host values: distinct values in host order, joined by newlines. */
export function combineResults(perHost: ReadonlyArray<Record<string, string>>): Record<string, string> {
  const values = new Map<string, string[]>();
  for (const results of perHost) {
    for (const [name, value] of Object.entries(results)) {
      const list = values.get(name) ?? [];
      if (!list.includes(value)) list.push(value);
      values.set(name, list);
    }
  }
  return Object.fromEntries([...values].map(([name, list]) => [name, list.join('\n')]));
}
