import { evaluateExpression, expressionRefs, parseExpression, ExpressionError } from '../../model/expression';
import { mapLookup } from '../../model/template';

const when = (source: string, values: Record<string, string> = {}) => evaluateExpression(source, mapLookup(values));

describe('comparisons', () => {
  it('compares numerically when both sides are numbers', () => {
    expect(when('${n} > 9', { n: '10' })).toBe(true); // as strings "10" < "9"
    expect(when('${n} < 9', { n: '10' })).toBe(false);
    expect(when('${n} == 3', { n: '3.0' })).toBe(true);
    expect(when('${n} == 3', { n: '03' })).toBe(true);
    expect(when('${n} >= -1', { n: '-1' })).toBe(true);
    expect(when('${n} <= 85', { n: '85' })).toBe(true);
    expect(when('${n} != 0', { n: '0' })).toBe(false);
  });

  it('compares as strings when either side is not a number', () => {
    expect(when('${mode} == dry', { mode: 'dry' })).toBe(true);
    expect(when('${mode} != dry', { mode: 'apply' })).toBe(true);
    expect(when('${v} == 3', { v: '3.0.1' })).toBe(false);
    expect(when('${v} < b', { v: 'a' })).toBe(true);
    expect(when('${v} > 10', { v: 'abc' })).toBe(true); // "abc" > "10" as strings
  });

  it('never treats an empty value as the number 0', () => {
    expect(when('${code} == 0', { code: '' })).toBe(false);
    expect(when('${code} != 0', { code: '' })).toBe(true);
    expect(when("${code} == ''", { code: '' })).toBe(true);
  });

  it('matches a regular expression with =~ (unanchored unless anchored)', () => {
    expect(when("${host} =~ '^gpu-[0-9]+$'", { host: 'gpu-12' })).toBe(true);
    expect(when("${host} =~ '^gpu-[0-9]+$'", { host: 'gpu-12a' })).toBe(false);
    expect(when('${host} =~ web', { host: 'eu-web-3' })).toBe(true);
    expect(when('! ${host} =~ web', { host: 'db-1' })).toBe(true);
  });

  it('compares exit codes of earlier steps as README shows', () => {
    const values = { 'steps.check.exitCode': '3', mode: 'apply' };
    expect(when("${steps.check.exitCode} == 3 && ${mode} != 'dry'", values)).toBe(true);
    expect(when("${steps.check.exitCode} == 3 && ${mode} != 'dry'", { ...values, mode: 'dry' })).toBe(false);
  });
});

describe('boolean logic', () => {
  it('combines with && and ||, && binding tighter', () => {
    expect(when('1 == 1 || 1 == 2 && 1 == 2')).toBe(true); // 1==1 || (false && false)
    expect(when('(1 == 1 || 1 == 2) && 1 == 2')).toBe(false);
    expect(when('1 == 2 || 2 == 2')).toBe(true);
    expect(when('1 == 1 && 2 == 3')).toBe(false);
  });

  it('negates with !, applying to the whole comparison', () => {
    expect(when('! 1 == 2')).toBe(true);
    expect(when('!(1 == 1)')).toBe(false);
    expect(when('!!${x}', { x: 'yes' })).toBe(true);
    expect(when('!${x} && ${y}', { x: '0', y: 'true' })).toBe(true);
  });

  it('nests parentheses', () => {
    expect(when('((${a} == 1) && (${b} == 2 || ${c} == 3))', { a: '1', b: '0', c: '3' })).toBe(true);
    expect(when('((${a} == 1) && (${b} == 2 || ${c} == 3))', { a: '1', b: '0', c: '0' })).toBe(false);
  });

  it('a lone value is true unless empty, "false", "no" or "0" (any case, trimmed)', () => {
    for (const falsy of ['', 'false', 'FALSE', 'no', 'No', '0', ' 0 ']) expect(when('${x}', { x: falsy })).toBe(false);
    for (const truthy of ['true', 'yes', '1', 'off', 'anything', '00']) expect(when('${x}', { x: truthy })).toBe(true);
  });
});

