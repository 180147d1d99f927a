// `npm run test:chaos`: every reliability and security scenario of test/chaos, the slow *.chaos.test.ts ones included.
// One file at a time: they stop, freeze and kill parts of a stack and measure how fast it recovers, so two of them
// sharing the machine's two cores would measure each other.
const base = require('./jest.config');

/** @type {import('jest').Config} */
module.exports = {
  ...base,
  roots: ['<rootDir>/test/chaos'],
  testPathIgnorePatterns: ['/node_modules/'],
  maxWorkers: 1,
  testTimeout: 600_000,
};
