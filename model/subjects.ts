/** NATS subject patterns: tokens separated by ".", "*" for one token, ">" for the rest (last only). */

import { EVENT_SUBJECTS } from './naming';

const TOKEN = /^[^\s.*>]+$/;

export function subjectPatternProblem(pattern: string, { wildcards }: { wildcards: boolean }): string | undefined {
  const tokens = pattern.split('.');
  for (const [i, t] of tokens.entries()) {
    if (wildcards && (t === '*' || (t === '>' && i === tokens.length - 1))) continue;
    if (!TOKEN.test(t)) return wildcards ? `"${t}" is not a subject token ("*" matches one token, ">" the rest, at the end only)` : `"${t}" is not a subject token (no wildcards, spaces or empty tokens)`;
  }
  return undefined;
}

/** Whether a concrete subject matches a pattern. */
export function subjectMatches(pattern: string, subject: string): boolean {
  const p = pattern.split('.');
  const s = subject.split('.');
  for (let i = 0; i < p.length; i += 1) {
    if (p[i] === '>') return s.length > i;
    if (i >= s.length || (p[i] !== '*' && p[i] !== s[i])) return false;
  }
  return p.length === s.length;
}

/** Whether every subject `inner` matches is also matched by `outer` (a filter inside a stream's subjects). */
export function subjectWithin(inner: string, outer: string): boolean {
  const a = inner.split('.');
  const b = outer.split('.');
  for (let i = 0; i < b.length; i += 1) {
    if (b[i] === '>') return a.length > i;
    if (i >= a.length || a[i] === '>') return false;
    if (b[i] !== '*' && (a[i] === '*' || a[i] !== b[i])) return false;
  }
  return a.length === b.length;
}

/** What is wrong with a pattern selecting events (an EventHook's subject, `ops events --subject`): the streams keep no others. */
export function eventSubjectProblem(pattern: string): string | undefined {
  const problem = subjectPatternProblem(pattern, { wildcards: true });
  if (problem) return problem;
  if (!EVENT_SUBJECTS.some((space) => subjectWithin(pattern, space))) return `must lie within the event subjects ${EVENT_SUBJECTS.join(', ')}`;
  return undefined;
}
