import type { LabelSelectorInput } from './task';

/** A parsed Kubernetes-style label selector: every requirement must hold. */
export interface Requirement {
  key: string;
  operator: 'In' | 'NotIn' | 'Exists' | 'DoesNotExist';
  values: string[];
}

export class SelectorError extends Error {
  override name = 'SelectorError';
}

const KEY = '[A-Za-z0-9]([-A-Za-z0-9_./]*[A-Za-z0-9])?';
const VALUE = '[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?';

/**
 * Parses `env=prod,role!=db,tier in (web,api),!legacy,gpu` (kubectl syntax).
 * Commas inside parentheses belong to the value set.
 */
export function parseSelector(selector: LabelSelectorInput): Requirement[] {
  if (typeof selector !== 'string') {
    const fromLabels = Object.entries(selector.matchLabels ?? {}).map(([key, value]) => ({ key, operator: 'In' as const, values: [value] }));
    const fromExpressions = (selector.matchExpressions ?? []).map((e) => ({ key: e.key, operator: e.operator, values: e.values ?? [] }));
    return [...fromLabels, ...fromExpressions];
  }
  return splitTopLevel(selector).map(parseRequirement);
}

function splitTopLevel(s: string): string[] {
  const parts: string[] = [];
  let depth = 0;
  let current = '';
  for (const ch of s) {
    if (ch === '(') depth += 1;
    if (ch === ')') depth -= 1;
    if (ch === ',' && depth === 0) {
      parts.push(current);
      current = '';
    } else current += ch;
  }
  parts.push(current);
  return parts.map((p) => p.trim()).filter((p) => p.length > 0);
}

function parseRequirement(text: string): Requirement {
  let m = new RegExp(`^(${KEY})\\s*(==|=|!=)\\s*(${VALUE})?$`).exec(text);
  if (m) {
    const value = m[4] ?? '';
    return { key: m[1], operator: m[3] === '!=' ? 'NotIn' : 'In', values: [value] };
  }
  m = new RegExp(`^(${KEY})\\s+(in|notin)\\s*\\(([^)]*)\\)$`).exec(text);
  if (m) {
    const values = m[4].split(',').map((v) => v.trim()).filter(Boolean);
    if (values.length === 0) throw new SelectorError(`"${text}": the value set is empty`);
    return { key: m[1], operator: m[3] === 'in' ? 'In' : 'NotIn', values };
  }
  m = new RegExp(`^(!)?\\s*(${KEY})$`).exec(text);
  if (m) return { key: m[2], operator: m[1] ? 'DoesNotExist' : 'Exists', values: [] };
  throw new SelectorError(`"${text}" is not a label requirement (use key=value, key!=value, key in (a,b), key notin (a), key or !key)`);
}

export function matchesSelector(requirements: Requirement[], labels: Readonly<Record<string, string>> = {}): boolean {
  return requirements.every((r) => {
    const has = Object.prototype.hasOwnProperty.call(labels, r.key);
    switch (r.operator) {
      case 'In':
        return has && r.values.includes(labels[r.key]);
      case 'NotIn':
        return !has || !r.values.includes(labels[r.key]);
      case 'Exists':
        return has;
      case 'DoesNotExist':
        return !has;
    }
  });
}
