import { maskDecodedSecrets } from '../../api/decoded-secrets';

describe('maskDecodedSecrets', () => {
  it('masks the secret variables of a run input and every string that quotes them', () => {
    const input = { runId: 'p-1', variables: { token: 'hunter2', region: 'eu' }, secretNames: ['token'], tasks: { t: { spec: { steps: [{ shell: 'echo ${token}' }] } } }, note: 'said hunter2 twice: hunter2' };
    expect(maskDecodedSecrets(input)).toEqual({ ...input, variables: { token: '***', region: 'eu' }, note: 'said *** twice: ***' });
  });

  it('finds secrets in nested inputs (a step input inside an activity payload) and arrays', () => {
    const value = [{ step: { name: 's' }, variables: { pw: 'p@ss' }, secretNames: ['pw'] }, 'p@ss'];
    expect(maskDecodedSecrets(value)).toEqual([{ step: { name: 's' }, variables: { pw: '***' }, secretNames: ['pw'] }, '***']);
  });

  it('returns values without secrets as they are', () => {
    const value = { variables: { a: '1' }, secretNames: [] };
    expect(maskDecodedSecrets(value)).toBe(value);
    expect(maskDecodedSecrets('text')).toBe('text');
    expect(maskDecodedSecrets(null)).toBe(null);
  });
});
