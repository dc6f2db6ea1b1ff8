import { readFileSync, readdirSync, statSync } from 'node:fs';
import { dirname, isAbsolute, join, resolve } from 'node:path';
import { CORE_SCHEMA, Type, loadAll } from 'js-yaml';
import type { Document, LineCounter, YAMLError } from 'yaml';
import { ValidationError, type Issue } from './errors';
import { KINDS, validateResource, type Resource } from './resources';

export interface LoadedResource {
  resource: Resource;
  file: string;
}

const DEFINITION_FILE = /\.(ya?ml|json)$/;

/** Every definition file under the given files or directories, in a stable order. */
export function definitionFiles(paths: ReadonlyArray<string>): string[] {
  return paths.flatMap((path) => {
    let stat;
    try {
      stat = statSync(path);
    } catch {
      throw new ValidationError([{ file: path, path: '', message: 'no such file or directory' }]);
    }
    if (!stat.isDirectory()) return [path];
    return readdirSync(path, { recursive: true, encoding: 'utf8' })
      .filter((f) => DEFINITION_FILE.test(f))
      .sort()
      .map((f) => join(path, f))
      .filter((f) => statSync(f).isFile());
  });
}

/**
 * Parses and validates every document of the given files or directories.
 * All problems are collected and thrown together, each naming file, line, document and field.
 */
export function loadResources(paths: ReadonlyArray<string>): LoadedResource[] {
  const issues: Issue[] = [];
  const loaded: LoadedResource[] = [];
  for (const file of definitionFiles(paths)) {
    const result = parseDefinitions(readFileSync(file, 'utf8'), file);
    issues.push(...result.issues);
    loaded.push(...result.resources.map((resource) => ({ resource: resolveRelativePaths(resource, file), file })));
  }
  if (issues.length) throw new ValidationError(issues);
  return loaded;
}

/** Parses YAML or JSON text holding one or more documents (or a List of items). */
export function parseDefinitions(text: string, file?: string): { resources: Resource[]; issues: Issue[] } {
  const resources = parseValid(text);
  return resources ? { resources, issues: [] } : parseWithPositions(text, file);
}

/**
 * Numbers as YAML 1.2's core schema (and `yaml`) read them; js-yaml's own also take 0b101 and leave
 * +.5 as text. Types with js-yaml's tags replace its own.
 */
const NUMBERS = [
  new Type('tag:yaml.org,2002:int', {
    kind: 'scalar',
    resolve: (text: string) => /^(?:[-+]?[0-9]+|0o[0-7]+|0x[0-9a-fA-F]+)$/.test(text),
    construct: (text: string) => (text.startsWith('0o') ? parseInt(text.slice(2), 8) : text.startsWith('0x') ? parseInt(text.slice(2), 16) : parseInt(text, 10)),
  }),
  new Type('tag:yaml.org,2002:float', {
    kind: 'scalar',
    resolve: (text: string) => /^(?:[-+]?\.(?:inf|Inf|INF)|\.nan|\.NaN|\.NAN|[-+]?(?:\.[0-9]+|[0-9]+(?:\.[0-9]*)?)(?:[eE][-+]?[0-9]+)?)$/.test(text),
    construct: (text: string) => (/nan$/i.test(text) ? NaN : /inf$/i.test(text) ? (text.startsWith('-') ? -Infinity : Infinity) : parseFloat(text)),
  }),
];
const YAML_CORE = CORE_SCHEMA.extend({ implicit: NUMBERS });

/**
 * js-yaml parses five times faster than `yaml` (26 against 150 ms for 200 Host documents) but
 * keeps no positions. Text that parses and validates cleanly is read with it; anything else (a
 * syntax error, a bad field, an alias to a collection, which `yaml` limits against alias bombs)
 * is parsed again with `yaml`, so every problem is reported with its line. Both read YAML 1.2's
 * core schema: no merge keys, no timestamps, the same numbers.
 */
function parseValid(text: string): Resource[] | undefined {
  let docs: unknown[];
  try {
    docs = loadAll(text, undefined, { schema: YAML_CORE });
  } catch {
    return undefined;
  }
  const resources: Resource[] = [];
  for (const value of docs) {
    if (value === null || value === undefined) continue;
    if (sharesCollections(value, new Set())) return undefined;
    for (const item of isList(value) ? value.items : [value]) {
      const result = validateResource(item);
      if (!result.resource || result.issues.length) return undefined;
      resources.push(result.resource);
    }
  }
  return resources;
}

