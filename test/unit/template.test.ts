import { execFileSync } from 'node:child_process';
import { mapLookup, parseTemplate, renderTemplate, templateRefs, TemplateError } from '../../model/template';

const render = (t: string, values: Record<string, string>) => renderTemplate(t, mapLookup(values));

describe('renderTemplate', () => {
  it('replaces references with their values and keeps the text around them', () => {
    expect(render('install ${package}=${version} on ${host.name}', { package: 'containerd', version: '1.7.2', 'host.name': 'web-1' })).toBe(
      'install containerd=1.7.2 on web-1',
    );
  });

  it('allows spaces inside the braces', () => {
    expect(render('v=${ version }', { version: '2' })).toBe('v=2');
  });

  it('renders adjacent references and a template that is only a reference', () => {
    expect(render('${a}${b}', { a: '1', b: '2' })).toBe('12');
    expect(render('${a}', { a: 'x' })).toBe('x');
  });

  it('renders an empty value as empty, not as an error', () => {
    expect(render('[${a}]', { a: '' })).toBe('[]');
  });

  it('writes a value as one shell word with |quote, whatever it holds', () => {
    const password = `pa$$w'rd "x" $(reboot) \`id\` *`;
    const script = render('printf %s ${password|quote}', { password });
    expect(script).toBe(`printf %s 'pa$$w'\\''rd "x" $(reboot) \`id\` *'`);
    expect(execFileSync('sh', ['-c', script], { encoding: 'utf8' })).toBe(password);
    expect(render('${ a | quote }', { a: '' })).toBe(`''`);
    expect(templateRefs('x ${password|quote} ${b}')).toEqual(['password', 'b']);
  });

  it('refuses a filter it does not know, naming the one there is', () => {
    expect(() => render('${a|upper}', { a: 'x' })).toThrow('"${a|upper}": unknown filter "upper" (there is: quote)');
  });

  it('does not re-render references contained in values', () => {
    expect(render('${a}', { a: '${b}', b: 'nope' })).toBe('${b}');
  });

  it('leaves text without references alone, including lone $ and braces', () => {
    expect(render('echo $HOME {x} $1 $ {y}', {})).toBe('echo $HOME {x} $1 $ {y}');
  });

  it('writes $${X} as a literal ${X} for the shell and does not look X up', () => {
    const lookup = jest.fn(() => undefined);
    expect(renderTemplate('echo $${HOME} $${PATH:-/bin}', lookup)).toBe('echo ${HOME} ${PATH:-/bin}');
    expect(lookup).not.toHaveBeenCalled();
  });

  it('mixes escapes and references', () => {
    expect(render('for f in $${files[@]}; do cp "$f" ${dest}; done', { dest: '/srv' })).toBe('for f in ${files[@]}; do cp "$f" /srv; done');
  });

  it('refuses an unknown reference with a message naming it and the $${ escape', () => {
    expect(() => render('echo ${missing}', { other: '1' })).toThrow(TemplateError);
    expect(() => render('echo ${missing}', { other: '1' })).toThrow('unknown variable "${missing}"; declare it, or write $${missing} to pass it to the shell');
  });

  it('does not resolve names inherited from Object.prototype', () => {
    expect(() => render('${constructor}', {})).toThrow(TemplateError);
    expect(() => render('${toString}', {})).toThrow('unknown variable "${toString}"');
  });
});

describe('parseTemplate / templateRefs', () => {
  it('splits text and references', () => {
    expect(parseTemplate('a ${x} b')).toEqual([{ text: 'a ' }, { ref: 'x' }, { text: ' b' }]);
  });

  it('lists references in order, dotted ones included, and not escaped ones', () => {
    expect(templateRefs('${a} $${b} ${host.labels.zone} ${steps.check-disk.exitCode} ${tasks.probe.results.v}')).toEqual([
      'a',
      'host.labels.zone',
      'steps.check-disk.exitCode',
      'tasks.probe.results.v',
    ]);
  });

  it.each([
    ['${}', ''],
    ['${a b}', 'a b'],
    ['${1abc}', '1abc'],
    ['${a..b}', 'a..b'],
    ['${a.}', 'a.'],
    ['${$x}', '$x'],
    ['${x:-default}', 'x:-default'],
    ['${#arr}', '#arr'],
  ])('refuses the invalid reference %s and suggests $${', (template, ref) => {
    expect(() => parseTemplate(template)).toThrow(TemplateError);
    expect(() => parseTemplate(template)).toThrow(`"\${${ref}}" is not a valid reference; write $\${…} to pass \${…} to the shell`);
  });

  it('refuses an unclosed ${ and says where it starts', () => {
    expect(() => parseTemplate('abc ${name')).toThrow('unclosed "${" at offset 4');
  });

  it('an invalid reference is an error even when rendering', () => {
    expect(() => render('echo ${x y}', { 'x y': 'v' })).toThrow(TemplateError);
  });
});
