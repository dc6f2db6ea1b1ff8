/**
 * `${name}` templates. `$${` writes a literal `${` so shell variables in braces can pass through.
 * Every reference must resolve: an unknown name is an error, never an empty string.
 * `${name|quote}` writes the value as one shell word, whatever it holds (`'`, `$`, spaces).
 */

export type Piece = { text: string } | { ref: string; quote?: true };

const FILTERS = ['quote'];

/** `name`, `a.b.c`; later segments may hold "/" for prefixed label keys (`host.labels.kubernetes.io/arch`). */
const REF = /^[A-Za-z_][A-Za-z0-9_-]*(\.[A-Za-z0-9_/-]+)*$/;

export function parseTemplate(template: string): Piece[] {
  const pieces: Piece[] = [];
  let text = '';
  let i = 0;
  while (i < template.length) {
    if (template.startsWith('$${', i)) {
      text += '${';
      i += 3;
    } else if (template.startsWith('${', i)) {
      const end = template.indexOf('}', i + 2);
      if (end < 0) throw new TemplateError(`unclosed "\${" at offset ${i}`);
      const [ref, ...filters] = template
        .slice(i + 2, end)
        .split('|')
        .map((part) => part.trim());
      if (!REF.test(ref)) throw new TemplateError(`"\${${ref}}" is not a valid reference; write $\${…} to pass \${…} to the shell`);
      const unknown = filters.find((f) => !FILTERS.includes(f));
      if (unknown !== undefined) throw new TemplateError(`"\${${template.slice(i + 2, end)}}": unknown filter "${unknown}" (there is: ${FILTERS.join(', ')})`);
      if (text) pieces.push({ text });
      text = '';
      pieces.push(filters.length ? { ref, quote: true } : { ref });
      i = end + 1;
    } else {
      text += template[i];
      i += 1;
    }
  }
  if (text) pieces.push({ text });
  return pieces;
}

export function templateRefs(template: string): string[] {
  return parseTemplate(template).flatMap((p) => ('ref' in p ? [p.ref] : []));
}

/** Renders with `lookup`; a reference it does not know (undefined) is an error. */
export function renderTemplate(template: string, lookup: (ref: string) => string | undefined): string {
  return parseTemplate(template)
    .map((p) => {
      if ('text' in p) return p.text;
      const value = lookup(p.ref);
      if (value === undefined) throw new TemplateError(`unknown variable "\${${p.ref}}"; declare it, or write $\${${p.ref}} to pass it to the shell`);
      return p.quote ? shellQuote(value) : value;
    })
    .join('');
}

/** Quotes a value as one word for a POSIX shell. */
export function shellQuote(value: string): string {
  return `'${value.replace(/'/g, `'\\''`)}'`;
}

export class TemplateError extends Error {
  override name = 'TemplateError';
}

/** Resolves references against a flat map such as `{ version: '1.2', 'host.name': 'web-1' }`. */
export function mapLookup(values: Readonly<Record<string, string>>): (ref: string) => string | undefined {
  return (ref) => (Object.prototype.hasOwnProperty.call(values, ref) ? values[ref] : undefined);
}
