import { combineResults, parseResultLine } from '../../model/results';

describe('parseResultLine', () => {
  it('reads ::result name=value', () => {
    expect(parseResultLine('::result kernel=6.1.0-18-amd64')).toEqual({ name: 'kernel', value: '6.1.0-18-amd64' });
  });

  it('keeps everything after the first = as the value, spaces and = included', () => {
    expect(parseResultLine('::result query=a=b c  ')).toEqual({ name: 'query', value: 'a=b c  ' });
    expect(parseResultLine('::result empty=')).toEqual({ name: 'empty', value: '' });
  });

  it('ignores a trailing carriage return', () => {
    expect(parseResultLine('::result v=1\r')).toEqual({ name: 'v', value: '1' });
  });

  it.each([
    'result v=1',
    ' ::result v=1',
    '::result v',
    '::result =1',
    '::result 1v=1',
    '::result my-v=1',
    '::resultv=1',
    '::result  v=1',
    'echo ::result v=1',
    '::RESULT v=1',
  ])('does not read %j', (line) => {
    expect(parseResultLine(line)).toBeUndefined();
  });
});

describe('combineResults', () => {
  it('joins the distinct values of all hosts, in host order, by newlines', () => {
    expect(combineResults([{ kernel: '6.1', arch: 'x86_64' }, { kernel: '6.8', arch: 'arm64' }, { kernel: '6.1', arch: 'x86_64' }])).toEqual({
      kernel: '6.1\n6.8',
      arch: 'x86_64\narm64',
    });
  });

  it('keeps names only some hosts printed', () => {
    expect(combineResults([{ a: '1' }, {}, { b: '2' }])).toEqual({ a: '1', b: '2' });
  });

  it('keeps empty values as values', () => {
    expect(combineResults([{ a: '' }, { a: 'x' }])).toEqual({ a: '\nx' });
  });

  it('is empty for no hosts', () => {
    expect(combineResults([])).toEqual({});
  });
});