/** Whether a collection appears twice in the tree (js-yaml makes an alias the same object, not a copy). */
function sharesCollections(value: unknown, seen: Set<object>): boolean {
  if (typeof value !== 'object' || value === null) return false;
  if (seen.has(value)) return true;
  seen.add(value);
  return Object.values(value).some((child) => sharesCollections(child, seen));
}

/** `yaml` is loaded only when definitions have a problem to report (it takes ~30 ms to load). */
const yaml = (): typeof import('yaml') => require('yaml');

function parseWithPositions(text: string, file?: string): { resources: Resource[]; issues: Issue[] } {
  const { LineCounter, parseAllDocuments } = yaml();
  const lineCounter = new LineCounter();
  const docs = parseAllDocuments(text, { lineCounter, prettyErrors: false });
  const issues: Issue[] = [];
  const resources: Resource[] = [];
  const list = Array.isArray(docs) ? docs : [docs];
  for (const doc of list) {
    if (doc.errors.length) {
      issues.push(syntaxIssue(doc.errors, text, lineCounter, file));
      continue;
    }
    let value: unknown;
    try {
      value = doc.toJS();
    } catch (e) {
      // An alias to an anchor not set before it, or too many aliases (an alias bomb).
      const line = doc.range ? lineCounter.linePos(doc.range[0]).line : undefined;
      issues.push({ file, line, path: '', message: `invalid YAML: ${(e as Error).message}` });
      continue;
    }
    if (value === null || value === undefined) continue;
    const items = isList(value) ? value.items : [value];
    items.forEach((item, index) => {
      const prefix = isList(value) ? ['items', index] : [];
      const result = validateResource(item);
      if (result.resource) resources.push(result.resource);
      for (const issue of result.issues) {
        const at = [...prefix, ...(issue.at ?? [])];
        issues.push({ ...issue, file, line: lineOf(doc, at, lineCounter) });
      }
    });
  }
  return { resources, issues };
}

/**
 * A document's first syntax error, with its column: the parser goes on to report what follows
 * from it (one misplaced brace made thirty errors), which buries the cause.
 */
function syntaxIssue(errors: ReadonlyArray<YAMLError>, text: string, lineCounter: LineCounter, file?: string): Issue {
  const first = errors[0];
  const { line, col } = lineCounter.linePos(first.pos[0]);
  const lineText = text.split('\n', line)[line - 1] ?? '';
  // `{ path: /srv/${host.name} }`: in a flow collection the braces of a variable are YAML's own.
  const hint = first.code !== 'DUPLICATE_KEY' && /[{[]/.test(lineText) && lineText.includes('${') ? '; a value with ${…} inside { } or [ ] must be quoted ("…")' : '';
  const more = errors.length > 1 ? ` (${errors.length - 1} more in this document, likely from this one)` : '';
  return { file, line, column: col, path: '', message: `invalid YAML: ${first.message.split('\n')[0]}${hint}${more}` };
}

/** Kubernetes' `kind: List`, or a listing as `ops get KINDS -o yaml` prints it (`kind: HostList`), so it applies again as it is. */
const LIST_KINDS = new Set(['List', ...KINDS.map((k) => `${k}List`)]);

function isList(value: unknown): value is { items: unknown[] } {
  return typeof value === 'object' && value !== null && LIST_KINDS.has((value as { kind?: unknown }).kind as string) && Array.isArray((value as { items?: unknown }).items);
}

/** The line of the deepest node along `path` that exists in the document. */
function lineOf(doc: Document, path: ReadonlyArray<PropertyKey>, lineCounter: LineCounter): number | undefined {
  for (let depth = path.length; depth >= 0; depth -= 1) {
    const node = doc.getIn(path.slice(0, depth) as Array<string | number>, true);
    if (yaml().isNode(node) && node.range) return lineCounter.linePos(node.range[0]).line;
  }
  return undefined;
}

/** Paths on the worker's side of a file step (push source, pull destination) are relative to the definition file. */
function resolveRelativePaths(resource: Resource, file: string): Resource {
  if (resource.kind !== 'Task') return resource;
  const base = dirname(resolve(file));
  const local = (path: string) => (isAbsolute(path) ? path : join(base, path));
  const steps = resource.spec.steps.map((step) => {
    if (!step.file) return step;
    const f = step.file;
    if (f.direction === 'push' && f.source) return { ...step, file: { ...f, source: local(f.source) } };
    if (f.direction === 'pull') return { ...step, file: { ...f, destination: local(f.destination) } };
    return step;
  });
  return { ...resource, spec: { ...resource.spec, steps } };
}

