/** One thing wrong with a definition or an input, located as precisely as we can. */
export interface Issue {
  /** File the document came from, when it came from one. */
  file?: string;
  line?: number;
  /** Column on that line, where the problem is a character (a YAML syntax error). */
  column?: number;
  /** `Kind/name` of the document, when known. */
  document?: string;
  /** Field path such as `spec.steps[0].timeoutSeconds`. */
  path: string;
  /** The same path as segments, used to find the line in the source file. */
  at?: ReadonlyArray<PropertyKey>;
  message: string;
}

export class ValidationError extends Error {
  constructor(readonly issues: Issue[]) {
    super(issues.map(formatIssue).join('\n'));
    this.name = 'ValidationError';
  }
}

export function formatIssue(issue: Issue): string {
  const where = issue.file ? `${issue.file}${issue.line ? `:${issue.line}${issue.column ? `:${issue.column}` : ''}` : ''}: ` : '';
  const doc = issue.document ? `${issue.document}: ` : '';
  const path = issue.path ? `${issue.path}: ` : '';
  return `${where}${doc}${path}${issue.message}`;
}

/** `['spec', 'steps', 0, 'name']` → `spec.steps[0].name` */
export function formatPath(path: ReadonlyArray<PropertyKey>): string {
  return path
    .map((p, i) => (typeof p === 'number' ? `[${p}]` : `${i === 0 ? '' : '.'}${String(p)}`))
    .join('');
}
