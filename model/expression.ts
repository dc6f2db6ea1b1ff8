/**
 * The `when` language: `${ref}` values, quoted strings, numbers and bare words compared with
 * == != < <= > >= =~ (regex), combined with && || ! and parentheses.
 * References are substituted as values after parsing, so a value can never change the expression.
 * Comparisons are numeric when both sides are numbers. A lone value is true unless it is
 * empty, "false", "no" or "0".
 */

type Token =
  | { kind: 'value'; value: string; bare?: boolean }
  | { kind: 'ref'; ref: string }
  | { kind: 'op'; op: string }
  | { kind: 'paren'; paren: '(' | ')' };

type Node =
  | { kind: 'value'; value: string; bare?: boolean }
  | { kind: 'ref'; ref: string }
  | { kind: 'not'; operand: Node }
  | { kind: 'binary'; op: string; left: Node; right: Node };

export class ExpressionError extends Error {
  override name = 'ExpressionError';
}

const OPERATORS = ['&&', '||', '==', '!=', '<=', '>=', '=~', '<', '>', '!'];

function tokenize(source: string): Token[] {
  const tokens: Token[] = [];
  let i = 0;
  while (i < source.length) {
    const ch = source[i];
    if (/\s/.test(ch)) {
      i += 1;
    } else if (source.startsWith('${', i)) {
      const end = source.indexOf('}', i);
      if (end < 0) throw new ExpressionError(`unclosed "\${" in "${source}"`);
      tokens.push({ kind: 'ref', ref: source.slice(i + 2, end).trim() });
      i = end + 1;
    } else if (ch === '"' || ch === "'") {
      const end = source.indexOf(ch, i + 1);
      if (end < 0) throw new ExpressionError(`unclosed quote in "${source}"`);
      const value = source.slice(i + 1, end);
      if (value.includes('${')) throw new ExpressionError(`"\${…}" inside quotes is compared as text; write it without quotes in "${source}"`);
      tokens.push({ kind: 'value', value });
      i = end + 1;
    } else if (ch === '(' || ch === ')') {
      tokens.push({ kind: 'paren', paren: ch });
      i += 1;
    } else {
      const op = OPERATORS.find((o) => source.startsWith(o, i));
      if (op) {
        tokens.push({ kind: 'op', op });
        i += op.length;
      } else {
        const m = /^[A-Za-z0-9_.+\-/:]+/.exec(source.slice(i));
        if (!m) throw new ExpressionError(`unexpected "${ch}" in "${source}"`);
        tokens.push({ kind: 'value', value: m[0], bare: true });
        i += m[0].length;
      }
    }
  }
  return tokens;
}

export function parseExpression(source: string): Node {
  const tokens = tokenize(source);
  let pos = 0;
  const peekOp = (): string | undefined => {
    const t = tokens[pos];
    return t && t.kind === 'op' ? t.op : undefined;
  };
  const parseOr = (): Node => {
    let left = parseAnd();
    while (peekOp() === '||') {
      pos += 1;
      left = { kind: 'binary', op: '||', left, right: parseAnd() };
    }
    return left;
  };
  const parseAnd = (): Node => {
    let left = parseNot();
    while (peekOp() === '&&') {
      pos += 1;
      left = { kind: 'binary', op: '&&', left, right: parseNot() };
    }
    return left;
  };
  const parseNot = (): Node => {
    if (peekOp() === '!') {
      pos += 1;
      return { kind: 'not', operand: parseNot() };
    }
    return parseComparison();
  };
  const parseComparison = (): Node => {
    const left = parseOperand();
    const op = peekOp();
    if (op && ['==', '!=', '<', '<=', '>', '>=', '=~'].includes(op)) {
      pos += 1;
      return { kind: 'binary', op, left, right: parseOperand() };
    }
    return left;
  };
  const parseOperand = (): Node => {
    const t = tokens[pos];
    if (!t) throw new ExpressionError(`"${source}" ends where a value was expected`);
    pos += 1;
    if (t.kind === 'paren' && t.paren === '(') {
      const inner = parseOr();
      const close = tokens[pos];
      if (!close || close.kind !== 'paren' || close.paren !== ')') throw new ExpressionError(`missing ")" in "${source}"`);
      pos += 1;
      return inner;
    }
    if (t.kind === 'value') return t;
    if (t.kind === 'ref') return { kind: 'ref', ref: t.ref };
    throw new ExpressionError(`unexpected "${t.kind === 'op' ? t.op : t.paren}" in "${source}"`);
  };
  const node = parseOr();
  const extra = tokens[pos];
  if (extra) {
    const shown = extra.kind === 'value' ? extra.value : extra.kind === 'ref' ? `\${${extra.ref}}` : extra.kind === 'op' ? extra.op : extra.paren;
    throw new ExpressionError(`unexpected "${shown}" after a complete condition in "${source}" (combine conditions with && or ||)`);
  }
  return node;
}

/** Words written without quotes or `${}`: compared as the text they are. A lone one is the whole condition. */
export function bareWords(source: string): { words: string[]; lone: boolean } {
  const words: string[] = [];
  const walk = (n: Node): void => {
    if (n.kind === 'value' && n.bare) words.push(n.value);
    if (n.kind === 'not') walk(n.operand);
    if (n.kind === 'binary') {
      walk(n.left);
      walk(n.right);
    }
  };
  const node = parseExpression(source);
  walk(node);
  return { words, lone: node.kind === 'value' && Boolean(node.bare) };
}

export function expressionRefs(source: string): string[] {
  const refs: string[] = [];
  const walk = (n: Node): void => {
    if (n.kind === 'ref') refs.push(n.ref);
    if (n.kind === 'not') walk(n.operand);
    if (n.kind === 'binary') {
      if (n.op === '=~' && n.right.kind === 'value') checkPattern(n.right.value, source);
      walk(n.left);
      walk(n.right);
    }
  };
  walk(parseExpression(source));
  return refs;
}

export function evaluateExpression(source: string, lookup: (ref: string) => string | undefined): boolean {
  const value = (n: Node): string => {
    if (n.kind === 'value') return n.value;
    if (n.kind === 'ref') {
      const v = lookup(n.ref);
      if (v === undefined) throw new ExpressionError(`unknown variable "\${${n.ref}}" in "${source}"`);
      return v;
    }
    return String(truth(n));
  };
  const truth = (n: Node): boolean => {
    if (n.kind === 'not') return !truth(n.operand);
    if (n.kind !== 'binary') return isTruthy(value(n));
    if (n.op === '&&') return truth(n.left) && truth(n.right);
    if (n.op === '||') return truth(n.left) || truth(n.right);
    return compare(n.op, value(n.left), value(n.right));
  };
  return truth(parseExpression(source));
}

function checkPattern(pattern: string, source: string): void {
  try {
    new RegExp(pattern);
  } catch {
    throw new ExpressionError(`"${pattern}" is not a valid regular expression in "${source}"`);
  }
}

function isTruthy(v: string): boolean {
  return !['', 'false', 'no', '0'].includes(v.trim().toLowerCase());
}

function compare(op: string, a: string, b: string): boolean {
  if (op === '=~') return new RegExp(b).test(a);
  const numeric = a.trim() !== '' && b.trim() !== '' && !isNaN(Number(a)) && !isNaN(Number(b));
  const [x, y]: [number | string, number | string] = numeric ? [Number(a), Number(b)] : [a, b];
  switch (op) {
    case '==':
      return x === y;
    case '!=':
      return x !== y;
    case '<':
      return x < y;
    case '<=':
      return x <= y;
    case '>':
      return x > y;
    default:
      return x >= y;
  }
}
