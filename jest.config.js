/** Unit tests are fast and use no servers; integration tests start real ones (test/harness). */
module.exports = {
  testEnvironment: 'node',
  transform: { '^.+\\.ts$': '@swc/jest' },
  testMatch: ['<rootDir>/test/**/*.test.ts'],
  testTimeout: 180_000,
  maxWorkers: 1,
};
