import { resolveVariables } from '../../model/variables';
import { variableList, type VariableSpec } from '../../model/variables-schema';
import { formatIssue } from '../../model/errors';

const specs = (list: unknown[]): VariableSpec[] => variableList.parse(list);
const where = { document: 'Task/upgrade', path: 'variables' };

describe('resolveVariables', () => {
  it('uses given values, then defaults, and empty for optional variables without one', () => {
    const { resolved, issues } = resolveVariables(specs([{ name: 'version', default: '1.7' }, { name: 'mode', default: 'dry' }, { name: 'note' }]), { mode: 'apply' }, where);
    expect(issues).toEqual([]);
    expect(resolved.values).toEqual({ version: '1.7', mode: 'apply', note: '' });
  });

  it('keeps a given empty string rather than the default', () => {
    const { resolved } = resolveVariables(specs([{ name: 'x', default: 'd' }]), { x: '' }, where);
    expect(resolved.values.x).toBe('');
  });

  it('turns numeric and boolean defaults into strings', () => {
    const { resolved } = resolveVariables(specs([{ name: 'n', default: 85 }, { name: 'b', default: false }]), {}, where);
    expect(resolved.values).toEqual({ n: '85', b: 'false' });
  });

  it('reports a required variable without value, with document and path', () => {
    const { issues } = resolveVariables(specs([{ name: 'version', required: true }]), {}, where);
    expect(issues).toEqual([{ document: 'Task/upgrade', path: 'variables.version', message: 'is required and has no value' }]);
    expect(formatIssue(issues[0])).toBe('Task/upgrade: variables.version: is required and has no value');
  });

  it('a required variable with a default is satisfied by the default', () => {
    expect(resolveVariables(specs([{ name: 'v', required: true, default: '1' }]), {}, where).issues).toEqual([]);
  });

  it('anchors regex: the whole value must match', () => {
    const list = specs([{ name: 'version', regex: '[0-9]+\\.[0-9]+' }]);
    expect(resolveVariables(list, { version: '1.28' }, where).issues).toEqual([]);
    for (const bad of ['v1.28', '1.28-rc1', '1.28\n; rm -rf /', 'x1.2y']) {
      const { issues } = resolveVariables(list, { version: bad }, where);
      expect(issues).toHaveLength(1);
      expect(issues[0].path).toBe('variables.version');
      expect(issues[0].message).toContain('does not match [0-9]+\\.[0-9]+');
    }
  });

  it('anchors a regex with alternation as a whole', () => {
    const list = specs([{ name: 'mode', regex: 'dry|apply' }]);
    expect(resolveVariables(list, { mode: 'apply' }, where).issues).toEqual([]);
    expect(resolveVariables(list, { mode: 'dryX' }, where).issues).toHaveLength(1);
    expect(resolveVariables(list, { mode: 'Xapply' }, where).issues).toHaveLength(1);
  });

  it('checks enum and quotes the value given', () => {
    const { issues } = resolveVariables(specs([{ name: 'mode', enum: ['dry', 'apply'] }]), { mode: 'force' }, where);
    expect(issues).toEqual([{ document: 'Task/upgrade', path: 'variables.mode', message: '"force" is not one of: dry, apply' }]);
    expect(resolveVariables(specs([{ name: 'mode', enum: ['dry', 'apply'] }]), { mode: 'dry' }, where).issues).toEqual([]);
  });

  it('reports unknown variables and lists the declared ones', () => {
    const { issues } = resolveVariables(specs([{ name: 'a' }, { name: 'b' }]), { c: '1' }, where);
    expect(issues).toEqual([{ document: 'Task/upgrade', path: 'variables.c', message: 'unknown variable (declared: a, b)' }]);
    expect(resolveVariables([], { c: '1' }, where).issues[0].message).toBe('unknown variable (none are declared)');
  });

  it('reports every problem at once', () => {
    const { issues } = resolveVariables(specs([{ name: 'a', required: true }, { name: 'b', enum: ['x'] }, { name: 'c', regex: '\\d+' }]), { b: 'y', c: 'z', d: '1' }, where);
    expect(issues.map((i) => i.path).sort()).toEqual(['variables.a', 'variables.b', 'variables.c', 'variables.d']);
  });

  it('never echoes a secret value in a message', () => {
    const secret = 'hunter2-SECRET';
    const list = specs([
      { name: 'token', secret: true, regex: '[a-f0-9]{40}' },
      { name: 'level', secret: true, enum: ['low', 'high'] },
    ]);
    const { issues, resolved } = resolveVariables(list, { token: secret, level: secret }, where);
    expect(issues).toHaveLength(2);
    for (const issue of issues) {
      expect(formatIssue(issue)).not.toContain(secret);
      expect(issue.message).toContain('the value given');
    }
    expect(resolved.secretNames).toEqual(['token', 'level']);
  });

  it('lists secret names, given or not', () => {
    const { resolved } = resolveVariables(specs([{ name: 'a' }, { name: 'pw', secret: true }]), {}, where);
    expect(resolved.secretNames).toEqual(['pw']);
  });

  it('does not take values from Object.prototype names', () => {
    const { resolved, issues } = resolveVariables(specs([{ name: 'constructor', required: true }]), {}, where);
    expect(issues).toHaveLength(1);
    expect(resolved.values).toEqual({});
  });
});

describe('variable declarations (variableList)', () => {
  it('refuses a default outside the enum or the regex, and duplicate names', () => {
    const result = variableList.safeParse([
      { name: 'mode', enum: ['dry', 'apply'], default: 'force' },
      { name: 'v', regex: '\\d+', default: 'x1' },
      { name: 'mode' },
    ]);
    expect(result.success).toBe(false);
    const paths = result.error!.issues.map((i) => i.path.join('.'));
    expect(paths).toEqual(expect.arrayContaining(['0.default', '1.default', '2.name']));
  });

  it('refuses an invalid regex and a non-identifier name', () => {
    expect(variableList.safeParse([{ name: 'v', regex: '([' }]).success).toBe(false);
    expect(variableList.safeParse([{ name: 'my-var' }]).success).toBe(false);
    expect(variableList.safeParse([{ name: 'my_var' }]).success).toBe(true);
  });

  it('refuses unknown fields in a declaration', () => {
    expect(variableList.safeParse([{ name: 'v', defualt: '1' }]).success).toBe(false);
  });
});
