import { hostname, userInfo } from 'node:os';
import { localRequester } from '../../workers/config';

describe('localRequester', () => {
  it('names the account from the system where USER is not set (cron, containers), not "unknown"', () => {
    const saved = process.env.USER;
    delete process.env.USER;
    try {
      expect(localRequester()).toBe(`${userInfo().username}@${hostname()}`);
    } finally {
      if (saved !== undefined) process.env.USER = saved;
    }
  });
});