describe('quoted strings and bare words', () => {
  it('reads single- and double-quoted strings with spaces and operators inside', () => {
    expect(when("${msg} == 'disk full && retry'", { msg: 'disk full && retry' })).toBe(true);
    expect(when('${msg} == "a || b"', { msg: 'a || b' })).toBe(true);
    expect(when('${q} == "it\'s"', { q: "it's" })).toBe(true);
  });

  it('reads bare words with dots, dashes, slashes and colons', () => {
    expect(when('${v} == 1.28.3-1', { v: '1.28.3-1' })).toBe(true);
    expect(when('${p} == /var/log', { p: '/var/log' })).toBe(true);
    expect(when('${arch} == linux/arm64', { arch: 'linux/arm64' })).toBe(true);
  });
});

describe('${ref} values cannot change the expression', () => {
  it.each([
    ['${a} == 1', { a: '2 || 1 == 1' }, false],
    ['${a} == 1', { a: "1' || 'x" }, false],
    ['${a} != 1', { a: '1 && 0 == 0' }, true],
    ['${a} == ${b}', { a: ') || (1', b: ') || (1' }, true],
    ['!${a}', { a: '0 || 1' }, false], // the whole value is truthy text, not an expression
    ['${a} =~ x', { a: '${b}', b: 'x' }, false],
  ] as Array<[string, Record<string, string>, boolean]>)('%s with %j is %s', (source, values, expected) => {
    expect(when(source, values)).toBe(expected);
  });

  it('looks each reference up once as a value, never re-parsing it', () => {
    const lookup = jest.fn((ref: string) => (ref === 'a' ? '(' : undefined));
    expect(evaluateExpression("${a} == '('", lookup)).toBe(true);
    expect(lookup).toHaveBeenCalledWith('a');
  });
});

describe('errors', () => {
  it('names an unknown reference and the expression', () => {
    expect(() => when('${nope} == 1', { yes: '1' })).toThrow(ExpressionError);
    expect(() => when('${nope} == 1', { yes: '1' })).toThrow('unknown variable "${nope}" in "${nope} == 1"');
  });

  it.each([
    ['${a} ==', 'ends where a value was expected'],
    ['', 'ends where a value was expected'],
    ['(${a} == 1', 'missing ")"'],
    ['== 1', 'unexpected "=="'],
    [') == 1', 'unexpected ")"'],
    ['${a} = 1', 'unexpected "="'],
    ['1 2', 'unexpected "2" after a complete condition'],
    ['1 < 2 < 3', 'unexpected "<" after a complete condition'],
    ['${a} == 0 and true', 'unexpected "and" after a complete condition in "${a} == 0 and true" (combine conditions with && or ||)'],
    ["${a} == 'dry", 'unclosed quote'],
    ['${a == 1', 'unclosed "${"'],
    ['${a} == $x', 'unexpected "$"'],
    ['${a} == 1;', 'unexpected ";"'],
  ])('refuses %j: %s', (source, message) => {
    expect(() => parseExpression(source)).toThrow(ExpressionError);
    expect(() => parseExpression(source)).toThrow(message);
    expect(() => when(source, { a: '1' })).toThrow(ExpressionError);
  });
});

describe('expressionRefs', () => {
  it('lists every reference, in order, trimmed', () => {
    expect(expressionRefs("${steps.check.exitCode} == 3 && (!${ force } || ${mode} != 'dry')")).toEqual(['steps.check.exitCode', 'force', 'mode']);
  });

  it('does not list text inside quotes', () => {
    expect(expressionRefs("${a} == 'b'")).toEqual(['a']);
  });

  it('throws ExpressionError for bad syntax', () => {
    expect(() => expressionRefs('${a} &&')).toThrow(ExpressionError);
  });
});
