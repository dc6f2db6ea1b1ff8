import { matchesSelector, parseSelector, SelectorError, type Requirement } from '../../model/selector';

const selects = (selector: Parameters<typeof parseSelector>[0], labels: Record<string, string> | undefined) => matchesSelector(parseSelector(selector), labels);

describe('parseSelector (kubectl syntax)', () => {
  it('parses =, == and != as In / NotIn of one value', () => {
    expect(parseSelector('env=prod,tier==web,role!=db')).toEqual<Requirement[]>([
      { key: 'env', operator: 'In', values: ['prod'] },
      { key: 'tier', operator: 'In', values: ['web'] },
      { key: 'role', operator: 'NotIn', values: ['db'] },
    ]);
  });

  it('parses in and notin with commas inside the parentheses', () => {
    expect(parseSelector('tier in (web, api),zone notin (us-east-1a,us-east-1b),gpu')).toEqual<Requirement[]>([
      { key: 'tier', operator: 'In', values: ['web', 'api'] },
      { key: 'zone', operator: 'NotIn', values: ['us-east-1a', 'us-east-1b'] },
      { key: 'gpu', operator: 'Exists', values: [] },
    ]);
  });

  it('parses bare keys as Exists and !key as DoesNotExist', () => {
    expect(parseSelector('gpu,!legacy, ! drained')).toEqual<Requirement[]>([
      { key: 'gpu', operator: 'Exists', values: [] },
      { key: 'legacy', operator: 'DoesNotExist', values: [] },
      { key: 'drained', operator: 'DoesNotExist', values: [] },
    ]);
  });

  it('accepts prefixed keys and whitespace around operators', () => {
    expect(parseSelector(' node.kubernetes.io/role = gpu , kubernetes.io/arch in (arm64) ')).toEqual<Requirement[]>([
      { key: 'node.kubernetes.io/role', operator: 'In', values: ['gpu'] },
      { key: 'kubernetes.io/arch', operator: 'In', values: ['arm64'] },
    ]);
  });

  it('accepts an empty value after = (matches an empty label)', () => {
    expect(parseSelector('note=')).toEqual([{ key: 'note', operator: 'In', values: [''] }]);
  });

  it('an empty selector has no requirements and matches every host', () => {
    expect(parseSelector('')).toEqual([]);
    expect(selects('', { any: 'thing' })).toBe(true);
  });

  it.each([
    ['env=prod=x'],
    ['env=pr od'],
    ['tier in ()'],
    ['tier in (web'],
    ['tier in web,api'],
    ['env~=prod'],
    ['-env=prod'],
    ['env=-prod'],
    ['=prod'],
    ['!env=prod'],
  ])('refuses %j with a message naming the requirement and the accepted forms', (selector) => {
    expect(() => parseSelector(selector)).toThrow(SelectorError);
  });

  it('says what is wrong and which forms are accepted', () => {
    expect(() => parseSelector('role=web,env~=prod')).toThrow(
      '"env~=prod" is not a label requirement (use key=value, key!=value, key in (a,b), key notin (a), key or !key)',
    );
    expect(() => parseSelector('tier in ( , )')).toThrow('"tier in ( , )": the value set is empty');
  });
});

describe('parseSelector (matchLabels / matchExpressions)', () => {
  it('turns matchLabels into In requirements and keeps matchExpressions', () => {
    expect(
      parseSelector({
        matchLabels: { role: 'web', env: 'prod' },
        matchExpressions: [
          { key: 'zone', operator: 'NotIn', values: ['a', 'b'] },
          { key: 'gpu', operator: 'Exists' },
        ],
      }),
    ).toEqual<Requirement[]>([
      { key: 'role', operator: 'In', values: ['web'] },
      { key: 'env', operator: 'In', values: ['prod'] },
      { key: 'zone', operator: 'NotIn', values: ['a', 'b'] },
      { key: 'gpu', operator: 'Exists', values: [] },
    ]);
  });

  it('an empty object matches every host', () => {
    expect(parseSelector({})).toEqual([]);
    expect(selects({}, { a: 'b' })).toBe(true);
  });
});

describe('matchesSelector', () => {
  const web = { role: 'web', env: 'prod', zone: 'a' };
  const db = { role: 'db', env: 'prod', legacy: 'true' };
  const dev = { role: 'web', env: 'dev' };

  it.each([
    ['role=web', [true, false, true]],
    ['role==web,env=prod', [true, false, false]],
    ['env!=dev', [true, true, false]],
    ['role in (web,db),env notin (dev)', [true, true, false]],
    ['zone', [true, false, false]],
    ['!legacy', [true, false, true]],
    ['role=web,!zone', [false, false, true]],
    ['role in (cache)', [false, false, false]],
  ] as Array<[string, boolean[]]>)('%s selects the expected hosts', (selector, expected) => {
    expect([web, db, dev].map((labels) => selects(selector, labels))).toEqual(expected);
  });

  it('!= and notin match hosts without the label, = and in do not', () => {
    expect(selects('env!=dev', {})).toBe(true);
    expect(selects('env notin (dev)', {})).toBe(true);
    expect(selects('env=dev', {})).toBe(false);
    expect(selects('env in (dev)', undefined)).toBe(false);
  });

  it('compares values exactly (no prefix or case folding)', () => {
    expect(selects('role=web', { role: 'web-1' })).toBe(false);
    expect(selects('role=web', { role: 'Web' })).toBe(false);
  });

  it('an empty value selects only an empty label, not a missing one', () => {
    expect(selects('note=', { note: '' })).toBe(true);
    expect(selects('note=', {})).toBe(false);
  });

  it('does not take labels from Object.prototype', () => {
    expect(selects('constructor', {})).toBe(false);
    expect(selects('!toString', {})).toBe(true);
  });

  it('matchExpressions DoesNotExist and In work on objects', () => {
    const selector = { matchLabels: { role: 'web' }, matchExpressions: [{ key: 'legacy', operator: 'DoesNotExist' as const }] };
    expect(selects(selector, web)).toBe(true);
    expect(selects(selector, { ...web, legacy: 'yes' })).toBe(false);
  });
});
